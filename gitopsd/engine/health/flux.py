"""Flux (every ``*.toolkit.fluxcd.io`` kind: Kustomization, HelmRelease, GitRepository, HelmRepository,
OCIRepository, Bucket, HelmChart, image and notification kinds) by the conditions Flux documents.

Flux follows kstatus: ``spec.suspend`` stops reconciliation (Suspended); ``status.observedGeneration`` behind
``metadata.generation`` means the new spec is not handled yet; ``Stalled`` True is a failure that retrying will
not fix; ``Reconciling`` True is work in progress, unless its reason is ProgressingWithRetry while Ready is False (a failed
attempt waiting for its retry: Degraded); then ``Ready`` decides. An OCI HelmRepository is a static
object that Flux does not reconcile, so it has no conditions and is Healthy as it is.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, conditions, dig, text, truthy
from gitopsd.engine.health.conditions import generation_lag, message_of, ready
from gitopsd.engine.health.status import HealthResult, HealthStatus


def assess(obj: dict[str, Any]) -> HealthResult:
    if truthy(dig(obj, "spec", "suspend")):
        return HealthResult(HealthStatus.SUSPENDED, "Reconciliation is suspended")
    if (
        obj.get("kind") == "HelmRepository"
        and text(dig(obj, "spec", "type")) == "oci"
        and not conditions(obj)
    ):
        return HealthResult(HealthStatus.HEALTHY, "OCI repositories are not reconciled")
    lag = generation_lag(obj)
    if lag is not None:
        return lag
    stalled = condition(obj, "Stalled")
    if stalled is not None and stalled.get("status") == "True":
        return HealthResult(HealthStatus.DEGRADED, message_of(stalled))
    reconciling = condition(obj, "Reconciling")
    ready_ = condition(obj, "Ready")
    if (
        reconciling is not None
        and text(reconciling.get("reason")) == "ProgressingWithRetry"
        and ready_ is not None
        and ready_.get("status") == "False"
    ):
        # A failed attempt that Flux will retry: still a failure until a retry succeeds.
        return HealthResult(HealthStatus.DEGRADED, message_of(ready_))
    if reconciling is not None and reconciling.get("status") == "True":
        return HealthResult(HealthStatus.PROGRESSING, message_of(reconciling) or "Reconciliation in progress")
    return ready(obj, "Waiting for reconciliation")


GROUP_SUFFIXES = {"toolkit.fluxcd.io": assess}
