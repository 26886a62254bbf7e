"""Job health: Progressing until a Complete or Failed condition; suspended Jobs are Suspended."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import conditions, dig, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    failed = complete = False
    fail_message = message = ""
    for c in conditions(obj):
        if c.get("status") not in ("True", None):
            continue
        if c.get("type") == "Failed":
            failed = complete = True
            fail_message = text(c.get("message"))
        elif c.get("type") == "Complete":
            complete = True
            message = text(c.get("message"))
    if failed:
        return HealthResult(HealthStatus.DEGRADED, fail_message)
    if complete:
        return HealthResult(HealthStatus.HEALTHY, message)
    if dig(obj, "spec", "suspend") is True:
        return HealthResult(HealthStatus.SUSPENDED, "Job is suspended")
    return HealthResult(HealthStatus.PROGRESSING, message)
