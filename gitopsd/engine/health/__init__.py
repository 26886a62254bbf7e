"""Resource health: built-in checks (one module per kind, Argo CD's rules and words) and Lua overrides.

``assess_health(obj)`` returns a HealthResult, or None for kinds with no health notion (ConfigMap...),
which then do not count in the application's health.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitopsd.engine.health import (
    apiservice,
    argocd_application,
    daemonset,
    deployment,
    hpa,
    ingress,
    job,
    namespace,
    pod,
    pvc,
    replicaset,
    service,
    statefulset,
    workflow,
)
from gitopsd.engine.health.lua import LuaHealthChecks, LuaLimits, run_health_script
from gitopsd.engine.health.status import HealthResult, HealthStatus, worst

__all__ = [
    "HealthResult",
    "HealthStatus",
    "LuaHealthChecks",
    "LuaLimits",
    "assess_health",
    "run_health_script",
    "worst",
]

_Check = Callable[[dict[str, Any]], HealthResult]

_BUILTIN: dict[tuple[str, str], _Check] = {
    ("apps", "Deployment"): deployment.assess,
    ("extensions", "Deployment"): deployment.assess,
    ("apps", "StatefulSet"): statefulset.assess,
    ("apps", "DaemonSet"): daemonset.assess,
    ("extensions", "DaemonSet"): daemonset.assess,
    ("apps", "ReplicaSet"): replicaset.assess,
    ("extensions", "ReplicaSet"): replicaset.assess,
    ("", "Pod"): pod.assess,
    ("", "Service"): service.assess,
    ("", "PersistentVolumeClaim"): pvc.assess,
    ("", "Namespace"): namespace.assess,
    ("networking.k8s.io", "Ingress"): ingress.assess,
    ("extensions", "Ingress"): ingress.assess,
    ("batch", "Job"): job.assess,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa.assess,
    ("apiregistration.k8s.io", "APIService"): apiservice.assess,
    ("argoproj.io", "Workflow"): workflow.assess,
    ("argoproj.io", "Application"): argocd_application.assess,
}


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    group = api_version.partition("/")[0] if isinstance(api_version, str) and "/" in api_version else ""
    return group, kind if isinstance(kind, str) else ""


def assess_health(
    obj: Mapping[str, Any] | None, custom: LuaHealthChecks | None = None
) -> HealthResult | None:
    """Health of one live object (None live → Missing). Custom Lua checks override built-in ones."""
    if obj is None:
        return HealthResult(HealthStatus.MISSING)
    meta = obj.get("metadata")
    if isinstance(meta, Mapping) and meta.get("deletionTimestamp"):
        return HealthResult(HealthStatus.PROGRESSING, "Pending deletion")
    group, kind = _group_kind(obj)
    if custom is not None:
        result = custom.assess(f"{group}/{kind}" if group else kind, obj)
        if result is not None:
            return result
    check = _BUILTIN.get((group, kind))
    if check is None:
        return None
    try:
        return check(dict(obj))
    except Exception as exc:  # a malformed live object is Unknown, never a crash of the refresh
        return HealthResult(HealthStatus.UNKNOWN, f"cannot assess health: {exc}")
