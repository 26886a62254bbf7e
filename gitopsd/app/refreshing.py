"""Refreshing an application: render, compare with the live objects, store the result as its status
and record sync and health transitions in its event log.

Built on gitopsd.app.controller_core; gitopsd.app.sync_attempt and gitopsd.app.sync_operations build on
it, and AppController (gitopsd.app.controller) fills in what follows a refresh (automated sync).
"""

from __future__ import annotations

import logging
import time

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app import eventlog
from gitopsd.app.controller_core import ControllerCore, commit_info, is_automated, multi_sources, source_of
from gitopsd.app.errors import AppError, InvalidArgument, NotFound
from gitopsd.app.specfields import spec_conditions
from gitopsd.app.status import (
    COMPARISON_ERROR,
    INVALID_SPEC,
    SYNC_ERROR,
    SYNC_WINDOW_BLOCKED,
    comparison_conditions,
    conditions,
    images_of,
    resource_status,
    strip_reason,
)
from gitopsd.engine.compare import ComparisonResult
from gitopsd.kube.errors import KubeError
from gitopsd.logs import fields
from gitopsd.sources.errors import SourceError
from gitopsd.sources.render import RenderResult
from gitopsd.store import utcnow

log = logging.getLogger("gitopsd.controller")


class RefreshBusy(AppError):
    """The application's lock stayed held (by another refresh or an operation) for the whole wait:
    nothing was compared."""


