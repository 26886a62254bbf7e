"""Deployment health (as Argo CD judges it, after kubectl rollout status)."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, num
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    if dig(obj, "spec", "paused") is True:
        return HealthResult(HealthStatus.SUSPENDED, "Deployment is paused")
    generation = num(obj, "metadata", "generation")
    observed = num(obj, "status", "observedGeneration")
    if generation > observed:
        return HealthResult(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed deployment generation less than desired generation",
        )
    progressing = condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        name = dig(obj, "metadata", "name", default="")
        return HealthResult(HealthStatus.DEGRADED, f'Deployment "{name}" exceeded its progress deadline')
    replicas = dig(obj, "spec", "replicas")
    wanted = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    updated = num(obj, "status", "updatedReplicas")
    total = num(obj, "status", "replicas")
    available = num(obj, "status", "availableReplicas")
    if updated < wanted:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {updated} out of {wanted} new replicas have been updated...",
        )
    if total > updated:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {total - updated} old replicas are pending termination...",
        )
    if available < updated:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} of {updated} updated replicas are available...",
        )
    return HealthResult(HealthStatus.HEALTHY)
