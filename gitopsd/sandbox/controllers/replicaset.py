"""The ReplicaSet controller: keep ``spec.replicas`` active pods, report what they do.

Missing pods are created from the template (``<rs>-<5 random>``, a controller ownerReference,
the template's labels incl. ``pod-template-hash``); surplus ones are deleted through the API,
unscheduled / pending / unready / newest first. Status counts as the real one does (replicas,
fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .common import drop_zero, int_of, owner_ref
from .pods import active, deletion_rank, matches, new_pod, ready

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "apps/replicasets"
COMPONENT = "replicaset-controller"


def sync(ctl: Controller, ns: str, name: str) -> None:
    reconcile(ctl, SKEY, "apps/v1", "ReplicaSet", ns, name)


def reconcile(
    ctl: Controller, skey: str, api_version: str, kind: str, ns: str, name: str, component: str = COMPONENT
) -> None:
    """Keep ``spec.replicas`` pods of a ReplicaSet or a ReplicationController (the real
    ReplicationManager is the ReplicaSet controller run on the v1 kind)."""
    rs = ctl.get(skey, ns, name)
    if rs is None or (rs.get("metadata") or {}).get("deletionTimestamp"):
        return
    spec = rs.get("spec") or {}
    want = int_of(spec.get("replicas"), 1)
    pods = [p for p in ctl.owned(rs, "/pods") if active(p)]
    diff = want - len(pods)
    template = spec.get("template") or {}
    if diff > 0:
        ref = owner_ref(api_version, kind, rs["metadata"])
        for _ in range(diff):
            created = ctl.create("/pods", ns, new_pod(template, rs, ref))
            if created is not None:
                pods.append(created)
                ctl.events.record(
                    rs, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", component
                )
    elif diff < 0:
        doomed = sorted(pods, key=deletion_rank)[:-diff]
        for pod in doomed:
            pname = pod["metadata"]["name"]
            if ctl.delete("/pods", ns, pname):
                ctl.events.record(rs, "SuccessfulDelete", f"Deleted pod: {pname}", component)
        gone = {p["metadata"]["uid"] for p in doomed}
        pods = [p for p in pods if p["metadata"]["uid"] not in gone]
    write_status(ctl, rs, pods, skey)


def write_status(ctl: Controller, rs: dict[str, Any], pods: list[dict[str, Any]], skey: str = SKEY) -> None:
    meta = rs["metadata"]
    # Re-read: a create above may have already changed what counts.
    current = [p for p in ctl.owned(rs, "/pods") if active(p)] or pods
    labels = ((rs.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    n_ready = sum(1 for p in current if ready(p))
    gen = meta.get("generation", 1)

    def fn(o: dict[str, Any]) -> None:
        if o["metadata"].get("uid") != meta["uid"]:
            return
        status: dict[str, Any] = {
            "replicas": len(current),
            "fullyLabeledReplicas": sum(
                1
                for p in current
                if matches((p.get("metadata") or {}).get("labels") or {}, {"matchLabels": labels})
            ),
            "readyReplicas": n_ready,
            "availableReplicas": n_ready,
            "observedGeneration": gen,
        }
        conds = [
            c for c in (o.get("status") or {}).get("conditions") or [] if c.get("type") != "ReplicaFailure"
        ]
        if conds:
            status["conditions"] = conds
        drop_zero(status, "fullyLabeledReplicas", "readyReplicas", "availableReplicas")
        o["status"] = status

    ctl.mutate(skey, meta.get("namespace", ""), meta["name"], fn)
