"""APIService health from its Available condition."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import conditions, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    for c in conditions(obj):
        if c.get("type") == "Available":
            message = f"{text(c.get('reason'))}: {text(c.get('message'))}"
            status = HealthStatus.HEALTHY if c.get("status") == "True" else HealthStatus.PROGRESSING
            return HealthResult(status, message)
    return HealthResult(HealthStatus.PROGRESSING, "Waiting to be processed")
