"""Running one sync operation: phases and waves in order, waiting between them.

The engine plans (what, in which order) and applies one group at a time; this
module adds what needs time: after a wave, wait until its resources are healthy
before the next; wait for hook Jobs and Pods to finish; delete hooks per their
hook-delete-policy; on failure run SyncFail hooks. It reports every result as it
lands, so the Watch stream shows progress, and stops between steps when told to.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gitopsd.engine import deletion
from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.health import HealthStatus, LuaHealthChecks, assess_health
from gitopsd.engine.sync import HOOK, PRUNE, ResourceResult, SyncOptions, SyncPlan, SyncTask, execute
from gitopsd.kube.errors import KubeError, NotFound

SUCCEEDED = "Succeeded"
FAILED = "Failed"
# The action of a hook's final result (its first one says "created").
HOOK_COMPLETED = "completed"

_WAITED_ACTIONS = {"created", "configured", "recreated", "replaced"}
_HOOK_KINDS_TO_WAIT = {"Job", "Pod"}


@dataclass
class Outcome:
    phase: str
    message: str
    results: list[ResourceResult] = field(default_factory=list)


class Terminated(Exception):
    pass


@dataclass
class SyncRun:
    client: ClusterClient
    options: SyncOptions
    report: Callable[[ResourceResult], None]
    stopped: Callable[[], bool]
    wave_timeout: float = 300.0
    health_checks: LuaHealthChecks | None = None
    poll_interval: float = 0.25
    results: list[ResourceResult] = field(default_factory=list)
    _report_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run(self, plan: SyncPlan) -> Outcome:
        groups = [(k, tasks) for k, tasks in plan.groups() if k[0] != "SyncFail"]
        sync_fail = [t for t in plan.tasks if t.phase == "SyncFail"]
        failure = ""
        try:
            for index, ((phase, wave), tasks) in enumerate(groups):
                self._check_stop()
                landed = self._execute(tasks)
                failed = [r for r in landed if r.failed]
                if failed:
                    failure = _failure_message(failed)
                    break
                if self.options.dry_run:
                    continue
                more_to_come = index + 1 < len(groups)
                failure = self._wait_group(phase, wave, tasks, landed, wait_health=more_to_come)
                if failure:
                    break
        except Terminated:
            return Outcome(FAILED, "operation terminated by the user", self.results)
        if failure and sync_fail and not self.options.dry_run:
            try:
                landed = self._execute(sync_fail)
                self._wait_group("SyncFail", 0, sync_fail, landed, wait_health=False)
            except Terminated:
                pass
        if failure:
            return Outcome(FAILED, failure, self.results)
        message = (
            "dry run succeeded (nothing was changed)"
            if self.options.dry_run
            else "successfully synced (all tasks run)"
        )
        return Outcome(SUCCEEDED, message, self.results)

    # -- steps -----------------------------------------------------------------

    def _check_stop(self) -> None:
        if self.stopped():
            raise Terminated()

    def _execute(self, tasks: Sequence[SyncTask]) -> list[ResourceResult]:
        landed = execute(tasks, self.client, self.options, progress=self._progress)
        for r in landed:
            self.results.append(r)
            self.report(r)
        return landed

    def _progress(self, interim: ResourceResult) -> None:
        # Interim results come from the executor's worker threads; each is replaced by a later one.
        with self._report_lock:
            self.report(interim)

    def _wait_group(
        self,
        phase: str,
        wave: int,
        tasks: Sequence[SyncTask],
        landed: Sequence[ResourceResult],
        wait_health: bool,
    ) -> str:
        """Waits for hooks to finish (always) and resources to be healthy (when later waves follow).
        Returns a failure message, or "" when the group may be left behind."""
        deadline = time.monotonic() + self.wave_timeout
        pending: list[tuple[SyncTask, ResourceResult]] = []
        for task, result in zip(tasks, landed, strict=False):
            if task.action == HOOK:
                if result.failed:
                    continue
                if task.key.kind in _HOOK_KINDS_TO_WAIT:
                    pending.append((task, result))
                else:  # nothing to wait for: done once created
                    self._hook_done(task, True, "created")
            elif task.action == PRUNE and result.action == deletion.DELETING:
                pending.append((task, result))  # pruned objects must be gone before the next wave
            elif wait_health and task.action != PRUNE and result.action in _WAITED_ACTIONS:
                pending.append((task, result))
        delay = self.poll_interval
        while pending:
            self._check_stop()
            still: list[tuple[SyncTask, ResourceResult]] = []
            for task, result in pending:
                verdict = self._verdict(task)
                if verdict is None:
                    still.append((task, result))
                    continue
                ok, message = verdict
                if task.action == HOOK:
                    self._hook_done(task, ok, message)
                elif task.action == PRUNE:
                    self._pruned(task)
                if not ok:
                    what = (
                        f"{task.phase} hook {task.key.display()}"
                        if task.action == HOOK
                        else task.key.display()
                    )
                    return f"{what} failed: {message}"
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    names = ", ".join(self._waiting_for(t) for t, _ in pending[:5])
                    return (
                        f"timed out after {self.wave_timeout:.0f}s waiting for {phase} wave {wave}: {names}"
                    )
                time.sleep(delay)
                delay = min(delay * 1.5, 2.0)
        return ""

    def _waiting_for(self, task: SyncTask) -> str:
        if task.action != PRUNE:
            return task.key.display()
        live = deletion.still_there(self.client, task.key, _uid(task.live))
        reason = deletion.pending_reason(live)
        if live is not None:
            failed = ResourceResult(
                key=task.key, status="SyncFailed", action="failed", message=reason, phase=task.phase, wave=task.wave
            )
            self.results.append(failed)
            self.report(failed)
        return f"{task.key.display()} ({reason})"

    def _pruned(self, task: SyncTask) -> None:
        done = ResourceResult(
            key=task.key, status="Pruned", action="pruned", message="pruned", phase=task.phase, wave=task.wave
        )
        self.results.append(done)
        self.report(done)

    def _verdict(self, task: SyncTask) -> tuple[bool, str] | None:
        """(ok, message) once the object is done, None while it is still progressing."""
        key = task.key
        if task.action == PRUNE:
            try:
                gone = deletion.still_there(self.client, key, _uid(task.live)) is None
            except KubeError as exc:
                return False, str(exc)
            return (True, "pruned") if gone else None
        try:
            live = self.client.get(key.api_version, key.kind, key.name, key.namespace or None)
        except NotFound:
            return (False, "deleted before it finished") if task.action == HOOK else None
        except KubeError as exc:
            return False, str(exc)
        health = assess_health(live, self.health_checks)
        if health is None:
            return True, "created"
        if health.status in (HealthStatus.PROGRESSING, HealthStatus.MISSING):
            return None
        if health.status == HealthStatus.DEGRADED:
            return False, health.message or "Degraded"
        if task.action == HOOK:
            return True, health.message or "completed"
        return True, health.message or health.status.value

    def _hook_done(self, task: SyncTask, ok: bool, message: str) -> None:
        """Reports a finished hook (action `completed` or `failed`) and applies its delete policy."""
        done = ResourceResult(
            key=task.key,
            status="Synced" if ok else "SyncFailed",
            action=HOOK_COMPLETED if ok else "failed",
            message=message,
            phase=task.phase,
            wave=task.wave,
            hook_type=task.phase,
        )
        self.results.append(done)
        self.report(done)
        self._delete_hook(task, succeeded=ok)

    def _delete_hook(self, task: SyncTask, succeeded: bool) -> None:
        policy = "HookSucceeded" if succeeded else "HookFailed"
        if policy not in task.delete_policies:
            return
        key = task.key
        try:
            # Foreground: a Job's pods go with it.
            self.client.delete(
                key.api_version, key.kind, key.name, key.namespace or None, propagation="Foreground"
            )
        except NotFound:
            pass
        except KubeError as exc:
            failed = ResourceResult(
                key=key,
                status="Synced",
                action="unchanged",
                message=f"could not delete hook ({policy}): {exc}",
                phase=task.phase,
                wave=task.wave,
                hook_type=task.phase,
            )
            self.results.append(failed)
            self.report(failed)


def _uid(live: dict[str, object] | None) -> str | None:
    meta = live.get("metadata") if live else None
    uid = meta.get("uid") if isinstance(meta, dict) else None
    return uid if isinstance(uid, str) else None


def _failure_message(failed: Sequence[ResourceResult]) -> str:
    first = failed[0]
    more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return f"one or more objects failed to apply: {first.key.display()}: {first.message}{more}"
