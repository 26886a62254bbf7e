"""Strimzi (``kafka.strimzi.io``): Kafka and the kinds the Strimzi operators reconcile (KafkaTopic,
KafkaUser, KafkaConnect, KafkaConnector, KafkaMirrorMaker2, KafkaBridge).

Strimzi writes either a ``Ready`` True condition or a ``NotReady`` True condition. A new Kafka starts with
NotReady reason ``Creating`` (being deployed: Progressing); any other NotReady carries the failure (the
exception's name as reason) → Degraded. ``strimzi.io/pause-reconciliation: "true"`` shows as the
``ReconciliationPaused`` condition → Suspended. ``Warning`` conditions (deprecated fields) do not count.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, dig, text, truthy
from gitopsd.engine.health.conditions import generation_lag, message_of
from gitopsd.engine.health.status import HealthResult, HealthStatus

PAUSE = "strimzi.io/pause-reconciliation"


def assess(obj: dict[str, Any]) -> HealthResult:
    paused = condition(obj, "ReconciliationPaused")
    if (paused is not None and paused.get("status") == "True") or truthy(
        dig(obj, "metadata", "annotations", PAUSE)
    ):
        return HealthResult(HealthStatus.SUSPENDED, "Reconciliation is paused")
    lag = generation_lag(obj)
    if lag is not None:
        return lag
    not_ready = condition(obj, "NotReady")
    if not_ready is not None and not_ready.get("status") == "True":
        if text(not_ready.get("reason")) == "Creating":
            return HealthResult(HealthStatus.PROGRESSING, message_of(not_ready))
        return HealthResult(HealthStatus.DEGRADED, message_of(not_ready))
    ready = condition(obj, "Ready")
    if ready is not None and ready.get("status") == "True":
        return HealthResult(HealthStatus.HEALTHY, text(ready.get("message")))
    if ready is not None and ready.get("status") == "False":
        return HealthResult(HealthStatus.DEGRADED, message_of(ready))
    return HealthResult(HealthStatus.PROGRESSING, "Waiting for the operator")


CHECKS = {
    ("kafka.strimzi.io", kind): assess
    for kind in (
        "Kafka",
        "KafkaTopic",
        "KafkaUser",
        "KafkaConnect",
        "KafkaConnector",
        "KafkaMirrorMaker2",
        "KafkaBridge",
    )
}
