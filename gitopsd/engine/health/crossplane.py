"""Crossplane: every kind of a ``crossplane.io`` group (``pkg.crossplane.io``, ``apiextensions.crossplane.io``,
the ``*.crossplane.io`` managed resources of community providers) and of an ``upbound.io`` group (the managed
resources of Upbound's providers, ``*.aws.upbound.io`` and so on), by the conditions crossplane-runtime writes.

``Synced`` False (the last reconcile failed), ``LastAsyncOperation`` False (an asynchronous create/update of the
external resource failed) and a package's ``Healthy`` False are failures. ``Ready`` True is Healthy; Ready False is
still underway (reasons Creating, Deleting) unless its reason is Unavailable. Packages (Provider, Function,
Configuration) are Healthy when ``Installed`` and ``Healthy``; a CompositeResourceDefinition when ``Established``.
Kinds that carry no conditions at all (ProviderConfig, Composition, EnvironmentConfig...) are Healthy when they
have none; any other kind without conditions is waiting for its controller.
"""

from __future__ import annotations

from typing import Any

from gitopsd.engine.health._util import condition, conditions, text
from gitopsd.engine.health.conditions import message_of
from gitopsd.engine.health.status import HealthResult, HealthStatus

# Kinds that Crossplane never gives conditions (configuration objects read by controllers).
_STATUSLESS_SUFFIXES = (
    "ProviderConfig",
    "ProviderConfigUsage",
    "RuntimeConfig",
    "ControllerConfig",
    "StoreConfig",
)
_STATUSLESS = {"Composition", "CompositionRevision", "EnvironmentConfig", "Usage", "ClusterUsage"}


def _failed(obj: dict[str, Any]) -> HealthResult | None:
    for type_ in ("Synced", "LastAsyncOperation", "Healthy"):
        c = condition(obj, type_)
        if c is not None and c.get("status") == "False":
            return HealthResult(HealthStatus.DEGRADED, message_of(c))
    return None


def assess(obj: dict[str, Any]) -> HealthResult:
    kind = text(obj.get("kind"))
    if not conditions(obj):
        if kind in _STATUSLESS or kind.endswith(_STATUSLESS_SUFFIXES):
            return HealthResult(HealthStatus.HEALTHY)
        return HealthResult(HealthStatus.PROGRESSING, "Waiting for the resource to be reconciled")
    failed = _failed(obj)
    if failed is not None:
        return failed
    ready = condition(obj, "Ready")
    if ready is not None:
        if ready.get("status") == "True":
            return HealthResult(HealthStatus.HEALTHY, text(ready.get("message")))
        if ready.get("status") == "False" and text(ready.get("reason")) == "Unavailable":
            return HealthResult(HealthStatus.DEGRADED, message_of(ready))
        return HealthResult(
            HealthStatus.PROGRESSING, message_of(ready) or "Waiting for the resource to be ready"
        )
    installed = condition(obj, "Installed")
    if installed is not None:
        healthy = condition(obj, "Healthy")
        if installed.get("status") == "True" and healthy is not None and healthy.get("status") == "True":
            return HealthResult(HealthStatus.HEALTHY, text(healthy.get("message")))
        pending = healthy if installed.get("status") == "True" else installed
        return HealthResult(HealthStatus.PROGRESSING, message_of(pending) or "Waiting for the package")
    established = condition(obj, "Established")
    if established is not None:
        if established.get("status") == "True":
            return HealthResult(HealthStatus.HEALTHY, text(established.get("message")))
        return HealthResult(HealthStatus.PROGRESSING, message_of(established) or "Waiting to be established")
    synced = condition(obj, "Synced")
    if synced is not None and synced.get("status") == "True":
        # Synced with no readiness to report (some kinds never write Ready).
        return HealthResult(HealthStatus.HEALTHY, text(synced.get("message")))
    return HealthResult(HealthStatus.PROGRESSING, "Waiting for the resource to be reconciled")


GROUP_SUFFIXES = {"crossplane.io": assess, "upbound.io": assess}
