"""The DaemonSet controller on the sandbox's one node: one pod per node, rolled on template change.

The template history is kept in ControllerRevisions ``<ds>-<hash>`` labelled
``controller-revision-hash: <hash>`` (``history``); pods carry the same hash label and
``pod-template-generation``, are pinned to the node by a required node affinity on
``metadata.name`` and get the tolerations the real controller adds (not-ready, unreachable,
disk/memory/pid pressure, unschedulable). A RollingUpdate resolves maxUnavailable and maxSurge
against the one node, rounding up: without surge the out-of-date pod is deleted and its
replacement created once it is gone; with maxSurge the new pod starts beside the old one, which
is deleted once the new one is ready. OnDelete waits for someone to delete the pod.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import history
from .common import NODE_NAME, drop_zero, owner_ref, scaled
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


def _pod(ds: dict[str, Any], template: dict[str, Any], revision: str) -> dict[str, Any]:
    pod = new_pod(
        template,
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


def _hash_of(pod: dict[str, Any]) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REV, ""))


def _create(ctl: Controller, ds: dict[str, Any], template: dict[str, Any], digest: str) -> None:
    meta = ds["metadata"]
    created = ctl.create("/pods", meta.get("namespace", ""), _pod(ds, template, digest))
    if created is not None:
        ctl.events.record(ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", COMPONENT)


def _delete(ctl: Controller, ds: dict[str, Any], pod: dict[str, Any]) -> None:
    pname = pod["metadata"]["name"]
    if ctl.delete("/pods", ds["metadata"].get("namespace", ""), pname):
        ctl.events.record(ds, "SuccessfulDelete", f"Deleted pod: {pname}", COMPONENT)


def sync(ctl: Controller, ns: str, name: str) -> None:
    ds = ctl.get(SKEY, ns, name)
    if ds is None or ds["metadata"].get("deletionTimestamp"):
        return
    revs = history.sync(ctl, ds, "DaemonSet", history.DS_HASH_LABEL)
    if revs is None:
        return
    digest, template = revs.hash, history.template_of(revs.update)
    spec = ds.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    ru = strategy.get("rollingUpdate") or {}
    # updatedDesiredNodeCounts: both resolved against the one node, rounding up; never both 0.
    max_surge = scaled(ru.get("maxSurge"), 1, True, 0) if rolling else 0
    max_unavailable = scaled(ru.get("maxUnavailable"), 1, True, 1)
    if max_surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    pods = sorted(ctl.owned(ds, "/pods"), key=lambda p: str(p["metadata"].get("creationTimestamp", "")))
    # manage: no daemon pod on the node (not even a terminating one) -> create; failed ones go.
    if not pods:
        _create(ctl, ds, template, digest)
    running = []
    for pod in pods:
        if terminating(pod):
            continue
        if not active(pod):
            _delete(ctl, ds, pod)
        else:
            running.append(pod)
    new = [p for p in running if _hash_of(p) == digest]
    old = [p for p in running if _hash_of(p) != digest]
    # More than one daemon pod: keep the oldest (with surge, the oldest new and oldest old).
    keep = ([new[0]] if new else []) + ([old[0]] if old else []) if max_surge else running[:1]
    for pod in running:
        if pod not in keep:
            _delete(ctl, ds, pod)
    new, old = [p for p in new if p in keep], [p for p in old if p in keep]
    if rolling and old:
        stale = old[0]
        if max_surge == 0:
            # Unavailable old pods go at once; an available one while fewer than maxUnavailable
            # pods are unavailable (on one node: none), and its replacement follows once it is gone.
            _delete(ctl, ds, stale)
        elif not ready(stale) or (new and ready(new[0])):
            _delete(ctl, ds, stale)  # surge: the old pod goes once its replacement is ready
        elif not new:
            _create(ctl, ds, template, digest)  # surge: start the new pod beside the old one
    pods = ctl.owned(ds, "/pods")
    hashes = {_hash_of(p) for p in pods} | {digest}
    live = {
        r["metadata"]["name"]
        for r in history.listed(ctl, ds)
        if (r["metadata"].get("labels") or {}).get(history.DS_HASH_LABEL) in hashes
    } | {revs.update["metadata"]["name"]}
    _status(ctl, ds, digest, revs.collision_count)
    history.truncate(ctl, ds, live)


def _status(ctl: Controller, ds: dict[str, Any], revision: str, collisions: int) -> None:
    meta = ds["metadata"]
    pods = [p for p in ctl.owned(ds, "/pods") if active(p)]
    n_ready = min(sum(1 for p in pods if ready(p)), 1)
    updated = [p for p in pods if _hash_of(p) == revision]

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
            "updatedNumberScheduled": min(len(updated), 1),
            "numberUnavailable": max(1 - n_ready, 0),
        }
        if collisions:
            status["collisionCount"] = collisions  # a nil pointer (left out) until a collision
        drop_zero(status, "numberAvailable", "updatedNumberScheduled", "numberUnavailable")
        o["status"] = status

    ctl.mutate(SKEY, meta.get("namespace", ""), meta["name"], fn)
