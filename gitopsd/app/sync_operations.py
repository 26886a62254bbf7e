"""Sync operations: starting one (one per application at a time), running it in its own thread on
one of the operation workers' slots, with retries, and recording history and event log entries when
it ends.

Built on gitopsd.app.sync_attempt (what one attempt does: render, compare, project check, apply,
per-resource results), itself on gitopsd.app.refreshing (an operation refreshes the application when
it ends); AppController (gitopsd.app.controller) adds rollback, termination and automation on top.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app import eventlog
from gitopsd.app import operations as ops
from gitopsd.app.controller_core import Running, source_of
from gitopsd.app.errors import AppError, FailedPrecondition, NotFound
from gitopsd.app.sync_attempt import SyncAttempt
from gitopsd.app.sync_targets import set_targets
from gitopsd.app.syncop import SUCCEEDED
from gitopsd.app.syncwindows import refuse_if_blocked
from gitopsd.logs import fields
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


class SyncOperations(SyncAttempt):
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
