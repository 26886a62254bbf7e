"""HorizontalPodAutoscaler health from its conditions (v2) or the v1 conditions annotation.

As gitops-engine judges it: a condition whose reason says the controller failed (it could not read the
scale target, update it, or read a metric of any source type) degrades the HPA; otherwise an
``AbleToScale`` or ``ScalingLimited`` condition with status True makes it Healthy; anything else is
still Progressing ("Waiting to Autoscale"). ``ScalingActive`` False with a benign reason
(``ScalingDisabled``: the target was scaled to zero) is not a failure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitopsd.engine.health._util import conditions, dig, text
from gitopsd.engine.health.status import HealthResult, HealthStatus

# Reasons the HPA controller (k8s.io/kubernetes pkg/controller/podautoscaler) sets when it fails.
_FAILED_REASONS = {
    "AbleToScale": {"FailedGetScale", "FailedUpdateScale"},
    "ScalingActive": {
        "FailedGetResourceMetric",
        "FailedGetContainerResourceMetric",
        "FailedGetObjectMetric",
        "FailedGetPodsMetric",
        "FailedGetExternalMetric",
        "FailedComputeMetricsReplicas",
        "InvalidSelector",
        "InvalidMetricSourceType",
    },
}
_HEALTHY_TYPES = ("AbleToScale", "ScalingLimited")
_WAITING = HealthResult(HealthStatus.PROGRESSING, "Waiting to Autoscale")


def _conditions(obj: dict[str, Any]) -> list[Mapping[str, Any]] | HealthResult:
    conds: list[Mapping[str, Any]] = conditions(obj)
    if conds:
        return conds
    raw = dig(obj, "metadata", "annotations", "autoscaling.alpha.kubernetes.io/conditions")
    if not isinstance(raw, str):
        return []
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        return HealthResult(HealthStatus.UNKNOWN, f"failed to read conditions annotation: {exc}")
    return [c for c in parsed if isinstance(c, Mapping)] if isinstance(parsed, list) else []


def assess(obj: dict[str, Any]) -> HealthResult:
    conds = _conditions(obj)
    if isinstance(conds, HealthResult):
        return conds
    # A failure anywhere wins over a healthy condition earlier in the list.
    for c in conds:
        if text(c.get("reason")) in _FAILED_REASONS.get(text(c.get("type")), ()):
            return HealthResult(HealthStatus.DEGRADED, text(c.get("message")))
    for c in conds:
        if text(c.get("type")) in _HEALTHY_TYPES and c.get("status") == "True":
            return HealthResult(HealthStatus.HEALTHY, text(c.get("message")))
    return _WAITING
