"""KEDA (``keda.sh``): ScaledObject and ScaledJob health.

Paused first: the annotation ``autoscaling.keda.sh/paused: "true"`` (both kinds), the ScaledObject's
``autoscaling.keda.sh/paused-replicas`` (any value pins the replica count), or the operator's ``Paused``
condition → Suspended. A ScaledObject serving fallback replicas (``Fallback`` True) has a failing scaler →
Degraded. Otherwise the ``Ready`` condition decides.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, truthy
from gitopsd.engine.health.conditions import message_of, ready
from gitopsd.engine.health.status import HealthResult, HealthStatus

PAUSED = "autoscaling.keda.sh/paused"
PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"


def _paused(obj: dict[str, Any], *, replicas_too: bool) -> HealthResult | None:
    annotations = dig(obj, "metadata", "annotations")
    annotations = annotations if isinstance(annotations, dict) else {}
    if truthy(annotations.get(PAUSED)):
        return HealthResult(HealthStatus.SUSPENDED, "Autoscaling is paused")
    if replicas_too and PAUSED_REPLICAS in annotations:
        return HealthResult(
            HealthStatus.SUSPENDED, f"Autoscaling is paused at {annotations[PAUSED_REPLICAS]} replicas"
        )
    paused = condition(obj, "Paused")
    if paused is not None and paused.get("status") == "True":
        return HealthResult(HealthStatus.SUSPENDED, message_of(paused) or "Autoscaling is paused")
    return None


def scaled_object(obj: dict[str, Any]) -> HealthResult:
    paused = _paused(obj, replicas_too=True)
    if paused is not None:
        return paused
    fallback = condition(obj, "Fallback")
    if fallback is not None and fallback.get("status") == "True":
        return HealthResult(HealthStatus.DEGRADED, message_of(fallback))
    return ready(obj, "Waiting for the scaler to be set up")


def scaled_job(obj: dict[str, Any]) -> HealthResult:
    return _paused(obj, replicas_too=False) or ready(obj, "Waiting for the scaler to be set up")


CHECKS = {
    ("keda.sh", "ScaledObject"): scaled_object,
    ("keda.sh", "ScaledJob"): scaled_job,
}
