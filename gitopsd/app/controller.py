"""The application controller: refresh (render + compare + status), sync operations,
automated sync with self-heal, history and rollback.

It glues the pieces together and owns their concurrency: one comparison or sync
at a time per application (a lock each), one operation per application (a second
sync request is refused, naming the running one), operations persisted as they
advance. Errors of one application become its conditions; they never stop others.

The parts live beside it: gitopsd.app.controller_core (settings, locks, render and compare),
gitopsd.app.refreshing (refresh and status), gitopsd.app.sync_attempt (one attempt of a sync) and
gitopsd.app.sync_operations (starting and running operations);
this module adds automation, rollback, termination, cascading delete and the lifecycle.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app import operations as ops
from gitopsd.app.controller_core import ControllerSettings, Heal, is_automated, multi_sources, source_of
from gitopsd.app.errors import AppError, FailedPrecondition, InvalidArgument, NotFound
from gitopsd.app.status import tracked_keys
from gitopsd.app.sync_operations import SyncOperations
from gitopsd.app.syncop import SUCCEEDED
from gitopsd.engine.deletion import DELETING, pending_reason, wait_all_gone
from gitopsd.engine.reconcile import compare_app
from gitopsd.engine.sync import SyncOptions, execute, plan_sync
from gitopsd.kube.errors import KubeError
from gitopsd.logs import fields
from gitopsd.store import utcnow

log = logging.getLogger("gitopsd.controller")


class AppController(SyncOperations):
    # -- automation -------------------------------------------------------------------

    def _after_refresh(self, app: apppb.Application) -> bool:
        """Starts an automated sync if one is due; whether it tried (and may have written the row)."""
        name = app.metadata.name
        if not is_automated(app) or self._closed.is_set():
            self._heal.pop(name, None)
            return False
        status = app.status
        if status.sync.status != "OutOfSync":
            self._heal.pop(name, None)
            return False
        if name in self._running:
            return False
        if not self.window_decision(app, manual=False).allowed:
            return False  # waits for the project's sync windows (the refresh set a SyncWindowBlocked condition)
        auto = app.spec.sync_policy.automated
        differing = [
            r for r in status.resources if r.status in ("OutOfSync", "Missing", "Extraneous") and not r.hook
        ]
        if not auto.prune and differing and all(r.status == "Extraneous" for r in differing):
            return False  # only pruning would help, and automated prune is off
        if auto.prune and not auto.allow_empty and status.resources and all(
            r.status == "Extraneous" for r in status.resources if not r.hook
        ):
            # Argo CD's allowEmpty: an automated sync never prunes every resource unless allowed to.
            why = "it would prune every resource (syncPolicy.automated.allowEmpty is false)"
            log.info("automated sync not started", extra=fields(app=name, reason=why))
            return False
        last = self.operations.latest(name)
        source = source_of(app)
        same_target = (
            last is not None
            and last.sync_result.revision == status.sync.revision
            and list(last.sync_result.revisions) == list(status.sync.revisions)
            and (
                list(last.operation.sync.sources) == multi_sources(app)
                if app.spec.sources and not app.spec.HasField("source")
                else last.operation.sync.source == source
            )
            and not last.operation.sync.dry_run
        )
        if same_target and last is not None:
            interrupted = any(i.name == ops.INTERRUPTED_INFO for i in last.operation.info)
            if last.phase != SUCCEEDED and not interrupted:
                return False  # this revision failed to sync: not retried forever (a new commit or spec change retries)
            if last.phase == SUCCEEDED and not auto.self_heal:
                return False  # synced this revision before; the drift is someone else's and self-heal is off
            if last.phase == SUCCEEDED:
                heal = self._heal.setdefault(name, Heal())
                now = time.monotonic()
                if now < heal.not_before:
                    return False
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
        return True

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
        if is_automated(app):
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
        if entry.sources:  # a multi-source deployment: every source at its recorded revision
            return self.sync(
                request, initiator, rollback_id=entry.id, sources=entry.sources, revisions=entry.revisions
            )
        return self.sync(request, initiator, source=entry.source, rollback_id=entry.id)

    def delete_resources(self, app: apppb.Application, propagation: str = "Foreground") -> None:
        """Deletes every live object the application tracks (app delete --cascade)."""
        name = app.metadata.name
        if not tracked_keys(app.status):
            return  # nothing was ever compared or deployed
        with self._lock(name, self._locks):
            try:
                client = self.client_for(app)  # children (app of apps) are pruned with the rest
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
                    f"cannot delete the resources of {name!r}: {exc} (delete with --no-cascade, or cascade=false over the JSON API, to keep them)"
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


__all__: list[Any] = ["AppController", "ControllerSettings"]
