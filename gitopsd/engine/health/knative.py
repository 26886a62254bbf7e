"""Knative (every ``*.knative.dev`` kind: Serving's Service, Configuration, Route, Revision; Eventing's Broker,
Trigger, sources...): Knative's duck-typed status is a ``Ready`` condition (Unknown while reconciling) and an
``observedGeneration``. Ready True → Healthy, False → Degraded (with the failing sub-condition's message, which
Knative copies into Ready), Unknown or absent → Progressing.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health.conditions import generation_lag, ready
from gitopsd.engine.health.status import HealthResult


def assess(obj: dict[str, Any]) -> HealthResult:
    return generation_lag(obj) or ready(obj, "Waiting for the resource to become ready")


GROUP_SUFFIXES = {"knative.dev": assess}
