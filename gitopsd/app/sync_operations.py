"""Sync operations: starting one (one per application at a time), running it in its own thread with
retries, reporting each resource's result, checking the project before anything is applied, and
recording history and event log entries when it ends.

Built on gitopsd.app.refreshing (an operation refreshes the application when it ends); AppController
(gitopsd.app.controller) adds rollback, termination and automation on top.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app import eventlog
from gitopsd.app import operations as ops
from gitopsd.app.controller_core import Running, commit_info, source_of
from gitopsd.app.errors import AppError, FailedPrecondition, InvalidArgument, NotFound
from gitopsd.app.generators.appofapps import child_denial, is_child_kind, rendered_projects
from gitopsd.app.project_rules import application_denial, resource_denial
from gitopsd.app.refreshing import Refreshing
from gitopsd.app.status import SYNC_ERROR, conditions
from gitopsd.app.sync_targets import as_checked, record_targets, set_targets
from gitopsd.app.syncop import HOOK_COMPLETED, SUCCEEDED, SyncRun
from gitopsd.app.syncwindows import refuse_if_blocked
from gitopsd.engine.deletion import DELETING
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.sync import APPLY, HOOK, ResourceResult, SyncOptions, SyncTask, plan_sync
from gitopsd.kube.errors import KubeError
from gitopsd.logs import fields
from gitopsd.sources.errors import SourceError
from gitopsd.store import utcnow

DEFAULT_HISTORY_LIMIT = 10

log = logging.getLogger("gitopsd.controller")


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


# Seconds a refresh waits to hand its automated sync to an operation worker (see sync()).
AUTOMATED_SLOT_WAIT = 5.0

class SyncOperations(Refreshing):
    """The sync-operation half of AppController."""

    # -- operations ---------------------------------------------------------------------

    def sync(
        self,
        request: apppb.SyncApplicationRequest,
        initiator: apppb.OperationInitiator,
        source: apppb.ApplicationSource | None = None,
        rollback_id: int = 0,
        sources: Sequence[apppb.ApplicationSource] = (),
        revisions: Sequence[str] = (),
    ) -> apppb.Application:
        """Starts a sync. sources/revisions: a multi-source rollback's (default: spec.sources, each at
        its targetRevision; an automated sync pins the revisions its refresh compared with)."""
        if not initiator.automated:
            return self._start(request, initiator, source, rollback_id, sources, revisions, slot=False)
        # Operations run operation_workers at a time: 10,000 applications out of sync at once are not
        # 10,000 threads sharing the interpreter. An automated sync waits for its turn here, on the
        # refresh that wants it, so refreshes do not race ahead of the operations they start; a few
        # seconds at most, so operations that wait long (hooks, health) slow refreshes down without
        # stopping them: past that its thread waits instead. A user's sync never waits to be accepted.
        slot = self._op_slots.acquire(timeout=AUTOMATED_SLOT_WAIT)
        try:
            return self._start(request, initiator, source, rollback_id, sources, revisions, slot=slot)
        except BaseException:
            if slot:
                self._op_slots.release()
            raise

    def _start(
        self,
        request: apppb.SyncApplicationRequest,
        initiator: apppb.OperationInitiator,
        source: apppb.ApplicationSource | None,
        rollback_id: int,
        sources: Sequence[apppb.ApplicationSource],
        revisions: Sequence[str],
        slot: bool,
    ) -> apppb.Application:
        name = request.name
        app = self.apps.get(name)
        if not request.dry_run:  # the project's sync windows (a dry run applies nothing: always allowed)
            refuse_if_blocked(app, self.window_decision(app, manual=not initiator.automated))
        src = source if source is not None else source_of(app)
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
        set_targets(sync, app, request, initiator, single=source, sources=sources, revisions=revisions)
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
            handle = Running(name, state, slot=slot)
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

    def _report(self, handle: Running, result: ResourceResult) -> None:
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

    def _run_operation(self, handle: Running) -> None:
        try:
            self._operate(handle)
        finally:
            # Whatever happened, before the refresh below: it may start the next automated sync,
            # which waits for a slot.
            self._give_slot(handle)
        if not self._closed.is_set():
            try:
                # The operation has just resolved the revision: no need to ask the repository again
                # (after a burst of automated syncs that would be one ls-remote per application).
                self.refresh(handle.name, resolve=False)
            except AppError:
                pass

    def _operate(self, handle: Running) -> None:
        name, state = handle.name, handle.state
        op_started = time.monotonic()
        try:
            retry = state.operation.retry
            attempt = 0
            while True:
                self._take_slot(handle)
                self.settings.foreground.wait_quiet()  # API calls first (gitopsd.app.foreground)
                phase, message = self._sync_once(handle)
                if phase == SUCCEEDED or handle.stop.is_set() or attempt >= retry.limit:
                    break
                attempt += 1
                delay = _backoff(retry.backoff, attempt)
                state.retry_count = attempt
                state.message = f"retrying in {delay:.0f}s (attempt {attempt} of {retry.limit}): {message}"
                self.operations.save(state)
                self._publish_operation(name, state)
                self._give_slot(handle)  # nobody's turn is spent waiting out a backoff
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

    def _take_slot(self, handle: Running) -> None:
        """Waits for one of the operation workers' slots (a user's sync, or after a backoff); a
        terminate while waiting goes on without one, to end the operation at once."""
        while not handle.slot:
            if self._op_slots.acquire(timeout=0.5):
                handle.slot = True
            elif handle.stop.is_set() or self._closed.is_set():
                return

    def _give_slot(self, handle: Running) -> None:
        if handle.slot:
            handle.slot = False
            self._op_slots.release()

    def _sync_once(self, handle: Running) -> tuple[str, str]:
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
                self._resolve_now(app, None if sync.sources else sync.source)
            try:
                render = self.render(
                    app,
                    revision=sync.revision or None,
                    source=None if sync.sources else sync.source,
                    sources=sync.sources,
                    revisions=sync.revisions,
                )
                state.sync_result.revision = render.revision
                record_targets(state.sync_result, sync, render)
                state.sync_result.commit.CopyFrom(commit_info(render))
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
                namespace_labels=tuple(sorted(app.spec.sync_policy.managed_namespace_metadata.labels.items())),
                namespace_annotations=tuple(
                    sorted(app.spec.sync_policy.managed_namespace_metadata.annotations.items())
                ),
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
            denied = self._project_denials(app, sync, plan.tasks)
            if denied:
                for key, message in denied:
                    self._report(
                        handle, ResourceResult(key=key, status="SyncFailed", action="failed", message=message)
                    )
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
        self, app: apppb.Application, sync: apppb.SyncOperation, tasks: Sequence[SyncTask]
    ) -> list[tuple[ResourceKey, str]]:
        """Checks the project as it is now (it may have changed since the app was created)."""
        key_app = ResourceKey("argoproj.io", "Application", "", app.metadata.name)
        try:
            project = self.projects.get(app.spec.project)
        except NotFound:
            return [(key_app, f"project {app.spec.project!r} does not exist")]
        denial = application_denial(project, as_checked(app, sync))
        if denial:
            return [(key_app, denial)]
        out = []
        pending = rendered_projects(t.obj for t in tasks if t.obj is not None)
        for task in tasks:
            if task.action not in (APPLY, HOOK):
                continue  # prunes, skips and the CreateNamespace of a permitted destination
            if self.children is not None and is_child_kind(task.key.api_version, task.key.kind):
                # A child application: the parent's project rules of gitopsd.app.generators.ownership.
                denial = child_denial(self.children, app, task.obj, pending)
            else:
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
        entry.sources.extend(state.sync_result.sources)
        entry.revisions.extend(state.sync_result.revisions)
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
