"""Service health: a LoadBalancer is Progressing until it has an ingress point."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    if dig(obj, "spec", "type") == "LoadBalancer":
        ingress = dig(obj, "status", "loadBalancer", "ingress")
        if isinstance(ingress, list) and ingress:
            return HealthResult(HealthStatus.HEALTHY)
        return HealthResult(HealthStatus.PROGRESSING)
    return HealthResult(HealthStatus.HEALTHY)
