"""Pod health (as Argo CD judges it): crash loops and pull errors degrade long-running pods only.

A running pod whose restartPolicy is OnFailure or Never is normally taken for a hook that runs to its end,
so it is Progressing while it runs; the ``argocd.argoproj.io/ignore-restart-policy`` annotation (or
``gitopsd.io/ignore-restart-policy``; any value, as gitops-engine only checks that it is present) says it
is a long-running pod after all (one an operator manages), and then its readiness decides, as for
restartPolicy Always.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitopsd.engine.annotations import annotation
from gitopsd.engine.health._util import dig, num, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def _statuses(obj: Any, field: str) -> list[Mapping[str, Any]]:
    value = dig(obj, "status", field)
    return [s for s in value if isinstance(s, Mapping)] if isinstance(value, list) else []


def _fail_message(ctr: Mapping[str, Any]) -> str:
    terminated = dig(ctr, "state", "terminated")
    if not isinstance(terminated, Mapping):
        return ""
    if text(terminated.get("message")):
        return text(terminated.get("message"))
    if terminated.get("reason") == "OOMKilled":
        return "OOMKilled"
    code = num(terminated, "exitCode")
    if code != 0:
        return f'container "{text(ctr.get("name"))}" failed with exit code {code}'
    return ""


def _ready(obj: Any) -> bool:
    conds = dig(obj, "status", "conditions")
    if not isinstance(conds, list):
        return False
    return any(
        isinstance(c, Mapping) and c.get("type") == "Ready" and c.get("status") == "True" for c in conds
    )


def assess(obj: dict[str, Any]) -> HealthResult:
    restart = text(dig(obj, "spec", "restartPolicy")) or "Always"
    message = text(dig(obj, "status", "message"))
    if restart == "Always":
        waiting_errors = []
        for ctr in _statuses(obj, "containerStatuses"):
            waiting = dig(ctr, "state", "waiting")
            reason = text(dig(waiting, "reason"))
            if reason and (
                reason.startswith("Err") or reason.endswith("Error") or reason.endswith("BackOff")
            ):
                waiting_errors.append(text(dig(waiting, "message")) or reason)
        if waiting_errors:
            return HealthResult(HealthStatus.DEGRADED, ", ".join(waiting_errors))
    phase = text(dig(obj, "status", "phase"))
    if phase == "Pending":
        return HealthResult(HealthStatus.PROGRESSING, message)
    if phase == "Succeeded":
        return HealthResult(HealthStatus.HEALTHY, message)
    if phase == "Failed":
        if message:
            return HealthResult(HealthStatus.DEGRADED, message)
        for ctr in _statuses(obj, "initContainerStatuses") + _statuses(obj, "containerStatuses"):
            failed = _fail_message(ctr)
            if failed:
                return HealthResult(HealthStatus.DEGRADED, failed)
        return HealthResult(HealthStatus.DEGRADED, "")
    if phase == "Running":
        if restart == "Always" or annotation(obj, "ignore-restart-policy") is not None:
            if _ready(obj):
                return HealthResult(HealthStatus.HEALTHY, message)
            if any(
                isinstance(dig(c, "lastState", "terminated"), Mapping)
                for c in _statuses(obj, "containerStatuses")
            ):
                return HealthResult(HealthStatus.DEGRADED, message)
        # Pods that run to completion (hooks) are Progressing while they run.
        return HealthResult(HealthStatus.PROGRESSING, message)
    return HealthResult(HealthStatus.UNKNOWN, message)
