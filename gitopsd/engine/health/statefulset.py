"""StatefulSet health (as Argo CD judges it, after kubectl rollout status)."""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import dig, num, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    observed = num(obj, "status", "observedGeneration")
    if observed == 0 or num(obj, "metadata", "generation") > observed:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for statefulset spec update to be observed...")
    replicas = dig(obj, "spec", "replicas")
    wanted = replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    ready = num(obj, "status", "readyReplicas")
    if ready < wanted:
        return HealthResult(HealthStatus.PROGRESSING, f"Waiting for {wanted - ready} pods to be ready...")
    updated = num(obj, "status", "updatedReplicas")
    strategy = dig(obj, "spec", "updateStrategy", default={}) or {}
    strategy_type = text(dig(strategy, "type")) or "RollingUpdate"
    partition = dig(strategy, "rollingUpdate", "partition")
    if strategy_type == "RollingUpdate" and isinstance(partition, int):
        if updated < wanted - partition:
            return HealthResult(
                HealthStatus.PROGRESSING,
                f"Waiting for partitioned roll out to finish: {updated} out of {wanted - partition} "
                "new pods have been updated...",
            )
        return HealthResult(
            HealthStatus.HEALTHY, f"partitioned roll out complete: {updated} new pods have been updated..."
        )
    if strategy_type == "OnDelete":
        return HealthResult(HealthStatus.HEALTHY, f"statefulset has {ready} ready pods")
    update_rev = text(dig(obj, "status", "updateRevision"))
    current_rev = text(dig(obj, "status", "currentRevision"))
    if update_rev != current_rev:
        return HealthResult(
            HealthStatus.PROGRESSING,
            f"waiting for statefulset rolling update to complete {updated} pods at revision {update_rev}...",
        )
    current = num(obj, "status", "currentReplicas")
    return HealthResult(
        HealthStatus.HEALTHY,
        f"statefulset rolling update complete {current} pods at revision {current_rev}...",
    )
