"""The StatefulSet controller: pods ``<sts>-0 … <sts>-N-1`` with stable names, in order.

OrderedReady creates pod i only when the pods before it are running and ready, and scales down
from the highest ordinal one at a time; Parallel does all at once. Each pod carries
``controller-revision-hash`` (the update revision ``<sts>-<hash>``),
``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index``, ``hostname`` and
``subdomain``; volumeClaimTemplates become PVCs ``<claim>-<sts>-<i>``. A RollingUpdate replaces
pods from the highest ordinal down to ``partition`` (delete, then recreate at the new revision)
one ready pod at a time; OnDelete only replaces pods someone deleted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .common import deep, drop_zero, int_of, owner_ref, template_hash
from .pods import active, new_pod, ready, terminating

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "apps/statefulsets"
COMPONENT = "statefulset-controller"
REV = "controller-revision-hash"


def _ordinal(pod: dict[str, Any], name: str) -> int:
    tail = pod["metadata"]["name"][len(name) + 1 :]
    return int(tail) if tail.isdigit() else -1


def _claims(ctl: Controller, sts: dict[str, Any], i: int, pod: dict[str, Any]) -> None:
    meta = sts["metadata"]
    ns = meta.get("namespace", "")
    volumes = pod["spec"].setdefault("volumes", [])
    for tmpl in (sts.get("spec") or {}).get("volumeClaimTemplates") or []:
        if not isinstance(tmpl, dict) or not (tmpl.get("metadata") or {}).get("name"):
            continue
        cname = tmpl["metadata"]["name"]
        claim = f"{cname}-{meta['name']}-{i}"
        if ctl.get("/persistentvolumeclaims", ns, claim) is None:
            labels = dict(((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
            ctl.create(
                "/persistentvolumeclaims",
                ns,
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {"name": claim, "namespace": ns, "labels": labels},
                    "spec": deep(tmpl.get("spec") or {}),
                },
            )
            ctl.events.record(
                sts,
                "SuccessfulCreate",
                f"create Claim {claim} Pod {pod['metadata']['name']} in StatefulSet {meta['name']} success",
                COMPONENT,
            )
        if not any(isinstance(v, dict) and v.get("name") == cname for v in volumes):
            volumes.append({"name": cname, "persistentVolumeClaim": {"claimName": claim}})


def sync(ctl: Controller, ns: str, name: str) -> None:
    sts = ctl.get(SKEY, ns, name)
    if sts is None or sts["metadata"].get("deletionTimestamp"):
        return
    spec = sts.get("spec") or {}
    want = int_of(spec.get("replicas"), 1)
    template = spec.get("template") or {}
    revision = f"{name}-{template_hash(template)}"
    ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    pods = {_ordinal(p, name): p for p in ctl.owned(sts, "/pods")}
    ref = owner_ref("apps/v1", "StatefulSet", sts["metadata"])
    blocked = False
    for i in range(want):
        pod = pods.get(i)
        if pod is not None and not terminating(pod) and not active(pod):
            # A failed / succeeded stateful pod is replaced (deleted, recreated next round).
            ctl.delete("/pods", ns, pod["metadata"]["name"])
            blocked = True
            continue
        if pod is None and not blocked:
            fresh = new_pod(
                template,
                sts,
                ref,
                name=f"{name}-{i}",
                extra_labels={
                    REV: revision,
                    "statefulset.kubernetes.io/pod-name": f"{name}-{i}",
                    "apps.kubernetes.io/pod-index": str(i),
                },
            )
            fresh["spec"]["hostname"] = f"{name}-{i}"
            if spec.get("serviceName"):
                fresh["spec"]["subdomain"] = spec["serviceName"]
            _claims(ctl, sts, i, fresh)
            created = ctl.create("/pods", ns, fresh)
            if created is not None:
                pods[i] = created
                ctl.events.record(
                    sts,
                    "SuccessfulCreate",
                    f"create Pod {name}-{i} in StatefulSet {name} successful",
                    COMPONENT,
                )
            pod = created
        if ordered and (pod is None or not ready(pod)):
            blocked = True
    # Scale down: the highest ordinal first, one at a time when ordered.
    extra = sorted((i for i in pods if i >= want or i < 0), reverse=True)
    for i in extra:
        pod = pods[i]
        if terminating(pod):
            if ordered:
                break
            continue
        if ordered and not all(ready(p) for j, p in pods.items() if 0 <= j < want):
            break
        if ctl.delete("/pods", ns, pod["metadata"]["name"]):
            ctl.events.record(
                sts,
                "SuccessfulDelete",
                f"delete Pod {pod['metadata']['name']} in StatefulSet {name} successful",
                COMPONENT,
            )
        if ordered:
            break
    strategy = spec.get("updateStrategy") or {}
    in_range = [pods[i] for i in range(want) if i in pods]
    if strategy.get("type", "RollingUpdate") == "RollingUpdate" and len(in_range) == want:
        partition = int_of((strategy.get("rollingUpdate") or {}).get("partition"), 0)
        if all(ready(p) for p in in_range):
            for i in range(want - 1, partition - 1, -1):
                pod = pods[i]
                if (pod["metadata"].get("labels") or {}).get(REV) != revision:
                    if ctl.delete("/pods", ns, pod["metadata"]["name"]):
                        ctl.events.record(
                            sts,
                            "SuccessfulDelete",
                            f"delete Pod {pod['metadata']['name']} in StatefulSet {name} successful",
                            COMPONENT,
                        )
                    break
    _status(ctl, sts, revision, want)


def _status(ctl: Controller, sts: dict[str, Any], revision: str, want: int) -> None:
    meta = sts["metadata"]
    pods = [p for p in ctl.owned(sts, "/pods") if not terminating(p)]
    updated = [p for p in pods if (p["metadata"].get("labels") or {}).get(REV) == revision]
    n_ready = sum(1 for p in pods if ready(p))
    old_status = sts.get("status") or {}
    current_rev = old_status.get("currentRevision") or revision
    done = len(updated) == want and len(pods) == want and n_ready == want
    if done:
        current_rev = revision
    current = [p for p in pods if (p["metadata"].get("labels") or {}).get(REV) == current_rev]

    def fn(o: dict[str, Any]) -> None:
        if o["metadata"].get("uid") != meta["uid"]:
            return
        status: dict[str, Any] = {
            "observedGeneration": o["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": n_ready,
            "currentReplicas": len(current),
            "updatedReplicas": len(updated),
            "currentRevision": current_rev,
            "updateRevision": revision,
            "collisionCount": 0,
            "availableReplicas": n_ready,
        }
        drop_zero(status, "readyReplicas", "currentReplicas", "updatedReplicas")
        o["status"] = status

    ctl.mutate(SKEY, meta.get("namespace", ""), meta["name"], fn)
