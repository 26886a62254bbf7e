"""The application controller: refresh (render + compare + status), sync operations,
automated sync with self-heal, history and rollback.

It glues the pieces together and owns their concurrency: one comparison or sync
at a time per application (a lock each), one operation per application (a second
sync request is refused, naming the running one), operations persisted as they
advance. Errors of one application become its conditions; they never stop others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.app import eventlog
from gitopsd.app import operations as ops
from gitopsd.app.applications import Applications
from gitopsd.app.connections import Connections
from gitopsd.app.errors import AppError, FailedPrecondition, InvalidArgument, NotFound
from gitopsd.app.events import EventBus
from gitopsd.app.operations import HistoryStore, OperationStore
from gitopsd.app.project_rules import application_denial, resource_denial
from gitopsd.app.projects import Projects
from gitopsd.app.status import (
    COMPARISON_ERROR,
    INVALID_SPEC,
    SYNC_ERROR,
    comparison_conditions,
    conditions,
    images_of,
    live_kinds,
    resource_status,
    strip_reason,
    tracked_keys,
)
from gitopsd.app.syncop import HOOK_COMPLETED, SUCCEEDED, SyncRun
from gitopsd.engine.annotations import compare_options, option_true
from gitopsd.engine.compare import CompareOptions, ComparisonResult
from gitopsd.engine.deletion import DELETING, pending_reason, wait_all_gone
from gitopsd.engine.health import LuaHealthChecks
from gitopsd.engine.normalize import IgnoreSet
from gitopsd.engine.reconcile import Comparison, compare_app
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.schema import NO_KNOWN_TYPES, KnownTypeFields
from gitopsd.engine.sync import APPLY, HOOK, ResourceResult, SyncOptions, SyncTask, execute, plan_sync
from gitopsd.kube.client import KubeClient
from gitopsd.kube.errors import KubeError
from gitopsd.logs import fields
from gitopsd.protojson import to_document
from gitopsd.sources.errors import SourceError
from gitopsd.sources.render import RenderResult, SourceRenderer
from gitopsd.store import utcnow

log = logging.getLogger("gitopsd.controller")

DEFAULT_HISTORY_LIMIT = 10


@dataclass
class ControllerSettings:
    wave_timeout: float = 300.0
    # How long `app delete --cascade` waits for its objects to be gone (finalizers, grace periods) before
    # it answers that the application is kept until they are; below the CLI's 60 s call timeout.
    delete_timeout: float = 45.0
    # Self-heal backoff: 5 s doubling to 3 min, so a tug-of-war with another controller cannot hot-loop.
    self_heal_base: float = 5.0
    self_heal_max: float = 180.0
    health_checks: LuaHealthChecks | None = None
    known_types: KnownTypeFields = NO_KNOWN_TYPES


@dataclass
class _Running:
    name: str
    state: apppb.OperationState
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


@dataclass
class _Heal:
    attempts: int = 0
    not_before: float = 0.0


def _source_of(app: apppb.Application) -> apppb.ApplicationSource:
    if app.spec.HasField("source"):
        return app.spec.source
    if app.spec.sources:
        return app.spec.sources[0]
    raise InvalidArgument("spec.source: required")


def _started_message(op: apppb.Operation) -> str:
    who = op.initiated_by.username or "an unknown user"
    sync = op.sync
    target = sync.revision or "the target revision"
    dry = " (dry run)" if sync.dry_run else ""
    if op.initiated_by.automated:
        return f"automated sync to {target} initiated{dry}"
    if sync.rollback_id:
        return f"{who} initiated a rollback to history {sync.rollback_id} ({target[:12]}){dry}"
    return f"{who} initiated a sync to {target}{dry}"


def _automated(app: apppb.Application) -> bool:
    policy = app.spec.sync_policy
    if not policy.HasField("automated"):
        return False
    auto = policy.automated
    return not (auto.HasField("enabled") and not auto.enabled)


def _commit_pb(render: RenderResult) -> common_pb2.CommitInfo:
    c = render.commit
    if c is None:
        return common_pb2.CommitInfo(sha=render.revision)
    return common_pb2.CommitInfo(
        sha=c.sha, author=c.author, date=c.date, message=c.message, target_revision=c.target_revision
    )


class AppController:
    def __init__(
        self,
        apps: Applications,
        renderer: SourceRenderer,
        connections: Connections,
        operations: OperationStore,
        history: HistoryStore,
        events: EventBus,
        projects: Projects,
        settings: ControllerSettings | None = None,
    ) -> None:
        self.apps = apps
        self.projects = projects
        self.renderer = renderer
        self.connections = connections
        self.operations = operations
        self.history = history
        self.events = events
        self.settings = settings or ControllerSettings()
        self._locks: dict[str, threading.Lock] = {}
        self._status_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._running: dict[str, _Running] = {}
        self._heal: dict[str, _Heal] = {}
        self._closed = threading.Event()
        # Observers for /metrics: (app name, seconds) after each comparison, and
        # (app name, phase, seconds) when a sync operation ends. Must not raise.
        self.on_reconciled: list[Callable[[str, float], None]] = []
        self.on_operation_finished: list[Callable[[str, str, float], None]] = []

    # -- locks ---------------------------------------------------------------------

    def _lock(self, name: str, table: dict[str, threading.Lock]) -> threading.Lock:
        with self._locks_guard:
            return table.setdefault(name, threading.Lock())

    def _update_status(
        self, name: str, change: Callable[[apppb.ApplicationStatus], None]
    ) -> apppb.Application:
        """Read-modify-write of one application's status (comparisons and operations both write it)."""
        with self._lock(name, self._status_locks):
            app = self.apps.get(name)
            status = apppb.ApplicationStatus()
            status.CopyFrom(app.status)
            change(status)
            return self.apps.set_status(name, status, read=app)

    # -- rendering and comparing -----------------------------------------------------

    def render(
        self,
        app: apppb.Application,
        revision: str | None = None,
        hard: bool = False,
        source: apppb.ApplicationSource | None = None,
        local_files: Mapping[str, bytes] | None = None,
        local_path: str = ".",
    ) -> RenderResult:
        src = source if source is not None else _source_of(app)
        return self.renderer.render(
            app.metadata.name,
            src,
            app.spec.destination.namespace,
            revision_override=revision or None,
            hard=hard,
            local_files=local_files,
            local_path=local_path,
            annotations=dict(app.metadata.annotations),
            project=app.spec.project or "default",
        )

    def _compare_options(self, app: apppb.Application) -> CompareOptions:
        ignore = IgnoreSet.build(to_document(i) for i in app.spec.ignore_differences)
        if ignore.errors:
            # An application stored before its expression was refused: an InvalidSpecError condition.
            raise InvalidArgument("; ".join(ignore.errors))
        app_options = compare_options({"metadata": {"annotations": dict(app.metadata.annotations)}})
        return CompareOptions(
            ignore=ignore,
            health=self.settings.health_checks,
            known_types=self.settings.known_types,
            include_mutation_webhook=option_true(app_options, "IncludeMutationWebhook"),
        )

    def compare(
        self, app: apppb.Application, render: RenderResult, hard: bool = False
    ) -> tuple[KubeClient, Comparison]:
        _, client = self.connections.for_destination(app.spec.destination)
        if hard:
            # A hard refresh trusts no cached live state: the app's kinds are listed again first.
            client.relist(live_kinds(app.status, render.manifests))
        comparison = compare_app(
            client,
            render.manifests,
            app=app.metadata.name,
            namespace=app.spec.destination.namespace,
            tracked=tracked_keys(app.status),
            options=self._compare_options(app),
        )
        return client, comparison

    def refresh(
        self, name: str, hard: bool = False, wait: float = 30.0, resolve: bool = True
    ) -> apppb.Application:
        """Compares again and stores the result; with an operation under way, waits for it up to `wait` s.

        resolve: ask the repository for its branches now (a user's refresh, a webhook); the periodic
        poll passes False and relies on the repo cache's one ls-remote per repository per interval."""
        lock = self._lock(name, self._locks)
        if not lock.acquire(timeout=wait):
            return self.apps.get(name)  # busy syncing: the operation refreshes when it ends
        try:
            app = self.apps.get(name)
            if resolve:
                self._resolve_now(app)
            result = self._refresh_locked(app, hard)
        finally:
            lock.release()
        self._after_refresh(result)
        return self.apps.get(name)

    def _resolve_now(self, app: apppb.Application, source: apppb.ApplicationSource | None = None) -> None:
        source = source if source is not None else _source_of(app)
        if source.chart or self.renderer.repo_cache is None:
            return
        try:
            self.renderer.repo_cache.ls_remote(
                source.repo_url, force=True, project=app.spec.project or "default"
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
        except SourceError as exc:
            wanted = [(COMPARISON_ERROR, f"rendering failed: {exc}")]
        except InvalidArgument as exc:
            wanted = [(INVALID_SPEC, str(exc))]
        except KubeError as exc:
            wanted = [(COMPARISON_ERROR, f"{self.connections.describe(app.spec.destination)}: {exc}")]
        except AppError as exc:
            wanted = [(COMPARISON_ERROR, str(exc))]
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
                status.sync.commit.CopyFrom(_commit_pb(render))
                del status.summary.images[:]
                status.summary.images.extend(images_of(render.manifests))
            status.sync.compared_to.source.CopyFrom(_source_of(app))
            status.sync.compared_to.destination.CopyFrom(app.spec.destination)
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

        updated = self._update_status(name, change)
        self._record_transitions(name, app.status, updated.status)
        for observe in self.on_reconciled:
            observe(name, time.monotonic() - started)
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

    # -- automation -------------------------------------------------------------------

    def _after_refresh(self, app: apppb.Application) -> None:
        name = app.metadata.name
        if not _automated(app) or self._closed.is_set():
            self._heal.pop(name, None)
            return
        status = app.status
        if status.sync.status != "OutOfSync":
            self._heal.pop(name, None)
            return
        if name in self._running:
            return
        auto = app.spec.sync_policy.automated
        differing = [
            r for r in status.resources if r.status in ("OutOfSync", "Missing", "Extraneous") and not r.hook
        ]
        if not auto.prune and differing and all(r.status == "Extraneous" for r in differing):
            return  # only pruning would help, and automated prune is off
        last = self.operations.latest(name)
        source = _source_of(app)
        same_target = (
            last is not None
            and last.sync_result.revision == status.sync.revision
            and last.operation.sync.source == source
            and not last.operation.sync.dry_run
        )
        if same_target and last is not None:
            interrupted = any(i.name == ops.INTERRUPTED_INFO for i in last.operation.info)
            if last.phase != SUCCEEDED and not interrupted:
                return  # this revision failed to sync: not retried forever (a new commit or spec change retries)
            if last.phase == SUCCEEDED and not auto.self_heal:
                return  # synced this revision before; the drift is someone else's and self-heal is off
            if last.phase == SUCCEEDED:
                heal = self._heal.setdefault(name, _Heal())
                now = time.monotonic()
                if now < heal.not_before:
                    return
                heal.attempts += 1
                heal.not_before = now + min(
                    self.settings.self_heal_base * 2 ** (heal.attempts - 1), self.settings.self_heal_max
                )
        request = apppb.SyncApplicationRequest(name=name, revision=status.sync.revision, prune=auto.prune)
        try:
            self.sync(
                request, apppb.OperationInitiator(username="automated", automated=True, kind="automated")
            )
        except AppError as exc:
            log.info("automated sync not started", extra=fields(app=name, reason=str(exc)))

    # -- operations ---------------------------------------------------------------------

    def sync(
        self,
        request: apppb.SyncApplicationRequest,
        initiator: apppb.OperationInitiator,
        source: apppb.ApplicationSource | None = None,
        rollback_id: int = 0,
    ) -> apppb.Application:
        name = request.name
        app = self.apps.get(name)
        src = source if source is not None else _source_of(app)
        state = apppb.OperationState(phase=ops.RUNNING, started_at=utcnow(), message="starting")
        op = state.operation
        op.initiated_by.CopyFrom(initiator)
        sync = op.sync
        sync.revision = request.revision
        sync.prune = request.prune
        sync.dry_run = request.dry_run
        sync.resources.extend(request.resources)
        sync.source.CopyFrom(src)
        sync.sync_options.extend(request.sync_options)
        sync.sync_strategy.type = "apply"
        sync.sync_strategy.force = request.force
        sync.rollback_id = rollback_id
        retry = request.retry if request.HasField("retry") else app.spec.sync_policy.retry
        if retry.limit:
            op.retry.CopyFrom(retry)
        op.info.extend(request.infos)
        with self._locks_guard:
            running = self._running.get(name)
            if running is not None:
                r = running.state
                who = r.operation.initiated_by.username or "unknown"
                raise FailedPrecondition(
                    f"another operation is already in progress on {name!r}: sync to "
                    f"{r.operation.sync.revision or 'the target revision'} started at {r.started_at} by {who} "
                    f"(gitopsd app terminate-op {name} stops it)"
                )
            self.operations.start(name, state)
            handle = _Running(name, state)
            self._running[name] = handle
        self._publish_operation(name, state)
        self.apps.event_log.record(name, eventlog.OPERATION_STARTED, _started_message(op))
        thread = threading.Thread(
            target=self._run_operation, args=(handle,), name=f"sync-{name}", daemon=True
        )
        handle.thread = thread
        thread.start()
        return self.apps.get(name)

    def _publish_operation(self, name: str, state: apppb.OperationState) -> None:
        def change(status: apppb.ApplicationStatus) -> None:
            status.operation_state.CopyFrom(state)
            keep = [(c.type, c.message) for c in status.conditions if c.type != SYNC_ERROR]
            if state.phase in (ops.FAILED, ops.ERROR):
                keep.append((SYNC_ERROR, state.message))
            new = conditions(status.conditions, keep)
            del status.conditions[:]
            status.conditions.extend(new)

        try:
            self._update_status(name, change)
        except NotFound:
            pass  # deleted while syncing

    def _report(self, handle: _Running, result: ResourceResult) -> None:
        state = handle.state
        rr = apppb.ResourceResult(
            group=result.key.group,
            version=result.key.version,
            kind=result.key.kind,
            namespace=result.key.namespace,
            name=result.key.name,
            status=result.status,
            message=result.message,
            hook_type=result.hook_type,
            sync_phase=result.phase,
            sync_wave=result.wave,
            action=result.action,
        )
        if result.hook_type:
            rr.hook_phase = (
                "Failed" if result.failed else ("Succeeded" if result.action == HOOK_COMPLETED else "Running")
            )
        # A later result for the same hook replaces the earlier "created" one, and any result replaces
        # an interim "deleting" one (an object the cluster had not removed yet).
        for i, existing in enumerate(state.sync_result.resources):
            same = (existing.kind, existing.namespace, existing.name, existing.hook_type) == (
                rr.kind,
                rr.namespace,
                rr.name,
                rr.hook_type,
            )
            if same and (rr.hook_type or existing.action == DELETING):
                state.sync_result.resources[i].CopyFrom(rr)
                break
        else:
            state.sync_result.resources.append(rr)
        state.message = f"{result.key.display()}: {result.message}"
        self.operations.save(state)
        if result.action == DELETING:
            # The operation may wait long here (finalizers): `app get` shows what it waits for.
            self._publish_operation(handle.name, state)
        self.events.publish(
            apppb.ApplicationEvent(
                type="RESOURCE",
                resource=rr,
                message=state.message,
                timestamp=utcnow(),
                application=self._app_for_event(handle.name),
            )
        )

    def _app_for_event(self, name: str) -> apppb.Application:
        try:
            return self.apps.get(name)
        except NotFound:
            return apppb.Application()

    def _run_operation(self, handle: _Running) -> None:
        name, state = handle.name, handle.state
        op_started = time.monotonic()
        try:
            retry = state.operation.retry
            attempt = 0
            while True:
                phase, message = self._sync_once(handle)
                if phase == SUCCEEDED or handle.stop.is_set() or attempt >= retry.limit:
                    break
                attempt += 1
                delay = _backoff(retry.backoff, attempt)
                state.retry_count = attempt
                state.message = f"retrying in {delay:.0f}s (attempt {attempt} of {retry.limit}): {message}"
                self.operations.save(state)
                self._publish_operation(name, state)
                if handle.stop.wait(delay):
                    phase, message = ops.FAILED, "operation terminated by the user"
                    break
            state.phase, state.message, state.finished_at = phase, message, utcnow()
        except Exception as exc:  # a bug must not leave the operation Running forever
            log.exception("sync operation crashed", extra=fields(app=name))
            state.phase, state.message, state.finished_at = ops.ERROR, f"internal error: {exc}", utcnow()
        self.operations.save(state)
        self._record_history(name, state)
        self._record_completed(name, state)
        with self._locks_guard:
            self._running.pop(name, None)
        self._publish_operation(name, state)
        for observe_op in self.on_operation_finished:
            observe_op(name, state.phase, time.monotonic() - op_started)
        if state.phase == SUCCEEDED:
            log.info(
                "sync finished",
                extra=fields(
                    app=name,
                    phase=state.phase,
                    revision=state.sync_result.revision[:12],
                    message=state.message,
                ),
            )
        else:
            # What an operator greps for: a failed sync is a warning, an internal error an error.
            log.log(
                logging.ERROR if state.phase == ops.ERROR else logging.WARNING,
                "sync failed",
                extra=fields(
                    app=name,
                    phase=state.phase,
                    revision=state.sync_result.revision[:12] or state.operation.sync.revision,
                    reason=state.message,
                ),
            )
        if not self._closed.is_set():
            try:
                # The operation has just resolved the revision: no need to ask the repository again
                # (after a burst of automated syncs that would be one ls-remote per application).
                self.refresh(name, resolve=False)
            except AppError:
                pass

    def _sync_once(self, handle: _Running) -> tuple[str, str]:
        name, state = handle.name, handle.state
        sync = state.operation.sync
        with self._lock(name, self._locks):
            try:
                app = self.apps.get(name)
            except NotFound:
                return ops.FAILED, "the application was deleted"
            if not state.operation.initiated_by.automated:
                # A user's sync deploys what the branch points to now, as a user's refresh does: a push a
                # second ago must not wait out the ls-remote cache's interval. Automated syncs follow a
                # refresh that has just resolved it.
                self._resolve_now(app, sync.source)
            try:
                render = self.render(app, revision=sync.revision or None, source=sync.source)
                state.sync_result.revision = render.revision
                state.sync_result.source.CopyFrom(sync.source)
                state.sync_result.commit.CopyFrom(_commit_pb(render))
                client, comparison = self.compare(app, render)
            except SourceError as exc:
                return ops.FAILED, f"rendering failed: {exc}"
            except KubeError as exc:  # the cluster could not be read: fail now, naming it
                return ops.FAILED, f"{self.connections.describe(app.spec.destination)}: {exc}"
            except InvalidArgument as exc:
                return ops.FAILED, str(exc)
            if comparison.result.errors and not comparison.prepared.objects:
                return ops.FAILED, "; ".join(comparison.result.errors)
            option_list = [*app.spec.sync_policy.sync_options, *sync.sync_options]
            options = SyncOptions.from_list(
                option_list,
                prune=sync.prune,
                dry_run=sync.dry_run,
                force=sync.sync_strategy.force,
                namespace=app.spec.destination.namespace,
                deletion_timeout=self.settings.wave_timeout,
            )
            if any(o.startswith("Prune=false") for o in option_list):
                options = SyncOptions(**{**options.__dict__, "prune": False})
            selected = {
                ResourceKey(r.group, r.kind, r.namespace or "", r.name) for r in sync.resources
            } or None
            if selected is not None:
                # --resource NAMESPACE may be omitted for the destination namespace.
                ns = app.spec.destination.namespace
                selected |= {ResourceKey(k.group, k.kind, ns, k.name) for k in selected if not k.namespace}
            plan = plan_sync(comparison.result, options, resources=selected)
            denied = self._project_denials(app, sync.source, plan.tasks)
            if denied:
                for key, message in denied:
                    self._report(handle, ResourceResult(key=key, status="SyncFailed", action="failed", message=message))
                first = denied[0][1]
                more = f" (and {len(denied) - 1} more)" if len(denied) > 1 else ""
                return ops.FAILED, f"not permitted by the project, nothing was applied: {first}{more}"
            state.message = f"syncing {len(plan.tasks)} tasks to {render.revision[:12]}"
            self.operations.save(state)
            self._publish_operation(name, state)
            run = SyncRun(
                client,
                options,
                report=lambda r: self._report(handle, r),
                stopped=handle.stop.is_set,
                wave_timeout=self.settings.wave_timeout,
                health_checks=self.settings.health_checks,
            )
            outcome = run.run(plan)
            return outcome.phase, outcome.message

    def _project_denials(
        self, app: apppb.Application, source: apppb.ApplicationSource, tasks: Sequence[SyncTask]
    ) -> list[tuple[ResourceKey, str]]:
        """Checks the project as it is now (it may have changed since the app was created)."""
        key_app = ResourceKey("argoproj.io", "Application", "", app.metadata.name)
        try:
            project = self.projects.get(app.spec.project)
        except NotFound:
            return [(key_app, f"project {app.spec.project!r} does not exist")]
        checked = apppb.Application()
        checked.CopyFrom(app)
        checked.spec.source.CopyFrom(source)
        denial = application_denial(project, checked)
        if denial:
            return [(key_app, denial)]
        out = []
        for task in tasks:
            if task.action not in (APPLY, HOOK):
                continue  # prunes, skips and the CreateNamespace of a permitted destination
            denial = resource_denial(project, task.key.group, task.key.kind, bool(task.key.namespace))
            if denial:
                out.append((task.key, denial))
        return out

    def _record_history(self, name: str, state: apppb.OperationState) -> None:
        if state.operation.sync.dry_run or not state.sync_result.revision:
            return
        try:
            app = self.apps.get(name)
        except NotFound:
            return
        entry = apppb.RevisionHistory(
            revision=state.sync_result.revision,
            deployed_at=state.finished_at,
            deploy_started_at=state.started_at,
            phase=state.phase,
            message=state.message,
        )
        entry.source.CopyFrom(state.sync_result.source)
        entry.initiated_by.CopyFrom(state.operation.initiated_by)
        entry.commit.CopyFrom(state.sync_result.commit)
        limit = (
            app.spec.revision_history_limit
            if app.spec.HasField("revision_history_limit")
            else DEFAULT_HISTORY_LIMIT
        )
        self.history.append(name, entry, limit)

    def _record_completed(self, name: str, state: apppb.OperationState) -> None:
        sync = state.operation.sync
        what = "dry run of sync" if sync.dry_run else "sync"
        revision = state.sync_result.revision[:12] or sync.revision or "the target revision"
        self.apps.event_log.record(
            name,
            eventlog.OPERATION_COMPLETED,
            f"{what} to {revision} {state.phase.lower()}: {state.message}",
            eventlog.NORMAL if state.phase == SUCCEEDED else eventlog.WARNING,
        )

    def terminate(self, name: str) -> None:
        self.apps.get(name)
        with self._locks_guard:
            running = self._running.get(name)
        if running is None:
            raise FailedPrecondition(f"no operation is in progress on {name!r}")
        running.state.phase = ops.TERMINATING
        running.state.message = "terminating"
        self.operations.save(running.state)
        running.stop.set()

    def rollback(
        self, name: str, history_id: int, dry_run: bool, prune: bool, initiator: apppb.OperationInitiator
    ) -> apppb.Application:
        app = self.apps.get(name)
        if _automated(app):
            raise FailedPrecondition(
                f"rollback of {name!r} is not allowed while automated sync is on: it would be undone at once "
                f"(turn it off with: gitopsd app set {name} --sync-policy none)"
            )
        entries = self.history.list(name)
        if not entries:
            raise FailedPrecondition(f"application {name!r} has no history to roll back to")
        if history_id == 0:
            if len(entries) < 2:
                raise FailedPrecondition(f"application {name!r} has only one history entry; give an ID")
            entry = entries[-2]
        else:
            found = [e for e in entries if e.id == history_id]
            if not found:
                raise NotFound(
                    f"application {name!r} has no history entry {history_id} (see gitopsd app history {name})"
                )
            entry = found[0]
        request = apppb.SyncApplicationRequest(
            name=name, revision=entry.revision, dry_run=dry_run, prune=prune
        )
        return self.sync(request, initiator, source=entry.source, rollback_id=entry.id)

    def delete_resources(self, app: apppb.Application, propagation: str = "Foreground") -> None:
        """Deletes every live object the application tracks (app delete --cascade)."""
        name = app.metadata.name
        if not tracked_keys(app.status):
            return  # nothing was ever compared or deployed
        with self._lock(name, self._locks):
            try:
                _, client = self.connections.for_destination(app.spec.destination)
                comparison = compare_app(
                    client,
                    [],
                    app=name,
                    namespace=app.spec.destination.namespace,
                    tracked=tracked_keys(app.status),
                    options=self._compare_options(app),
                )
            except (KubeError, InvalidArgument) as exc:
                raise FailedPrecondition(
                    f"cannot delete the resources of {name!r}: {exc} (delete with --cascade=false to keep them)"
                ) from None
            options = SyncOptions(prune=True, prune_propagation=propagation)
            plan = plan_sync(comparison.result, options)
            results = execute(plan.tasks, client, options)
            failed = [r for r in results if r.failed]
            if failed:
                raise FailedPrecondition(
                    f"could not delete every resource of {name!r}: {failed[0].key.display()}: {failed[0].message}"
                    + (f" (and {len(failed) - 1} more)" if len(failed) > 1 else "")
                )
            # A delete is only a request: the application goes once the cluster has removed its objects.
            held = [(r.key, r.live) for r in results if r.action == DELETING and r.live is not None]
            remaining = wait_all_gone(client, held, timeout=self.settings.delete_timeout)
            if remaining:
                listed = ", ".join(f"{key.display()} ({pending_reason(live)})" for key, live in remaining[:5])
                more = f" and {len(remaining) - 5} more" if len(remaining) > 5 else ""
                raise FailedPrecondition(
                    f"the resources of {name!r} are being deleted but {len(remaining)} remain after "
                    f"{self.settings.delete_timeout:.0f}s: {listed}{more}; the application is kept until they "
                    "are gone (delete it again to check)"
                )

    def is_running(self, name: str) -> bool:
        return name in self._running

    # -- lifecycle ---------------------------------------------------------------------

    def recover(self) -> None:
        """Operations left Running by a stopped daemon are marked failed, saying why."""
        for name, state in self.operations.running():
            state.phase = ops.FAILED
            state.finished_at = utcnow()
            state.message = (
                "interrupted: the daemon stopped while this operation was running; sync again to finish it"
            )
            state.operation.info.add(name=ops.INTERRUPTED_INFO, value="true")
            self.operations.save(state)
            self._record_history(name, state)
            self._record_completed(name, state)
            self._publish_operation(name, state)
            log.warning("operation interrupted by a restart", extra=fields(app=name, operation=state.id))

    def on_deleted(self, name: str) -> None:
        with self._locks_guard:
            running = self._running.get(name)
        if running is not None:
            running.stop.set()
        self.operations.delete_app(name)
        self.history.delete_app(name)
        self._heal.pop(name, None)

    def close(self, timeout: float = 10.0) -> None:
        self._closed.set()
        with self._locks_guard:
            running = list(self._running.values())
        for r in running:
            r.stop.set()
        for r in running:
            if r.thread is not None:
                r.thread.join(timeout)


def _duration(text: str, default: float) -> float:
    if not text:
        return default
    total, number = 0.0, ""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        total += float(number or 0) * units.get(unit, 1)
        number = ""
        i += len(unit)
    return total + (float(number) if number else 0.0)


def _backoff(backoff: apppb.Backoff, attempt: int) -> float:
    base = _duration(backoff.duration, 5.0)
    factor = backoff.factor or 2
    cap = _duration(backoff.max_duration, 180.0)
    return float(min(base * factor ** (attempt - 1), cap))


__all__: list[Any] = ["AppController", "ControllerSettings"]
