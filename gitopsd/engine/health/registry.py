"""Which built-in check judges a kind: an exact ``(group, Kind)`` table, then group-suffix rules for projects
whose every kind shares one status convention (Crossplane, Flux, Knative). Lua customizations are consulted
before this registry (see ``assess_health``), so a user's script always wins over a built-in check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from gitopsd.engine.health import (
    apiservice,
    argo_rollouts,
    argocd,
    cert_manager,
    crossplane,
    daemonset,
    deployment,
    external_secrets,
    flux,
    hpa,
    ingress,
    job,
    keda,
    knative,
    namespace,
    pod,
    prometheus_operator,
    pvc,
    replicaset,
    sealed_secrets,
    service,
    statefulset,
    strimzi,
    workflow,
)
from gitopsd.engine.health.status import HealthResult

Check = Callable[[dict[str, Any]], HealthResult]

_KUBERNETES: dict[tuple[str, str], Check] = {
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
}

_PROJECTS: list[Mapping[tuple[str, str], Check]] = [
    {("argoproj.io", "Workflow"): workflow.assess, ("argoproj.io", "CronWorkflow"): workflow.assess_cron},
    argo_rollouts.CHECKS,
    argocd.CHECKS,
    cert_manager.CHECKS,
    external_secrets.CHECKS,
    sealed_secrets.CHECKS,
    keda.CHECKS,
    strimzi.CHECKS,
    prometheus_operator.CHECKS,
]

BUILTIN: dict[tuple[str, str], Check] = dict(_KUBERNETES)
for _table in _PROJECTS:
    BUILTIN.update(_table)

# Group suffix → check, for every kind of a group equal to the suffix or ending in ".suffix".
GROUP_SUFFIXES: dict[str, Check] = {
    **crossplane.GROUP_SUFFIXES,
    **flux.GROUP_SUFFIXES,
    **knative.GROUP_SUFFIXES,
}


def lookup(group: str, kind: str) -> Check | None:
    """The built-in check of a kind, or None when gitopsd has no health notion for it."""
    check = BUILTIN.get((group, kind))
    if check is not None:
        return check
    for suffix, rule in GROUP_SUFFIXES.items():
        if group == suffix or group.endswith("." + suffix):
            return rule
    return None
