"""Prometheus Operator (``monitoring.coreos.com``): Prometheus, PrometheusAgent, Alertmanager and ThanosRuler.

The operator writes ``status.paused`` (from ``spec.paused``) and two conditions, each with the generation it
describes: ``Available`` (True; ``Degraded`` when some replicas are unavailable; False when none are) and
``Reconciled`` (False when the last reconcile failed). Selector kinds (ServiceMonitor, PodMonitor, rules...)
have no health of their own.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, conditions, dig, text, truthy
from gitopsd.engine.health.conditions import condition_lag, message_of
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    if truthy(dig(obj, "spec", "paused")) or truthy(dig(obj, "status", "paused")):
        return HealthResult(HealthStatus.SUSPENDED, "Reconciliation is paused")
    if not conditions(obj):
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for the operator")
    lag = condition_lag(obj, "Available") or condition_lag(obj, "Reconciled")
    if lag is not None:
        return lag
    reconciled = condition(obj, "Reconciled")
    if reconciled is not None and reconciled.get("status") == "False":
        return HealthResult(HealthStatus.DEGRADED, message_of(reconciled))
    available = condition(obj, "Available")
    if available is None:
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for the operator")
    if available.get("status") == "True":
        return HealthResult(HealthStatus.HEALTHY, text(available.get("message")))
    if available.get("status") in ("False", "Degraded"):
        return HealthResult(HealthStatus.DEGRADED, message_of(available))
    return HealthResult(HealthStatus.PROGRESSING, message_of(available) or "Waiting for the replicas")


CHECKS = {
    ("monitoring.coreos.com", kind): assess
    for kind in ("Prometheus", "PrometheusAgent", "Alertmanager", "ThanosRuler")
}
