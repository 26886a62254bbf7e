"""Events the simulated controllers record, shaped as the real recorders write them.

kube-controller-manager and the kubelet use the core v1 recorder (``source.component``,
``firstTimestamp``/``lastTimestamp``, ``count``); the scheduler uses the events.k8s.io/v1 recorder
(``eventTime``, ``reportingController``, ``action``, no ``source``). Both land in the one event
store, so ``kubectl get events``, ``kubectl events`` and ``describe`` show them all. A repeat of the
same (object, reason, message) bumps ``count`` on the existing event, as the core recorder's
aggregation does. Recorded events expire after ``TTL`` seconds, as with the API server's default
``--event-ttl=1h`` (etcd drops them; no deletion request is involved).
"""

from __future__ import annotations

import collections
import datetime
import threading
import time
from typing import TYPE_CHECKING, Any

from .common import NODE_NAME

if TYPE_CHECKING:
    from ..api import Api

TTL = 3600.0


def _micro_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    def __init__(self, api: Api) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str], str] = {}  # (uid, reason, message) -> event name
        self._made: collections.deque[tuple[float, str, str]] = collections.deque()  # (time, ns, name)

    def _expire(self) -> None:
        cutoff = time.monotonic() - TTL
        while self._made and self._made[0][0] < cutoff:
            _, ns, name = self._made.popleft()
            self.api.store.remove("/events", ns, name)

    def _created(self, ns: str, name: str) -> None:
        with self._lock:
            self._made.append((time.monotonic(), ns, name))
            self._expire()

    def _ref(self, obj: dict[str, Any], field_path: str) -> dict[str, Any]:
        meta = obj.get("metadata") or {}
        ref = {
            "kind": obj.get("kind", ""),
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if field_path:
            ref["fieldPath"] = field_path
        return ref

    def record(
        self,
        obj: dict[str, Any],
        reason: str,
        message: str,
        component: str,
        etype: str = "Normal",
        field_path: str = "",
    ) -> None:
        """A core v1 event, as record.EventRecorder writes (controllers, kubelet)."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        key = (str(meta.get("uid", "")), reason, message)
        rt = self.api.registry.types_for_storage("/events")[0]
        with self._lock:
            existing = self._seen.get(key)
        if existing is not None:
            now = _now()

            def bump(ev: dict[str, Any]) -> None:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = now

            if self.api.mutate(rt, ns, existing, bump) is not None:
                return
        now = _now()
        source: dict[str, str] = {"component": component}
        if component == "kubelet":
            source["host"] = NODE_NAME
        name = f"{meta.get('name', 'object')}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": self._ref(obj, field_path),
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": etype,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": NODE_NAME if component == "kubelet" else "",
        }
        if self.api.create_internal(rt, ns, event, component) is not None:
            self._created(ns, name)
            with self._lock:
                if len(self._seen) > 20_000:  # bounded: forget the oldest aggregation keys
                    self._seen.clear()
                self._seen[key] = name

    def record_new(
        self,
        obj: dict[str, Any],
        reason: str,
        action: str,
        note: str,
        controller: str,
        instance: str,
        etype: str = "Normal",
    ) -> None:
        """An events.k8s.io/v1-style event (the scheduler's), seen through core v1."""
        meta = obj.get("metadata") or {}
        ns = meta.get("namespace") or "default"
        rt = self.api.registry.types_for_storage("/events")[0]
        name = f"{meta.get('name', 'object')}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": self._ref(obj, ""),
            "reason": reason,
            "message": note,
            "source": {},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "type": etype,
            "eventTime": _micro_now(),
            "action": action,
            "reportingComponent": controller,
            "reportingInstance": instance,
        }
        if self.api.create_internal(rt, ns, event, controller) is not None:
            self._created(ns, name)
