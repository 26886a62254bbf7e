"""Readers of ``status.conditions`` shared by the custom-resource health checks (Flux, cert-manager, Knative...).

Most operators follow the Kubernetes API conventions: a ``Ready`` condition (True / False / Unknown), an
``observedGeneration`` that trails ``metadata.generation`` until the controller has seen the latest spec.
These helpers turn those conventions into HealthResults so each project module states only its exceptions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitopsd.engine.health._util import condition, dig, text
from gitopsd.engine.health.status import HealthResult, HealthStatus


def state(obj: Any, type_: str) -> str:
    """``True``, ``False``, ``Unknown`` (or any other value the controller wrote); "" without the condition."""
    c = condition(obj, type_)
    return text(c.get("status")) if c is not None else ""


def message_of(c: Mapping[str, Any] | None) -> str:
    """A condition's message, else its reason (some controllers leave the message empty)."""
    if c is None:
        return ""
    return text(c.get("message")) or text(c.get("reason"))


def _int(value: Any) -> int | None:
    # Argo Rollouts writes observedGeneration as a string of digits; most others as an integer.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def generation_lag(obj: Any) -> HealthResult | None:
    """Progressing while the controller has not yet observed the latest spec (status.observedGeneration)."""
    generation = _int(dig(obj, "metadata", "generation"))
    observed = _int(dig(obj, "status", "observedGeneration"))
    if generation is not None and observed is not None and observed < generation:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for the controller to observe the latest spec")
    return None


def condition_lag(obj: Any, type_: str) -> HealthResult | None:
    """Progressing while a condition was written for an older generation (conditions[].observedGeneration)."""
    c = condition(obj, type_)
    generation = _int(dig(obj, "metadata", "generation"))
    observed = _int(c.get("observedGeneration")) if c is not None else None
    if generation is not None and observed is not None and observed < generation:
        return HealthResult(HealthStatus.PROGRESSING, f"Waiting for the {type_} condition of the latest spec")
    return None


def ready(obj: Any, waiting: str, type_: str = "Ready") -> HealthResult:
    """Health from one readiness condition: True → Healthy, False → Degraded, Unknown or absent → Progressing."""
    c = condition(obj, type_)
    if c is None:
        return HealthResult(HealthStatus.PROGRESSING, waiting)
    value = text(c.get("status"))
    if value == "True":
        # A reason like "Available" says nothing a Healthy status does not: only a real message is kept.
        return HealthResult(HealthStatus.HEALTHY, text(c.get("message")))
    if value == "False":
        return HealthResult(HealthStatus.DEGRADED, message_of(c))
    return HealthResult(HealthStatus.PROGRESSING, message_of(c) or waiting)


def ready_with_generation(obj: Any, waiting: str, type_: str = "Ready") -> HealthResult:
    """``ready`` once the controller has observed the latest spec (both status- and condition-level)."""
    return generation_lag(obj) or condition_lag(obj, type_) or ready(obj, waiting, type_)
