"""Argo Workflows ``Workflow`` health from ``status.phase`` (any apiVersion of argoproj.io), as
gitops-engine reads it: not started, Pending or Running → Progressing; Succeeded → Healthy; Failed or
Error → Degraded; the workflow's ``status.message`` is the message in every case."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig, text
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
