"""DaemonSet health (as Argo CD judges it, after kubectl rollout status)."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig, num
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    if num(obj, "metadata", "generation") > num(obj, "status", "observedGeneration"):
        return HealthResult(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed daemon set generation less than desired generation",
        )
    name = dig(obj, "metadata", "name", default="")
    desired = num(obj, "status", "desiredNumberScheduled")
    updated = num(obj, "status", "updatedNumberScheduled")
    available = num(obj, "status", "numberAvailable")
    if dig(obj, "spec", "updateStrategy", "type") == "OnDelete":
        return HealthResult(
            HealthStatus.HEALTHY, f"daemon set {updated} out of {desired} new pods have been updated"
        )
    if updated < desired:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f'Waiting for daemon set "{name}" rollout to finish: {updated} out of {desired} new pods have been updated...',
        )
    if available < desired:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f'Waiting for daemon set "{name}" rollout to finish: {available} of {desired} updated pods are available...',
        )
    return HealthResult(HealthStatus.HEALTHY)
