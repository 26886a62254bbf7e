"""The controller manager: one work queue, one worker thread, timers, and the store plumbing.

Store events only enqueue keys (listeners fire under the store lock); the worker reconciles one
key at a time, level-triggered, reading the current object from the store, as real controllers
work from their informer caches. A change to a pod (or ReplicaSet) also enqueues its controller
(the owner with ``controller: true``), as the real controllers' pod event handlers do. Controllers
create objects through the API's internal create and delete pods through the normal API delete
path, so graceful deletion applies to what they delete.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from ..api import Api, Request
from ..errors import ApiError
from ..resources import Registry, ResourceType
from ..store import Event
from . import daemonset, deployment, job, misc, namespace, replicaset, replicationcontroller, statefulset
from .common import MANAGER, OWNER_KINDS, controller_of
from .events import Recorder
from .kubelet import Kubelet

log = logging.getLogger(__name__)

Key = tuple[str, str, str]  # (handler, namespace, name)


class Controller:
    def __init__(self, api: Api, registry: Registry, ready_delay: float, ca_pem: bytes = b"") -> None:
        self.api = api
        self.registry = registry
        self.ready_delay = max(0.0, float(ready_delay))
        self.ca_pem = ca_pem
        self.events = Recorder(api)
        self.kubelet = Kubelet(self)
        self.memory: dict[str, Any] = {}  # per-object controller memory (uid -> value), e.g. deadlines
        self._queue: queue.Queue[Key | None] = queue.Queue()
        self._pending: set[Key] = set()
        self._pending_lock = threading.Lock()
        self._timers: list[tuple[float, int, Key]] = []
        self._timers_lock = threading.Lock()
        self._seq = itertools.count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sandbox-controller", daemon=True)
        self._handlers: dict[str, Callable[[Controller, str, str], None]] = {
            "apps/deployments": deployment.sync,
            "apps/replicasets": replicaset.sync,
            "/replicationcontrollers": replicationcontroller.sync,
            "apps/statefulsets": statefulset.sync,
            "apps/daemonsets": daemonset.sync,
            "batch/jobs": job.sync,
            "/namespaces": namespace.sync,
            "/services": misc.sync_service,
            "kubelet": lambda ctl, ns, name: ctl.kubelet.sync(ns, name),
        }
        api.on_event(self._on_event)

    def start(self) -> None:
        # Objects that exist before the controllers start (the system namespaces) get synced too.
        for skey in self._handlers:
            if skey == "kubelet":
                continue
            entries, _ = self.api.store.list_entries(skey, None)
            for e in entries:
                meta = e.obj.get("metadata") or {}
                self.enqueue(skey, meta.get("namespace", ""), meta.get("name", ""))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.put(None)
        self._thread.join(timeout=5)

    # -- queue --------------------------------------------------------------------------------
    def enqueue(self, handler: str, ns: str, name: str) -> None:
        key = (handler, ns, name)
        with self._pending_lock:
            if key in self._pending:
                return
            self._pending.add(key)
        self._queue.put(key)

    def later(self, delay: float, handler: str, ns: str, name: str) -> None:
        with self._timers_lock:
            heapq.heappush(
                self._timers, (time.monotonic() + max(delay, 0.0), next(self._seq), (handler, ns, name))
            )
        self._queue.put(("", "", ""))  # wake the worker so it recomputes its timeout

    def _on_event(self, ev: Event) -> None:
        skey = ev.storage_key
        obj = ev.entry.obj
        meta = obj.get("metadata") or {}
        if skey in self._handlers:
            self.enqueue(skey, ev.namespace, ev.name)
        if skey == "/pods":
            if ev.type == "DELETED":
                self.kubelet.forget(str(meta.get("uid", "")))
            else:
                self.enqueue("kubelet", ev.namespace, ev.name)
        elif skey in ("/serviceaccounts", "/configmaps") and ev.type == "DELETED":
            if ev.name in ("default", "kube-root-ca.crt"):
                self.enqueue("/namespaces", "", ev.namespace)
        elif ev.type == "DELETED" and meta.get("uid"):
            self.memory.pop(str(meta["uid"]), None)
        ref = controller_of(obj)
        if ref is not None and ref.get("kind") in OWNER_KINDS:
            self.enqueue(OWNER_KINDS[str(ref["kind"])], ev.namespace, str(ref.get("name", "")))

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = 0.5
            with self._timers_lock:
                if self._timers:
                    timeout = max(0.0, min(timeout, self._timers[0][0] - time.monotonic()))
            try:
                key = self._queue.get(timeout=timeout)
            except queue.Empty:
                key = None
            if self._stop.is_set():
                return
            due: list[Key] = []
            with self._timers_lock:
                while self._timers and self._timers[0][0] <= time.monotonic():
                    due.append(heapq.heappop(self._timers)[2])
            for k in due:
                self.enqueue(*k)
            if key is None or not key[0]:
                continue
            with self._pending_lock:
                self._pending.discard(key)
            handler = self._handlers.get(key[0])
            if handler is None:
                continue
            try:
                handler(self, key[1], key[2])
            except Exception:  # a simulated controller must never die of one odd object
                log.exception("sandbox controller step failed for %s %s/%s", *key)

    # -- store access for the kind modules ----------------------------------------------------
    def rt(self, skey: str) -> ResourceType:
        return self.registry.types_for_storage(skey)[0]

    def get(self, skey: str, ns: str, name: str) -> dict[str, Any] | None:
        entry = self.api.store.get(skey, ns, name)
        return entry.obj if entry is not None else None

    def owned(self, owner: dict[str, Any], skey: str) -> list[dict[str, Any]]:
        """Objects under ``skey`` whose controller ownerReference is ``owner``."""
        uid = owner["metadata"]["uid"]
        out = []
        for dskey, dns, dname in self.api.store.dependents(uid):
            if dskey != skey:
                continue
            obj = self.get(dskey, dns, dname)
            ref = controller_of(obj) if obj is not None else None
            if obj is not None and ref is not None and ref.get("uid") == uid:
                out.append(obj)
        return out

    def owner_of(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        ref = controller_of(obj)
        if ref is None or ref.get("kind") not in OWNER_KINDS:
            return None
        found = self.get(
            OWNER_KINDS[str(ref["kind"])],
            (obj.get("metadata") or {}).get("namespace", ""),
            str(ref.get("name", "")),
        )
        if found is None or found["metadata"].get("uid") != ref.get("uid"):
            return None
        return found

    def create(self, skey: str, ns: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        entry = self.api.create_internal(self.rt(skey), ns, obj, MANAGER)
        return entry.obj if entry is not None else None

    def mutate(
        self, skey: str, ns: str, name: str, fn: Callable[[dict[str, Any]], None]
    ) -> dict[str, Any] | None:
        entry = self.api.mutate(self.rt(skey), ns, name, fn)
        return entry.obj if entry is not None else None

    def delete(self, skey: str, ns: str, name: str) -> bool:
        """Delete through the API's own delete path (graceful deletion and GC apply)."""
        req = Request(
            "DELETE", self.rt(skey), ns, name, user_agent=MANAGER, query={"propagationPolicy": "Background"}
        )
        try:
            self.api.delete(req)
        except ApiError as err:
            if err.code != 404:
                log.warning("sandbox controller could not delete %s %s/%s: %s", skey, ns, name, err)
            return False
        return True
