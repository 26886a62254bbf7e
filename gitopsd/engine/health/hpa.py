"""HorizontalPodAutoscaler health from its conditions (v2) or the v1 conditions annotation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitopsd.engine.health._util import conditions, dig, text
from gitopsd.engine.health.status import HealthResult, HealthStatus

_DEGRADED = {
    ("AbleToScale", "FailedGetScale"),
    ("AbleToScale", "FailedUpdateScale"),
    ("ScalingActive", "FailedGetResourceMetric"),
    ("ScalingActive", "InvalidSelector"),
}
_HEALTHY = {
    ("AbleToScale", "SucceededRescale"),
    ("ScalingLimited", "DesiredWithinRange"),
    ("ScalingLimited", "TooFewReplicas"),
    ("ScalingLimited", "TooManyReplicas"),
}
_WAITING = HealthResult(HealthStatus.PROGRESSING, "Waiting to Autoscale")


def assess(obj: dict[str, Any]) -> HealthResult:
    conds: list[Mapping[str, Any]] = conditions(obj)
    if not conds:
        raw = dig(obj, "metadata", "annotations", "autoscaling.alpha.kubernetes.io/conditions")
        if isinstance(raw, str):
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                return HealthResult(HealthStatus.UNKNOWN, f"failed to read conditions annotation: {exc}")
            conds = [c for c in parsed if isinstance(c, Mapping)] if isinstance(parsed, list) else []
    for c in conds:
        pair = (text(c.get("type")), text(c.get("reason")))
        if pair in _DEGRADED:
            return HealthResult(HealthStatus.DEGRADED, text(c.get("message")))
        if pair in _HEALTHY:
            return HealthResult(HealthStatus.HEALTHY, text(c.get("message")))
    return _WAITING
