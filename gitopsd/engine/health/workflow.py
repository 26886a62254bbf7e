"""Argo Workflows ``Workflow`` health from ``status.phase`` (any apiVersion of argoproj.io), as
gitops-engine reads it: not started, Pending or Running → Progressing; Succeeded → Healthy; Failed or
Error → Degraded; the workflow's ``status.message`` is the message in every case.

A ``CronWorkflow`` is a schedule: Suspended while ``spec.suspend`` is set (or once stopped by its stop
strategy, ``status.phase: Stopped``), Degraded while its controller reports a ``SpecError`` or
``SubmissionError`` condition, Healthy otherwise."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import conditions, dig, text, truthy
from gitopsd.engine.health.status import HealthResult, HealthStatus

_BY_PHASE = {
    "": HealthStatus.PROGRESSING,
    "Pending": HealthStatus.PROGRESSING,
    "Running": HealthStatus.PROGRESSING,
    "Succeeded": HealthStatus.HEALTHY,
    "Failed": HealthStatus.DEGRADED,
    "Error": HealthStatus.DEGRADED,
}


def assess(obj: dict[str, Any]) -> HealthResult:
    phase = text(dig(obj, "status", "phase"))
    return HealthResult(_BY_PHASE.get(phase, HealthStatus.UNKNOWN), text(dig(obj, "status", "message")))


def assess_cron(obj: dict[str, Any]) -> HealthResult:
    for c in conditions(obj):
        if c.get("type") in ("SpecError", "SubmissionError") and c.get("status") == "True":
            return HealthResult(HealthStatus.DEGRADED, text(c.get("message")) or text(c.get("type")))
    if truthy(dig(obj, "spec", "suspend")):
        return HealthResult(HealthStatus.SUSPENDED, "CronWorkflow is suspended")
    if text(dig(obj, "status", "phase")) == "Stopped":
        return HealthResult(HealthStatus.SUSPENDED, "CronWorkflow stopped by its stop strategy")
    return HealthResult(HealthStatus.HEALTHY)
