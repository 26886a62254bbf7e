"""PersistentVolumeClaim health from its phase."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig
from gitopsd.engine.health.status import HealthResult, HealthStatus

_PHASES = {"Lost": HealthStatus.DEGRADED, "Pending": HealthStatus.PROGRESSING, "Bound": HealthStatus.HEALTHY}


def assess(obj: dict[str, Any]) -> HealthResult:
    return HealthResult(_PHASES.get(str(dig(obj, "status", "phase")), HealthStatus.UNKNOWN))
