"""ReplicaSet health (as Argo CD judges it)."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, num, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    if num(obj, "metadata", "generation") > num(obj, "status", "observedGeneration"):
        return HealthResult(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed replica set generation less than desired generation",
        )
    failure = condition(obj, "ReplicaFailure")
    if failure is not None and failure.get("status") == "True":
        return HealthResult(HealthStatus.DEGRADED, text(failure.get("message")))
    replicas = dig(obj, "spec", "replicas")
    wanted = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    available = num(obj, "status", "availableReplicas")
    if available < wanted:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} out of {wanted} new replicas are available...",
        )
    return HealthResult(HealthStatus.HEALTHY)
