"""Job health: Progressing until a Complete or Failed condition; a suspended Job is Suspended.

A Job with ``spec.suspend`` gets a ``Suspended`` condition (status True) from the Job controller; its
message is what the user sees, as in gitops-engine. Before the controller has written it, the spec alone
says the Job is suspended.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import conditions, dig, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    failed = complete = suspended = False
    fail_message = message = suspend_message = ""
    for c in conditions(obj):
        if c.get("status") not in ("True", None):
            continue
        if c.get("type") == "Failed":
            failed = complete = True
            fail_message = text(c.get("message"))
        elif c.get("type") == "Complete":
            complete = True
            message = text(c.get("message"))
        elif c.get("type") == "Suspended":
            suspended = True
            suspend_message = text(c.get("message"))
    if failed:
        return HealthResult(HealthStatus.DEGRADED, fail_message)
    if complete:
        return HealthResult(HealthStatus.HEALTHY, message)
    if suspended:
        return HealthResult(HealthStatus.SUSPENDED, suspend_message or "Job is suspended")
    if dig(obj, "spec", "suspend") is True:
        return HealthResult(HealthStatus.SUSPENDED, "Job is suspended")
    return HealthResult(HealthStatus.PROGRESSING, message)
