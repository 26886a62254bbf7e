"""Namespace health: Healthy while Active, Progressing while terminating."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    phase = dig(obj, "status", "phase")
    if phase == "Terminating":
        return HealthResult(HealthStatus.PROGRESSING, "Namespace is terminating")
    if phase in ("Active", None):
        return HealthResult(HealthStatus.HEALTHY)
    return HealthResult(HealthStatus.UNKNOWN, f"unexpected phase {phase}")
