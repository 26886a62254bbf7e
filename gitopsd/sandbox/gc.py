"""The sandbox's garbage collector and namespace controller (what kube-controller-manager does after a DELETE).

Store events only enqueue work (they fire under the store lock); one thread does it, and runs the timers
that end pods' grace periods (``deletion.Deletion`` schedules them). As on a real cluster:

- Background: once every owner a dependent's ``ownerReferences`` name is gone (checked by uid), the
  dependent is deleted; references to owners that are gone are dropped while another owner remains.
  A dependent created pointing only at owners that do not exist is collected too.
- Foreground: an owner holding the ``foregroundDeletion`` finalizer has its dependents deleted
  (in the foreground as well); the finalizer goes once no dependent with ``blockOwnerDeletion`` is left.
- Orphan: the ``orphan`` finalizer is removed after the owner's references are taken out of its dependents.
- A ``Terminating`` namespace has its content deleted (each object with its own finalizers and grace);
  once it is empty its ``spec.finalizers`` are cleared and it disappears.
Owners of kinds the sandbox does not serve count as present (the real collector cannot tell either).
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .deletion import FOREGROUND, NAMESPACES, ORPHAN, Deletion, finalizers, terminating
from .resources import Registry, ResourceType
from .store import Event, Store

log = logging.getLogger(__name__)
CRDS = "apiextensions.k8s.io/customresourcedefinitions"


def _refs(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    value = (obj.get("metadata") or {}).get("ownerReferences") or []
    return [r for r in value if isinstance(r, dict) and r.get("uid")] if isinstance(value, list) else []


class Collector:
    def __init__(self, store: Store, registry: Registry, deletion: Deletion) -> None:
        self.store = store
        self.registry = registry
        self.deletion = deletion
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._timer_lock = threading.Lock()
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-gc", daemon=True)
        deletion.schedule = self.later
        store.listeners.append(self._on_event)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._timer_lock:
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._seq), fn))
        self._queue.put(None)  # wake the loop so it sees the new deadline

    def _on_event(self, ev: Event) -> None:
        if ev.type in ("ADDED", "MODIFIED", "DELETED"):
            self._queue.put(ev)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._timer_lock:
                wait = self._timers[0][0] - time.monotonic() if self._timers else 0.5
            try:
                ev = self._queue.get(timeout=min(max(wait, 0.0), 0.5))
            except queue.Empty:
                ev = None
            try:
                if ev is not None:
                    with self.store.lock:
                        self._handle(ev)
                for fn in self._due():
                    fn()
            except Exception:  # one odd object must not stop the collector
                log.exception("sandbox garbage collector step failed")

    def _due(self) -> list[Callable[[], None]]:
        out = []
        with self._timer_lock:
            while self._timers and self._timers[0][0] <= time.monotonic():
                out.append(heapq.heappop(self._timers)[2])
        return out

    # -- lookups ----------------------------------------------------------------------------------
    def _rt(self, skey: str) -> ResourceType | None:
        types = self.registry.types_for_storage(skey)
        return types[0] if types else None

    def _owner_rt(self, ref: Mapping[str, Any]) -> ResourceType | None:
        api_version, kind = str(ref.get("apiVersion", "")), ref.get("kind")
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        for rt in self.registry.all_types():
            if rt.group == group and rt.kind == kind:
                return rt
        return None

    def _owner(self, ref: Mapping[str, Any], namespace: str) -> tuple[bool, dict[str, Any] | None]:
        """(known kind?, the owner object if it exists with the referenced uid)."""
        rt = self._owner_rt(ref)
        if rt is None:
            return False, None
        entry = self.store.get(rt.storage_key, namespace if rt.namespaced else "", str(ref.get("name", "")))
        if entry is None or entry.obj["metadata"].get("uid") != ref.get("uid"):
            return True, None
        return True, entry.obj

    # -- work -------------------------------------------------------------------------------------
    def _handle(self, ev: Event) -> None:
        obj = ev.entry.obj
        meta = obj.get("metadata") or {}
        if ev.type == "DELETED":
            for key in self.store.dependents(str(meta.get("uid", ""))):
                self._check_dependent(*key)
            for ref in _refs(obj):
                self._check_foreground_owner(ref, ev.namespace)
            if ev.namespace:
                self._namespace(ev.namespace)
            if ev.storage_key == CRDS:
                self._crd_gone(ev.name)
            return
        entry = self.store.get(ev.storage_key, ev.namespace, ev.name)
        if entry is None or entry.obj["metadata"].get("uid") != meta.get("uid"):
            return
        current = entry.obj
        if terminating(current):
            fins = finalizers(current)
            if ORPHAN in fins:
                self._orphan(ev.storage_key, ev.namespace, ev.name, current)
            elif FOREGROUND in fins:
                self._foreground(ev.storage_key, ev.namespace, ev.name, current)
            if ev.storage_key == NAMESPACES:
                self._namespace(ev.name)
        elif ev.type == "ADDED" and _refs(current):
            self._check_dependent(ev.storage_key, ev.namespace, ev.name)

    def _delete(self, skey: str, ns: str, name: str, policy: str) -> None:
        rt = self._rt(skey)
        entry = self.store.get(skey, ns, name)
        if rt is not None and entry is not None:
            self.deletion.delete(rt, entry, policy, None)

    def _write(self, skey: str, ns: str, name: str, obj: dict[str, Any]) -> None:
        entry = self.store.put(skey, ns, name, obj)
        rt = self._rt(skey)
        if rt is not None:
            self.deletion.finish_if_released(rt, entry)

    def _check_dependent(self, skey: str, ns: str, name: str) -> None:
        """Collect a dependent whose owners are all gone; drop references to gone owners otherwise."""
        entry = self.store.get(skey, ns, name)
        if entry is None:
            return
        refs = _refs(entry.obj)
        if not refs:
            return
        alive: list[dict[str, Any]] = []
        dangling: list[dict[str, Any]] = []
        for ref in refs:
            known, owner = self._owner(ref, ns)
            (alive if owner is not None or not known else dangling).append(ref)
        if not dangling:
            return
        if not alive:
            if not terminating(entry.obj):
                self._delete(skey, ns, name, "Background")
            return
        obj = json.loads(entry.raw)
        obj["metadata"]["ownerReferences"] = alive
        self._write(skey, ns, name, obj)

    def _blocking_dependents(self, uid: str) -> list[tuple[str, str, str]]:
        out = []
        for key in self.store.dependents(uid):
            entry = self.store.get(*key)
            if entry is None:
                continue
            if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in _refs(entry.obj)):
                out.append(key)
        return out

    def _foreground(self, skey: str, ns: str, name: str, owner: dict[str, Any]) -> None:
        uid = str(owner["metadata"].get("uid", ""))
        for dskey, dns, dname in self.store.dependents(uid):
            dep = self.store.get(dskey, dns, dname)
            if dep is not None and not terminating(dep.obj):
                self._delete(dskey, dns, dname, "Foreground")
        self._release_foreground(skey, ns, name, uid)

    def _release_foreground(self, skey: str, ns: str, name: str, uid: str) -> None:
        if self._blocking_dependents(uid):
            return
        entry = self.store.get(skey, ns, name)
        if entry is None or FOREGROUND not in finalizers(entry.obj):
            return
        obj = json.loads(entry.raw)
        obj["metadata"]["finalizers"] = [f for f in finalizers(obj) if f != FOREGROUND]
        if not obj["metadata"]["finalizers"]:
            del obj["metadata"]["finalizers"]
        self._write(skey, ns, name, obj)

    def _check_foreground_owner(self, ref: Mapping[str, Any], namespace: str) -> None:
        rt = self._owner_rt(ref)
        if rt is None:
            return
        ns = namespace if rt.namespaced else ""
        entry = self.store.get(rt.storage_key, ns, str(ref.get("name", "")))
        if entry is not None and entry.obj["metadata"].get("uid") == ref.get("uid"):
            if terminating(entry.obj) and FOREGROUND in finalizers(entry.obj):
                self._release_foreground(rt.storage_key, ns, entry.obj["metadata"]["name"], str(ref["uid"]))

    def _orphan(self, skey: str, ns: str, name: str, owner: dict[str, Any]) -> None:
        uid = str(owner["metadata"].get("uid", ""))
        for dskey, dns, dname in self.store.dependents(uid):
            dep = self.store.get(dskey, dns, dname)
            if dep is None:
                continue
            obj = json.loads(dep.raw)
            refs = [r for r in obj["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                obj["metadata"]["ownerReferences"] = refs
            else:
                obj["metadata"].pop("ownerReferences", None)
            self.store.put(dskey, dns, dname, obj)
        entry = self.store.get(skey, ns, name)
        if entry is None:
            return
        obj = json.loads(entry.raw)
        obj["metadata"]["finalizers"] = [f for f in finalizers(obj) if f != ORPHAN]
        if not obj["metadata"]["finalizers"]:
            del obj["metadata"]["finalizers"]
        self._write(skey, ns, name, obj)

    def _namespace(self, name: str) -> None:
        """The namespace controller: empty a terminating namespace, then let it go."""
        entry = self.store.get(NAMESPACES, "", name)
        if entry is None or not terminating(entry.obj):
            return
        content = self.store.namespaces_with_objects(name)
        for skey, oname in content:
            dep = self.store.get(skey, name, oname)
            if dep is not None and not terminating(dep.obj):
                self._delete(skey, name, oname, "Background")
        if self.store.namespaces_with_objects(name):
            return
        obj = json.loads(entry.raw)
        if (obj.get("spec") or {}).get("finalizers"):
            obj["spec"]["finalizers"] = []
            self._write(NAMESPACES, "", name, obj)
        else:
            rt = self._rt(NAMESPACES)
            if rt is not None:
                self.deletion.finish_if_released(rt, entry)

    def _crd_gone(self, name: str) -> None:
        """A CRD released by its last finalizer: its kind is no longer served, its objects go with it
        (a CRD deleted at once is cleaned up by the API call itself)."""
        if self.store.get(CRDS, "", name) is not None:
            return  # created again since: that one is served
        types = self.registry.unregister_crd(name)
        if types:
            entries, _ = self.store.list_entries(types[0].storage_key, None)
            for e in entries:
                meta = e.obj["metadata"]
                self.store.remove(types[0].storage_key, meta.get("namespace", ""), meta["name"])
