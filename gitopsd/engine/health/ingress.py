"""Ingress health: Progressing until the controller published an address."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    ingress = dig(obj, "status", "loadBalancer", "ingress")
    if isinstance(ingress, list) and ingress:
        return HealthResult(HealthStatus.HEALTHY)
    return HealthResult(HealthStatus.PROGRESSING)
