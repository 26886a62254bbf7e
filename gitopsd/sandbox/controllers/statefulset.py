"""The StatefulSet controller: pods ``<sts>-0 … <sts>-N-1`` with stable names, as the real
updateStatefulSet does it.

The template history is kept in ControllerRevisions (``history``): ``status.updateRevision`` is
the revision of the current template, ``status.currentRevision`` the one the set is rolling
from, and each pod's ``controller-revision-hash`` names its revision. OrderedReady creates one
missing ordinal at a time and waits for each pod to be Running and Ready, scales down from the
highest ordinal one at a time; Parallel creates and deletes all at once. A RollingUpdate deletes
the highest ordinal at or above ``partition`` that is not at the update revision, then waits for
its replacement to be ready; pods recreated below the partition come back at the current
revision. OnDelete replaces a pod only once someone deleted it. The current revision catches up
when every pod is updated and ready. Pods also carry ``statefulset.kubernetes.io/pod-name`` and
``apps.kubernetes.io/pod-index``, ``hostname`` and ``subdomain``; volumeClaimTemplates become
PVCs ``<claim>-<sts>-<i>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import history
from .common import deep, drop_zero, int_of, owner_ref
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


def _rev_of(pod: dict[str, Any]) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REV, ""))


def _created(pod: dict[str, Any]) -> bool:
    return bool((pod.get("status") or {}).get("phase"))


def _new_pod(
    ctl: Controller, sts: dict[str, Any], i: int, template: dict[str, Any], revision: str
) -> dict[str, Any] | None:
    meta, spec = sts["metadata"], sts.get("spec") or {}
    name, ns = meta["name"], meta.get("namespace", "")
    fresh = new_pod(
        template,
        sts,
        owner_ref("apps/v1", "StatefulSet", meta),
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
        ctl.events.record(
            sts, "SuccessfulCreate", f"create Pod {name}-{i} in StatefulSet {name} successful", COMPONENT
        )
    return created


def _delete(ctl: Controller, sts: dict[str, Any], pod: dict[str, Any]) -> None:
    meta = sts["metadata"]
    pname = pod["metadata"]["name"]
    if ctl.delete("/pods", meta.get("namespace", ""), pname):
        ctl.events.record(
            sts, "SuccessfulDelete", f"delete Pod {pname} in StatefulSet {meta['name']} successful", COMPONENT
        )


def sync(ctl: Controller, ns: str, name: str) -> None:
    sts = ctl.get(SKEY, ns, name)
    if sts is None or sts["metadata"].get("deletionTimestamp"):
        return
    revs = history.sync(ctl, sts, "StatefulSet", history.STS_HASH_LABEL)
    if revs is None:
        return
    current_name, update_name = revs.current["metadata"]["name"], revs.update["metadata"]["name"]
    _reconcile(ctl, sts, revs)
    pods = ctl.owned(sts, "/pods")
    live = {current_name, update_name} | {_rev_of(p) for p in pods}
    _status(ctl, sts, pods, current_name, update_name, revs.collision_count)
    history.truncate(ctl, sts, live)


def _reconcile(ctl: Controller, sts: dict[str, Any], revs: history.Revisions) -> None:
    """One pass of the real updateStatefulSet: fill ordinals, scale down, then roll."""
    spec = sts.get("spec") or {}
    name = sts["metadata"]["name"]
    want = int_of(spec.get("replicas"), 1)
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    partition_set = isinstance(strategy.get("rollingUpdate"), dict)
    partition = int_of((strategy.get("rollingUpdate") or {}).get("partition"), 0)
    cur_replicas = int_of((sts.get("status") or {}).get("currentReplicas"), 0)
    monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    update_name = revs.update["metadata"]["name"]
    pods = {_ordinal(p, name): p for p in ctl.owned(sts, "/pods")}
    replicas: list[dict[str, Any] | None] = [pods.get(i) for i in range(want)]
    condemned = sorted((i for i in pods if i >= want), reverse=True)

    # Living replicas in ordinal order; OrderedReady stops at the first that is not Running and Ready.
    for i in range(want):
        pod = replicas[i]
        if pod is not None and not terminating(pod) and not active(pod):
            _delete(ctl, sts, pod)  # a failed / succeeded stateful pod is replaced next round
            if monotonic:
                return
            continue
        if pod is not None and terminating(pod):
            if monotonic:
                return
            continue
        if pod is None:
            # newVersionedStatefulSetPod: ordinals below the partition (or, without one, below
            # status.currentReplicas) are made at the current revision, the rest at the update one.
            old = rolling and ((not partition_set and i < cur_replicas) or (partition_set and i < partition))
            rev = revs.current if old else revs.update
            replicas[i] = _new_pod(ctl, sts, i, history.template_of(rev), rev["metadata"]["name"])
            if monotonic:
                return
            continue
        if monotonic and not ready(pod):
            return

    # Scale down from the highest ordinal, one at a time when ordered.
    first_unhealthy = next((p for p in replicas if p is not None and not ready(p)), None)
    if first_unhealthy is None:
        first_unhealthy = next((pods[i] for i in reversed(condemned) if not ready(pods[i])), None)
    for i in condemned:
        pod = pods[i]
        if terminating(pod):
            if monotonic:
                return
            continue
        if monotonic and not ready(pod) and pod is not first_unhealthy:
            return
        _delete(ctl, sts, pod)
        if monotonic:
            return

    if not rolling:
        return  # OnDelete: pods are replaced at the update revision only once someone deletes them
    for target in range(want - 1, partition - 1, -1):
        pod = replicas[target]
        if pod is None:
            return
        if _rev_of(pod) != update_name and not terminating(pod):
            _delete(ctl, sts, pod)
            return
        if not ready(pod):
            return  # wait for the updated pod to be Running and Ready before the next one


def _status(
    ctl: Controller,
    sts: dict[str, Any],
    pods: list[dict[str, Any]],
    current_rev: str,
    update_rev: str,
    collisions: int,
) -> None:
    meta = sts["metadata"]
    spec = sts.get("spec") or {}
    made = [p for p in pods if _created(p)]
    n_ready = sum(1 for p in made if ready(p))
    settled = [p for p in made if not terminating(p)]
    n_current = sum(1 for p in settled if _rev_of(p) == current_rev)
    n_updated = sum(1 for p in settled if _rev_of(p) == update_rev)
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    if rolling and n_updated == len(made) and n_ready == len(made):
        # completeRollingUpdate: the update revision becomes the current one.
        current_rev, n_current = update_rev, n_updated

    def fn(o: dict[str, Any]) -> None:
        if o["metadata"].get("uid") != meta["uid"]:
            return
        status: dict[str, Any] = {
            "observedGeneration": o["metadata"].get("generation", 1),
            "replicas": len(made),
            "readyReplicas": n_ready,
            "currentReplicas": n_current,
            "updatedReplicas": n_updated,
            "currentRevision": current_rev,
            "updateRevision": update_rev,
            "collisionCount": collisions,
            "availableReplicas": n_ready,
        }
        drop_zero(status, "readyReplicas", "currentReplicas", "updatedReplicas")
        o["status"] = status

    ctl.mutate(SKEY, meta.get("namespace", ""), meta["name"], fn)
