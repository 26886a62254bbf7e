"""Graceful deletion, as a real kube-apiserver's generic registry does it.

``api.py`` calls in here on its delete and write paths; the asynchronous side (garbage collector,
namespace controller, the kubelet's end of a pod's grace period) lives in ``gc.py``.

What a real API server does, and this module with it:

- DELETE of an object with ``metadata.finalizers`` (or one that the propagation policy gives one:
  ``foregroundDeletion``, ``orphan``) does not remove it: it sets ``deletionTimestamp`` and
  ``deletionGracePeriodSeconds`` (a MODIFIED event) and answers with the object. It disappears (DELETED)
  once an update or patch has removed the last finalizer.
- Once an object is being deleted, no update may add a finalizer (422), and its deletion fields stay.
- Pods are deleted gracefully: ``deletionTimestamp`` is now + the grace period (the request's
  ``gracePeriodSeconds``, else ``spec.terminationGracePeriodSeconds``); the kubelet removes the pod when
  its containers have stopped. A grace period of 0 removes at once; a later, shorter one shortens it.
  Pods never scheduled, or already finished, go at once. The sandbox's kubelet waits the grace period
  times ``grace_scale`` (at most ``max_grace`` seconds), never 0 unless asked.
- Namespaces go ``Terminating`` and refuse new content with 403 until their content is gone.
- The propagation policy's default is the kind's: Background, except batch/v1 Jobs, v1
  ReplicationControllers and the legacy extensions/v1beta1, apps/v1beta1 and apps/v1beta2 kinds, which
  orphan their dependents (kubectl always sends Background explicitly).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ApiError, bad_request
from .resources import ResourceType
from .store import Entry, Store

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
POLICIES = ("Background", "Foreground", "Orphan")
NAMESPACES = "/namespaces"
PODS = "/pods"
_ORPHAN_BY_DEFAULT = frozenset({("batch/v1", "Job"), ("v1", "ReplicationController")})
_LEGACY_GROUP_VERSIONS = frozenset({"extensions/v1beta1", "apps/v1beta1", "apps/v1beta2"})
_FINISHED = ("Succeeded", "Failed")


def _iso(at: datetime.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def terminating(obj: Mapping[str, Any]) -> bool:
    return bool((obj.get("metadata") or {}).get("deletionTimestamp"))


def finalizers(obj: Mapping[str, Any]) -> list[str]:
    value = (obj.get("metadata") or {}).get("finalizers") or []
    return [str(f) for f in value] if isinstance(value, list) else []


def default_policy(rt: ResourceType) -> str:
    if (rt.group_version, rt.kind) in _ORPHAN_BY_DEFAULT or rt.group_version in _LEGACY_GROUP_VERSIONS:
        return "Orphan"
    return "Background"


# What batch/v1 Job's REST.Delete / DeleteCollection warn when the client leaves the propagation to
# that version's default, which orphans the Job's pods.
JOB_ORPHAN_WARNING = (
    "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background "
    "to remove them or set propagationPolicy=Orphan to suppress this warning"
)


def delete_warnings(rt: ResourceType, policy: str | None) -> tuple[str, ...]:
    """The Warning headers of a DELETE whose policy (None: neither propagationPolicy nor
    orphanDependents given) is ``policy``."""
    if policy is None and (rt.group_version, rt.kind) == ("batch/v1", "Job"):
        return (JOB_ORPHAN_WARNING,)
    return ()


def parse_options(query: Mapping[str, str], opts: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """(propagation policy or None for the kind's default, grace period seconds or None) of a DELETE."""
    policy = query.get("propagationPolicy") or opts.get("propagationPolicy")
    orphan = opts.get("orphanDependents")
    if "orphanDependents" in query:
        orphan = query["orphanDependents"] == "true"
    if policy is not None and orphan is not None:
        raise ApiError(422, "orphanDependents and propagationPolicy cannot both be set", "Invalid")
    if policy is None and isinstance(orphan, bool):
        policy = "Orphan" if orphan else "Background"
    if policy is not None and policy not in POLICIES:
        raise bad_request(f"unknown propagationPolicy {policy!r}")
    grace_raw: Any = query.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
    grace: int | None = None
    if grace_raw not in (None, ""):
        try:
            grace = int(grace_raw)
        except (TypeError, ValueError):
            raise bad_request(f"gracePeriodSeconds must be an integer, not {grace_raw!r}") from None
        grace = max(grace, 0)  # a negative grace period means "at once", as on a real server
    return policy, grace


def namespace_terminating(store: Store, namespace: str | None, resource: str, name: str) -> None:
    """403 for new content in a namespace that is being deleted."""
    if not namespace:
        return
    ns = store.get(NAMESPACES, "", namespace)
    if ns is not None and terminating(ns.obj):
        qualified = resource
        raise ApiError(
            403,
            f'{qualified} "{name}" is forbidden: unable to create new content in namespace {namespace} '
            "because it is being terminated",
            "Forbidden",
            {
                "name": name,
                "kind": resource.split(".", 1)[0],
                "causes": [
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            },
        )


def carry_over(rt: ResourceType, old: Mapping[str, Any], new: dict[str, Any]) -> None:
    """On an update of an object being deleted: keep its deletion fields, refuse new finalizers."""
    old_meta = old.get("metadata") or {}
    meta = new.setdefault("metadata", {})
    if not old_meta.get("deletionTimestamp"):
        return
    for key in ("deletionTimestamp", "deletionGracePeriodSeconds"):
        if key in old_meta:
            meta[key] = old_meta[key]
    added = [f for f in finalizers(new) if f not in finalizers(old)]
    if added:
        listed = ", ".join(f'"{f}"' for f in added)
        message = (
            "Forbidden: no new finalizers can be added if the object is being deleted, "
            f"found new finalizers []string{{{listed}}}"
        )
        name = str(meta.get("name", ""))
        details: dict[str, Any] = {
            "name": name,
            "kind": rt.kind,
            "causes": [{"reason": "FieldValueForbidden", "message": message, "field": "metadata.finalizers"}],
        }
        if rt.group:
            details["group"] = rt.group
        raise ApiError(422, f'{rt.kind} "{name}" is invalid: metadata.finalizers: {message}', "Invalid", details)


class Deletion:
    """Deletes objects in the store the way the API server does; call with the store lock held."""

    def __init__(self, store: Store, grace_scale: float = 0.05, max_grace: float = 10.0) -> None:
        self.store = store
        self.grace_scale = grace_scale
        self.max_grace = max_grace
        # Set by the collector: schedule ``fn`` after ``delay`` seconds (the kubelet's end of a grace period).
        self.schedule: Callable[[float, Callable[[], None]], None] | None = None

    def configure(self, grace_scale: float, max_grace: float) -> None:
        self.grace_scale = max(0.0, float(grace_scale))
        self.max_grace = max(0.0, float(max_grace))

    def sandbox_wait(self, grace: int) -> float:
        """How long the sandbox kubelet takes to stop a pod given ``grace`` seconds."""
        return min(grace * self.grace_scale, self.max_grace)

    def _pod_grace(self, obj: Mapping[str, Any], asked: int | None) -> int:
        spec = obj.get("spec") or {}
        phase = (obj.get("status") or {}).get("phase")
        if phase in _FINISHED or (not spec.get("nodeName") and phase in (None, "", "Pending")):
            return 0  # nothing runs: nothing to wait for
        if asked is not None:
            return asked
        value = spec.get("terminationGracePeriodSeconds", 30)
        return value if isinstance(value, int) and value >= 0 else 30

    def delete(self, rt: ResourceType, entry: Entry, policy: str | None, grace: int | None) -> Entry | None:
        """Delete ``entry``: None once it is gone, else the stored object, now being deleted."""
        skey = rt.storage_key
        obj = json.loads(entry.raw)
        meta = obj["metadata"]
        ns, name = meta.get("namespace", "") if rt.namespaced else "", meta["name"]
        policy = policy or default_policy(rt)
        now = datetime.datetime.now(datetime.UTC)
        if terminating(obj):
            if skey == PODS and grace is not None and grace < int(meta.get("deletionGracePeriodSeconds") or 0):
                return self._start_grace(obj, ns, name, grace, now)
            return entry
        fins = [f for f in finalizers(obj) if f not in (FOREGROUND, ORPHAN)]
        if policy == "Foreground":
            fins.append(FOREGROUND)
        elif policy == "Orphan":
            fins.append(ORPHAN)
        pod_grace = self._pod_grace(obj, grace) if skey == PODS else 0
        if skey == NAMESPACES:
            meta["deletionTimestamp"] = _iso(now)
            meta["deletionGracePeriodSeconds"] = 0
            obj.setdefault("status", {})["phase"] = "Terminating"
            if fins:
                meta["finalizers"] = fins
            return self.store.put(skey, ns, name, obj)
        if not fins and pod_grace == 0:
            self.store.remove(skey, ns, name)
            return None
        if fins:
            meta["finalizers"] = fins
        else:
            meta.pop("finalizers", None)
        if skey == PODS and pod_grace > 0:
            return self._start_grace(obj, ns, name, pod_grace, now)
        meta["deletionTimestamp"] = _iso(now)
        meta["deletionGracePeriodSeconds"] = 0
        return self.store.put(skey, ns, name, obj)

    def _start_grace(
        self, obj: dict[str, Any], ns: str, name: str, grace: int, now: datetime.datetime
    ) -> Entry | None:
        meta = obj["metadata"]
        meta["deletionTimestamp"] = _iso(now + datetime.timedelta(seconds=grace))
        meta["deletionGracePeriodSeconds"] = grace
        if grace == 0 and not finalizers(obj):
            self.store.remove(PODS, ns, name)
            return None
        entry = self.store.put(PODS, ns, name, obj)
        uid = meta.get("uid")
        if grace > 0 and self.schedule is not None:
            self.schedule(self.sandbox_wait(grace), lambda: self._grace_over(ns, name, uid, grace))
        return entry

    def _grace_over(self, ns: str, name: str, uid: Any, grace: int) -> None:
        """The kubelet: the pod's containers have stopped; it deletes the pod with grace period 0."""
        with self.store.lock:
            entry = self.store.get(PODS, ns, name)
            if entry is None or entry.obj["metadata"].get("uid") != uid:
                return
            if int(entry.obj["metadata"].get("deletionGracePeriodSeconds") or 0) not in (grace, 0):
                return  # shortened meanwhile: that timer decides
            obj = json.loads(entry.raw)
            obj["metadata"]["deletionGracePeriodSeconds"] = 0
            if finalizers(obj):
                if entry.obj["metadata"].get("deletionGracePeriodSeconds") != 0:
                    self.store.put(PODS, ns, name, obj)
                return
            self.store.remove(PODS, ns, name)

    def finish_if_released(self, rt: ResourceType, entry: Entry) -> Entry | None:
        """After a write: an object being deleted whose last finalizer is gone disappears now.
        Returns what remains stored (None once removed)."""
        obj = entry.obj
        if not terminating(obj) or finalizers(obj):
            return entry
        meta = obj["metadata"]
        if rt.storage_key == PODS and int(meta.get("deletionGracePeriodSeconds") or 0) > 0:
            return entry  # the kubelet has not stopped it yet
        if rt.storage_key == NAMESPACES and (obj.get("spec") or {}).get("finalizers"):
            return entry  # the namespace controller finalizes it once it is empty
        self.store.remove(rt.storage_key, meta.get("namespace", "") if rt.namespaced else "", meta["name"])
        return None
