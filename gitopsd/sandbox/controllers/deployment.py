"""The Deployment controller: ReplicaSets per pod template, rolling updates, Recreate, status.

The ReplicaSet whose template equals the Deployment's (ignoring ``pod-template-hash``) is the
new one: it is created as ``<deployment>-<hash>`` or reused when the template returns to an
earlier one, and carries ``deployment.kubernetes.io/revision`` (bumped past the others, the old
number kept in ``revision-history``). RollingUpdate scales the new ReplicaSet up within
``maxSurge`` and the old ones down while ``maxUnavailable`` allows, step by step as pods become
ready; Recreate scales the old ones to zero and waits for their pods to go before scaling up.
Status and the Available / Progressing conditions follow the real controller's calculation; a
rollout without progress for ``progressDeadlineSeconds`` (or, under the sandbox annotation
``rollout-result: fail``, for the ready delay) gets ProgressDeadlineExceeded.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .common import (
    READY_DELAY,
    ROLLOUT_RESULT,
    annotations_of,
    deep,
    drop_zero,
    int_of,
    now_iso,
    owner_ref,
    says_fail,
    scaled,
    seconds,
    set_condition,
    template_hash,
)
from .pods import active

if TYPE_CHECKING:
    from .manager import Controller

SKEY = "apps/deployments"
RS = "apps/replicasets"
COMPONENT = "deployment-controller"
REVISION = "deployment.kubernetes.io/revision"
HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX = "deployment.kubernetes.io/max-replicas"
_NOT_COPIED = {REVISION, HISTORY, DESIRED, MAX, "kubectl.kubernetes.io/last-applied-configuration"}


def _revision(rs: dict[str, Any]) -> int:
    try:
        return int(annotations_of(rs).get(REVISION, "0"))
    except ValueError:
        return 0


def _without_hash(template: Any) -> Any:
    t = deep(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop("pod-template-hash", None)
        if not labels:
            del t["metadata"]["labels"]
    if isinstance(t.get("metadata"), dict) and not t["metadata"]:
        del t["metadata"]
    return t


def _spec_replicas(rs: dict[str, Any]) -> int:
    return int_of((rs.get("spec") or {}).get("replicas"), 0)


def _st(rs: dict[str, Any], key: str) -> int:
    return int_of((rs.get("status") or {}).get(key), 0)


def _limits(dep: dict[str, Any], desired: int) -> tuple[int, int]:
    ru = ((dep.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    surge = scaled(ru.get("maxSurge", "25%"), desired, True, 1)
    unavailable = scaled(ru.get("maxUnavailable", "25%"), desired, False, 0)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


class _Sync:
    def __init__(self, ctl: Controller, dep: dict[str, Any]) -> None:
        self.ctl = ctl
        self.dep = dep
        self.meta = dep["metadata"]
        self.ns = self.meta.get("namespace", "")
        self.spec = dep.get("spec") or {}
        self.desired = int_of(self.spec.get("replicas"), 1)
        self.created_new = False

    def scale(self, rs: dict[str, Any], to: int) -> dict[str, Any]:
        was = _spec_replicas(rs)
        surge, _ = _limits(self.dep, self.desired)
        ann = {DESIRED: str(self.desired), MAX: str(self.desired + surge)}
        if was == to and all(annotations_of(rs).get(k) == v for k, v in ann.items()):
            return rs

        def fn(o: dict[str, Any]) -> None:
            o.setdefault("spec", {})["replicas"] = to
            o["metadata"].setdefault("annotations", {}).update(ann)
            if was != to:
                o["metadata"]["generation"] = int(o["metadata"].get("generation", 1)) + 1

        out = self.ctl.mutate(RS, self.ns, rs["metadata"]["name"], fn) or rs
        if was != to:
            way = "up" if to > was else "down"
            self.ctl.events.record(
                self.dep,
                "ScalingReplicaSet",
                f"Scaled {way} replica set {rs['metadata']['name']} from {was} to {to}",
                COMPONENT,
            )
        return out

    def new_replicaset(self, olds: list[dict[str, Any]], initial: int) -> dict[str, Any] | None:
        template = deep(self.spec.get("template") or {})
        collisions = int_of((self.dep.get("status") or {}).get("collisionCount"), 0)
        h = template_hash(template, collisions)
        name = f"{self.meta['name']}-{h}"
        template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        selector = deep(self.spec.get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = h
        surge, _ = _limits(self.dep, self.desired)
        ann = {k: v for k, v in annotations_of(self.dep).items() if k not in _NOT_COPIED}
        ann.update(
            {
                REVISION: str(max((_revision(r) for r in olds), default=0) + 1),
                DESIRED: str(self.desired),
                MAX: str(self.desired + surge),
            }
        )
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": self.ns,
                "labels": dict(template["metadata"]["labels"]),
                "annotations": ann,
                "ownerReferences": [owner_ref("apps/v1", "Deployment", self.meta)],
            },
            "spec": {
                "replicas": initial,
                "minReadySeconds": int_of(self.spec.get("minReadySeconds"), 0),
                "selector": selector,
                "template": template,
            },
        }
        created = self.ctl.create(RS, self.ns, rs)
        if created is None:
            # A name taken by something else: count the collision and try another hash next time.
            def bump(o: dict[str, Any]) -> None:
                o.setdefault("status", {})["collisionCount"] = collisions + 1

            self.ctl.mutate(SKEY, self.ns, self.meta["name"], bump)
            return None
        self.created_new = True
        if initial:
            self.ctl.events.record(
                self.dep, "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {initial}", COMPONENT
            )
        return created

    def promote(self, rs: dict[str, Any], olds: list[dict[str, Any]]) -> dict[str, Any]:
        """An earlier ReplicaSet that is new again gets the next revision (old one in history)."""
        top = max((_revision(r) for r in olds), default=0)
        mine = _revision(rs)
        if mine > top:
            return rs

        def fn(o: dict[str, Any]) -> None:
            ann = o["metadata"].setdefault("annotations", {})
            if mine:
                ann[HISTORY] = ",".join(x for x in (ann.get(HISTORY, ""), str(mine)) if x)
            ann[REVISION] = str(top + 1)

        return self.ctl.mutate(RS, self.ns, rs["metadata"]["name"], fn) or rs


def sync(ctl: Controller, ns: str, name: str) -> None:
    dep = ctl.get(SKEY, ns, name)
    if dep is None or dep["metadata"].get("deletionTimestamp"):
        return
    s = _Sync(ctl, dep)
    rss = ctl.owned(dep, RS)
    want = _without_hash(s.spec.get("template"))
    new = next((r for r in rss if _without_hash((r.get("spec") or {}).get("template")) == want), None)
    olds = [r for r in rss if r is not new]
    paused = s.spec.get("paused") is True
    recreate = ((s.spec.get("strategy") or {}).get("type")) == "Recreate"
    if new is None and not paused:
        surge, _ = _limits(dep, s.desired)
        if recreate:
            initial = 0
        else:
            total = sum(_spec_replicas(r) for r in olds)
            initial = max(0, min(s.desired, s.desired + surge - total))
        new = s.new_replicaset(olds, initial)
        if new is None:
            ctl.later(0.05, SKEY, ns, name)
            return
    elif new is not None:
        new = s.promote(new, olds)
    if new is not None and not paused:
        if recreate:
            new = _recreate(s, new, olds)
        else:
            new = _rolling(s, new, olds)
        _cleanup(s, olds)
    _status(s, new, ctl.owned(dep, RS))


def _recreate(s: _Sync, new: dict[str, Any], olds: list[dict[str, Any]]) -> dict[str, Any]:
    for i, rs in enumerate(olds):
        if _spec_replicas(rs):
            olds[i] = s.scale(rs, 0)
    if any(active(p) for rs in olds for p in s.ctl.owned(rs, "/pods")):
        return new  # old pods still running: Recreate waits until they are gone
    return s.scale(new, s.desired)


def _rolling(s: _Sync, new: dict[str, Any], olds: list[dict[str, Any]]) -> dict[str, Any]:
    surge, unavailable = _limits(s.dep, s.desired)
    olds_live = [r for r in olds if _spec_replicas(r) > 0]
    if not olds_live:
        return s.scale(new, s.desired)  # nothing to replace: a plain scale
    current = _spec_replicas(new)
    if current > s.desired:
        new = s.scale(new, s.desired)
    elif current < s.desired:
        total = current + sum(_spec_replicas(r) for r in olds_live)
        room = s.desired + surge - total
        if room > 0:
            new = s.scale(new, min(s.desired, current + room))
    # Scale old ReplicaSets down as far as availability allows (oldest first).
    min_available = s.desired - unavailable
    all_pods = _spec_replicas(new) + sum(_spec_replicas(r) for r in olds_live)
    new_unavailable = max(_spec_replicas(new) - _st(new, "availableReplicas"), 0)
    budget = all_pods - min_available - new_unavailable
    olds_live.sort(key=lambda r: (_revision(r), str(r["metadata"].get("creationTimestamp", ""))))
    if budget > 0:
        # First the old pods that are not available anyway (they hold no capacity).
        for i, rs in enumerate(olds_live):
            if budget <= 0:
                break
            unhealthy = max(_spec_replicas(rs) - _st(rs, "availableReplicas"), 0)
            cut = min(unhealthy, budget)
            if cut:
                olds_live[i] = s.scale(rs, _spec_replicas(rs) - cut)
                budget -= cut
    available = _st(new, "availableReplicas") + sum(_st(r, "availableReplicas") for r in olds_live)
    room = min(available - min_available, budget)
    for rs in olds_live:
        if room <= 0:
            break
        cut = min(_spec_replicas(rs), room)
        if cut:
            s.scale(rs, _spec_replicas(rs) - cut)
            room -= cut
    return new


def _cleanup(s: _Sync, olds: list[dict[str, Any]]) -> None:
    """Delete old, empty ReplicaSets beyond revisionHistoryLimit (oldest first)."""
    limit = int_of(s.spec.get("revisionHistoryLimit"), 10)
    fresh = [s.ctl.get(RS, s.ns, r["metadata"]["name"]) for r in olds]
    empty = [r for r in fresh if r is not None and not _spec_replicas(r) and not _st(r, "replicas")]
    empty.sort(key=_revision)
    for rs in empty[: max(len(empty) - limit, 0)]:
        s.ctl.delete(RS, s.ns, rs["metadata"]["name"])


def _status(s: _Sync, new: dict[str, Any] | None, rss: list[dict[str, Any]]) -> None:
    ctl, dep = s.ctl, s.dep
    uid = dep["metadata"]["uid"]
    _, unavailable = _limits(dep, s.desired)
    total = sum(_spec_replicas(r) for r in rss)
    available = sum(_st(r, "availableReplicas") for r in rss)
    counts = {
        "replicas": sum(_st(r, "replicas") for r in rss),
        "updatedReplicas": _st(new, "replicas") if new is not None else 0,
        "readyReplicas": sum(_st(r, "readyReplicas") for r in rss),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
    }
    rs_name = new["metadata"]["name"] if new is not None else ""
    revision = str(_revision(new)) if new is not None else None
    complete = (
        new is not None
        and counts["updatedReplicas"] == s.desired
        and counts["replicas"] == s.desired
        and available == s.desired
        and _spec_replicas(new) == s.desired
    )
    fail = says_fail(annotations_of(dep).get(ROLLOUT_RESULT))
    deadline = float(int_of(s.spec.get("progressDeadlineSeconds"), 600))
    if fail:
        deadline = seconds(annotations_of(dep).get(READY_DELAY), ctl.ready_delay)
    memory = ctl.memory.setdefault(uid, {"progress": time.monotonic(), "counts": None})
    if not isinstance(memory, dict):
        memory = ctl.memory[uid] = {"progress": time.monotonic(), "counts": None}
    progressed = (
        memory["counts"] != counts or s.created_new or memory.get("gen") != dep["metadata"].get("generation")
    )
    if progressed:
        memory.update(progress=time.monotonic(), counts=dict(counts), gen=dep["metadata"].get("generation"))
    stalled = time.monotonic() - memory["progress"]
    now = now_iso()
    paused = s.spec.get("paused") is True
    if not complete and not paused and stalled < deadline:
        ctl.later(deadline - stalled + 0.01, SKEY, s.ns, dep["metadata"]["name"])
    if available >= s.desired - unavailable:
        avail = ("True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
    else:
        avail = ("False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
    if paused:
        prog = ("Unknown", "DeploymentPaused", "Deployment is paused")
    elif complete:
        prog = ("True", "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.')
    elif stalled >= deadline:
        prog = ("False", "ProgressDeadlineExceeded", f'ReplicaSet "{rs_name}" has timed out progressing.')
    elif s.created_new:
        prog = ("True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"')
    else:
        prog = ("True", "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.')

    def fn(o: dict[str, Any]) -> None:
        if o["metadata"].get("uid") != uid:
            return
        if revision is not None:
            o["metadata"].setdefault("annotations", {})[REVISION] = revision
        old = o.get("status") or {}
        status: dict[str, Any] = {"observedGeneration": o["metadata"].get("generation", 1), **counts}
        if old.get("collisionCount"):
            status["collisionCount"] = old["collisionCount"]
        status["conditions"] = [c for c in old.get("conditions") or [] if isinstance(c, dict)]
        set_condition(status, "Available", *avail, now)
        set_condition(status, "Progressing", *prog, now, touch=progressed and not paused)
        drop_zero(
            status, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"
        )
        o["status"] = status

    ctl.mutate(SKEY, s.ns, dep["metadata"]["name"], fn)
