"""External Secrets Operator (``external-secrets.io``): ExternalSecret, ClusterExternalSecret, SecretStore,
ClusterSecretStore, PushSecret and ClusterPushSecret, all judged by their ``Ready`` condition.

An ExternalSecret whose target secret was deleted by policy shows a ``Deleted`` condition (Healthy: that is
what the user asked for). A refresh failure sets Ready False (Degraded) even when an older copy of the secret
still exists, as the operator reports it.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition
from gitopsd.engine.health.conditions import generation_lag, message_of, ready
from gitopsd.engine.health.status import HealthResult, HealthStatus


def external_secret(obj: dict[str, Any]) -> HealthResult:
    deleted = condition(obj, "Deleted")
    if deleted is not None and deleted.get("status") == "True":
        return HealthResult(HealthStatus.HEALTHY, message_of(deleted))
    return generation_lag(obj) or ready(obj, "Waiting for the secret to be synced")


def store(obj: dict[str, Any]) -> HealthResult:
    return ready(obj, "Waiting for the store to be validated")


def push_secret(obj: dict[str, Any]) -> HealthResult:
    return ready(obj, "Waiting for the secret to be pushed")


CHECKS = {
    ("external-secrets.io", "ExternalSecret"): external_secret,
    ("external-secrets.io", "ClusterExternalSecret"): external_secret,
    ("external-secrets.io", "SecretStore"): store,
    ("external-secrets.io", "ClusterSecretStore"): store,
    ("external-secrets.io", "PushSecret"): push_secret,
    ("external-secrets.io", "ClusterPushSecret"): push_secret,
}
