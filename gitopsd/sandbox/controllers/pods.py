"""Pods as the workload controllers make them, and how they read a pod's state.

``new_pod`` builds a Pod from a template the way the controllers' pod control does: the
template's labels, annotations and spec, a controller ownerReference, and a generated or fixed
name. The API server then defaults it and admission adds the service-account volume and default
tolerations (``defaults``, ``admission``).
"""

from __future__ import annotations

from typing import Any

from .common import condition, deep, random_suffix


def new_pod(
    template: dict[str, Any],
    owner: dict[str, Any],
    ref: dict[str, Any],
    name: str | None = None,
    extra_labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    tmeta = template.get("metadata") or {}
    meta_owner = owner["metadata"]
    labels = {**(tmeta.get("labels") or {}), **(extra_labels or {})}
    metadata: dict[str, Any] = {
        "namespace": meta_owner.get("namespace", ""),
        "labels": labels,
        "ownerReferences": [ref],
    }
    if name is None:
        metadata["generateName"] = f"{meta_owner['name']}-"
        metadata["name"] = f"{meta_owner['name']}-{random_suffix()}"
    else:
        metadata["name"] = name
    if tmeta.get("annotations"):
        metadata["annotations"] = dict(tmeta["annotations"])
    spec = deep(template.get("spec") or {})
    if not isinstance(spec.get("containers"), list):
        spec["containers"] = []
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def terminating(pod: dict[str, Any]) -> bool:
    return bool((pod.get("metadata") or {}).get("deletionTimestamp"))


def finished(pod: dict[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def active(pod: dict[str, Any]) -> bool:
    """Counted by a ReplicaSet / DaemonSet / Job: not finished and not being deleted."""
    return not terminating(pod) and not finished(pod)


def ready(pod: dict[str, Any]) -> bool:
    cond = condition(pod, "Ready")
    return bool(cond and cond.get("status") == "True") and not terminating(pod)


def matches(labels: dict[str, Any], selector: Any) -> bool:
    """A LabelSelector (matchLabels + matchExpressions) against labels."""
    if not isinstance(selector, dict):
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, dict):
            continue
        key, op, values = str(expr.get("key", "")), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def deletion_rank(pod: dict[str, Any]) -> tuple[int, int, str]:
    """Which pods a controller scales down first: unscheduled, then pending, then not ready, then
    the newest (as controller.ActivePods sorts)."""
    status = pod.get("status") or {}
    spec = pod.get("spec") or {}
    rank = 3
    if not spec.get("nodeName"):
        rank = 0
    elif status.get("phase") == "Pending":
        rank = 1
    elif not ready(pod):
        rank = 2
    created = str((pod.get("metadata") or {}).get("creationTimestamp", ""))
    # Newer first within a rank: negate by sorting on the reversed string order below.
    return (rank, 0, "".join(chr(0x10FFFF - ord(c)) for c in created))
