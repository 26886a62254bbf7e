"""The DaemonSet controller on the sandbox's one node: one pod per node, rolled on template change.

Pods are ``<ds>-<5 random>`` with ``controller-revision-hash`` and ``pod-template-generation``
labels, pinned to the node by a required node affinity on ``metadata.name`` and given the
tolerations the real controller adds (not-ready, unreachable, disk/memory/pid pressure,
unschedulable). A RollingUpdate (maxUnavailable 1) deletes the out-of-date pod, then creates its
replacement once it is gone; OnDelete waits for someone to delete it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .common import NODE_NAME, drop_zero, owner_ref, template_hash
from .pods import active, new_pod, ready, terminating

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "apps/daemonsets"
COMPONENT = "daemonset-controller"
REV = "controller-revision-hash"
_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def _pod(ds: dict[str, Any], revision: str) -> dict[str, Any]:
    spec = ds.get("spec") or {}
    pod = new_pod(
        spec.get("template") or {},
        ds,
        owner_ref("apps/v1", "DaemonSet", ds["metadata"]),
        extra_labels={REV: revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))},
    )
    pspec = pod["spec"]
    pspec["affinity"] = {
        **(pspec.get("affinity") or {}),
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [NODE_NAME]}]}
                ]
            }
        },
    }
    tolerations = list(pspec.get("tolerations") or [])
    keys = {(t.get("key"), t.get("effect")) for t in tolerations if isinstance(t, dict)}
    tolerations += [t for t in _TOLERATIONS if (t["key"], t["effect"]) not in keys]
    pspec["tolerations"] = tolerations
    return pod


def sync(ctl: Controller, ns: str, name: str) -> None:
    ds = ctl.get(SKEY, ns, name)
    if ds is None or ds["metadata"].get("deletionTimestamp"):
        return
    spec = ds.get("spec") or {}
    revision = template_hash(spec.get("template") or {})
    pods = ctl.owned(ds, "/pods")
    live = [p for p in pods if active(p)]
    for pod in pods:
        if not terminating(pod) and not active(pod):
            ctl.delete("/pods", ns, pod["metadata"]["name"])  # a failed daemon pod is replaced
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    stale = [p for p in live if (p["metadata"].get("labels") or {}).get(REV) != revision]
    if rolling and stale:
        for pod in stale[:1]:
            if ctl.delete("/pods", ns, pod["metadata"]["name"]):
                ctl.events.record(
                    ds, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", COMPONENT
                )
    elif not any(not finished_or_gone(p) for p in pods):
        created = ctl.create("/pods", ns, _pod(ds, revision))
        if created is not None:
            ctl.events.record(
                ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", COMPONENT
            )
    _status(ctl, ds, revision)


def finished_or_gone(pod: dict[str, Any]) -> bool:
    return not active(pod) and not terminating(pod)


def _status(ctl: Controller, ds: dict[str, Any], revision: str) -> None:
    meta = ds["metadata"]
    pods = [p for p in ctl.owned(ds, "/pods") if active(p)]
    n_ready = sum(1 for p in pods if ready(p))
    updated = [p for p in pods if (p["metadata"].get("labels") or {}).get(REV) == revision]

    def fn(o: dict[str, Any]) -> None:
        if o["metadata"].get("uid") != meta["uid"]:
            return
        status: dict[str, Any] = {
            "observedGeneration": o["metadata"].get("generation", 1),
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": min(len(pods), 1),
            "numberMisscheduled": 0,
            "numberReady": n_ready,
            "numberAvailable": n_ready,
            "updatedNumberScheduled": len(updated),
            "numberUnavailable": max(1 - n_ready, 0),
        }
        drop_zero(status, "numberAvailable", "updatedNumberScheduled", "numberUnavailable")
        o["status"] = status

    ctl.mutate(SKEY, meta.get("namespace", ""), meta["name"], fn)