class Refreshing(ControllerCore):
    """The refresh half of AppController."""

    def refresh(
        self,
        name: str,
        hard: bool = False,
        wait: float = 30.0,
        resolve: bool = True,
        asked_at: float | None = None,
        busy_raises: bool = False,
    ) -> apppb.Application:
        """Compares again and stores the result; with an operation under way, waits for it up to `wait` s.

        resolve: ask the repository for its branches now (a user's refresh, a webhook); the periodic
        poll passes False and relies on the repo cache's one ls-remote per repository per interval.
        asked_at: when the refresh was asked for (RepoCache.now()), if earlier than now: any answer of
        the repository given since is fresh enough (default: now).
        busy_raises: RefreshBusy when the wait ends with the lock still held, instead of the
        application as it is (the scheduler asks again: see Reconciler._run)."""
        lock = self._lock(name, self._locks)
        if not lock.acquire(timeout=wait):
            if busy_raises:
                raise RefreshBusy(f"application {name!r} is being refreshed or synced")
            return self.apps.get(name)  # busy syncing: the operation refreshes when it ends
        try:
            app = self.apps.get(name)
            if resolve:
                self._resolve_now(app, asked_at=asked_at)
            result = self._refresh_locked(app, hard)
        finally:
            lock.release()
        if self._after_refresh(result):
            return self.current(result)  # read again if a sync it started has written the row
        return result

    def _resolve_now(
        self, app: apppb.Application, source: apppb.ApplicationSource | None = None, asked_at: float | None = None
    ) -> None:
        # A multi-source application: every source's repository (a push to any one is a new target).
        wanted = [source] if source is not None else (multi_sources(app) or [source_of(app)])
        if self.renderer.repo_cache is None:
            return
        for one in wanted:
            if one.chart:
                continue
            try:
                self.renderer.repo_cache.ls_remote(
                    one.repo_url, force=True, project=app.spec.project or "default", asked_at=asked_at
                )
            except SourceError:
                pass  # the render that follows reports the same error as a condition

    def _refresh_locked(self, app: apppb.Application, hard: bool) -> apppb.Application:
        name = app.metadata.name
        wanted: list[tuple[str, str]] = []
        render: RenderResult | None = None
        result: ComparisonResult | None = None
        started = time.monotonic()
        try:
            render = self.render(app, hard=hard)
            _, comparison = self.compare(app, render, hard=hard)
            result = comparison.result
            wanted = comparison_conditions(result)
            if result.status == "OutOfSync" and is_automated(app):
                window = self.window_decision(app, manual=False)
                if not window.allowed:
                    # Automated sync waits for the window: say so, or the app looks stuck.
                    wanted.append((SYNC_WINDOW_BLOCKED, f"automated sync waits: {window.reason}"))
        except SourceError as exc:
            wanted = [(COMPARISON_ERROR, f"rendering failed: {exc}")]
        except InvalidArgument as exc:
            wanted = [(INVALID_SPEC, str(exc))]
        except KubeError as exc:
            wanted = [(COMPARISON_ERROR, f"{self.connections.describe(app.spec.destination)}: {exc}")]
        except AppError as exc:
            wanted = [(COMPARISON_ERROR, str(exc))]
        # Fields accepted and not implemented name themselves (gitopsd.app.specfields).
        wanted += [(INVALID_SPEC, m) for m in spec_conditions(app, self._project_or_none(app))]
        known = {(c.type, c.message) for c in app.status.conditions}
        for ctype, message in wanted:
            if ctype in (COMPARISON_ERROR, INVALID_SPEC) and (ctype, message) not in known:
                # Once per new error, not at every poll while it lasts (the condition shows it meanwhile).
                log.warning("comparison failed", extra=fields(app=name, condition=ctype, reason=message))

        def change(status: apppb.ApplicationStatus) -> None:
            keep = [(c.type, c.message) for c in status.conditions if c.type == SYNC_ERROR]
            new_conditions = conditions(status.conditions, [*wanted, *keep])
            del status.conditions[:]
            status.conditions.extend(new_conditions)
            status.reconciled_at = utcnow()
            if render is not None:
                status.source_type = render.source_type
                status.sync.revision = render.revision
                status.sync.commit.CopyFrom(commit_info(render))
                del status.summary.images[:]
                status.summary.images.extend(images_of(render.manifests))
            status.sync.compared_to.source.CopyFrom(source_of(app))
            status.sync.compared_to.destination.CopyFrom(app.spec.destination)
            # Multi-source applications: every source and its revision (empty lists otherwise).
            del status.sync.compared_to.sources[:]
            status.sync.compared_to.sources.extend(multi_sources(app))
            if render is not None:
                del status.sync.revisions[:]
                status.sync.revisions.extend(render.revisions)
            if result is None:
                status.sync.status = "Unknown"
                status.sync.reason = ""
                if not status.health.status:
                    status.health.status = "Unknown"
                return
            status.sync.status = result.status
            status.sync.reason = strip_reason(result.reason, result.status)
            status.health.status = result.health.status.value
            status.health.message = result.health.message
            del status.resources[:]
            status.resources.extend(resource_status(r) for r in result.resources)

        updated = self._update_status(name, change, read=app)
        self._record_transitions(name, app.status, updated.status)
        for observe in self.on_reconciled:
            observe(updated, time.monotonic() - started)
        if log.isEnabledFor(logging.DEBUG):  # its fields are built only when it is written
            log.debug(
                "refreshed",
                extra=fields(
                    app=name,
                    sync=updated.status.sync.status,
                    health=updated.status.health.status,
                    seconds=f"{time.monotonic() - started:.3f}",
                    cache_hit=bool(render and render.cache_hit),
                ),
            )
        return updated

    def _record_transitions(
        self, name: str, before: apppb.ApplicationStatus, after: apppb.ApplicationStatus
    ) -> None:
        """Sync and health status changes, in the event log (not the first comparison's)."""
        for what, old, new, detail in (
            ("sync", before.sync.status, after.sync.status, after.sync.reason),
            ("health", before.health.status, after.health.status, after.health.message),
        ):
            if not old or old == new:
                continue
            worse = what == "health" and new in ("Degraded", "Missing")
            self.apps.event_log.record(
                name,
                eventlog.RESOURCE_UPDATED,
                f"{what} status: {old} → {new}" + (f" ({detail})" if detail else ""),
                eventlog.WARNING if worse else eventlog.NORMAL,
            )

    def _project_or_none(self, app: apppb.Application) -> projpb.AppProject | None:
        try:
            return self.projects.get(app.spec.project or "default")
        except NotFound:
            return None

    def _after_refresh(self, app: apppb.Application) -> bool:
        """What follows a refresh; AppController starts automated syncs here. True when it may have
        written the application's row (refresh() then reads it again)."""
        return False
