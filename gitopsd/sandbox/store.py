"""The in-memory object store: objects by (storage key, namespace, name), one global resourceVersion.

Stored objects are never mutated after a commit: every write stores a new dict together with its
JSON encoding, so lists and watch events serialize by joining cached bytes (fast) and readers
need no copies. Watchers get events through their own queues; a bounded history of events serves
watches that start from an older resourceVersion (410 Expired when it is older than the history).
"""

from __future__ import annotations

import json
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ApiError

Predicate = Callable[[dict[str, Any]], bool]


def encode(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Entry:
    obj: dict[str, Any]
    raw: bytes
    rv: int


@dataclass(frozen=True)
class Event:
    type: str  # ADDED, MODIFIED, DELETED, BOOKMARK
    storage_key: str
    namespace: str
    name: str
    entry: Entry
    previous: dict[str, Any] | None = None  # the object before a MODIFIED write
    prior: Entry | None = None  # the stored entry this write replaced or removed (list snapshots)

    def line(self) -> bytes:
        return b'{"type":"' + self.type.encode() + b'","object":' + self.entry.raw + b"}\n"


_CLOSED = object()


class Watcher:
    """One open watch: a queue of events filtered by resource, namespace and selectors."""

    def __init__(self, storage_key: str, namespace: str | None, predicate: Predicate | None) -> None:
        self.storage_key = storage_key
        self.namespace = namespace
        self.predicate = predicate
        self._queue: queue.Queue[Any] = queue.Queue()
        self.closed = False

    def wants(self, ev: Event) -> Event | None:
        """The event as this watcher sees it, or None. With a selector, an object that stops
        matching is DELETED for the watcher and one that starts matching is ADDED, as on a real server."""
        if ev.storage_key != self.storage_key:
            return None
        if self.namespace is not None and ev.namespace != self.namespace:
            return None
        if self.predicate is None:
            return ev
        now = self.predicate(ev.entry.obj)
        if ev.type != "MODIFIED" or ev.previous is None:
            return ev if now else None
        before = self.predicate(ev.previous)
        if now and before:
            return ev
        if now:
            return Event("ADDED", ev.storage_key, ev.namespace, ev.name, ev.entry)
        if before:
            return Event("DELETED", ev.storage_key, ev.namespace, ev.name, ev.entry)
        return None

    def offer(self, ev: Event) -> None:
        self._queue.put(ev)

    def close(self) -> None:
        self.closed = True
        self._queue.put(_CLOSED)

    def next(self, timeout: float) -> Event | None:
        """The next event; None on timeout. Raises EOFError once closed."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _CLOSED:
            raise EOFError
        return item  # type: ignore[no-any-return]


Key = tuple[str, str, str]  # (storage key, namespace, name)


class Store:
    def __init__(self, history: int = 50_000) -> None:
        self.lock = threading.RLock()
        self._data: dict[str, dict[str, dict[str, Entry]]] = {}
        self._rv = 1
        self._history: deque[Event] = deque(maxlen=history)
        self._history_floor = 1  # events with rv > floor are all in the history
        self._watchers: set[Watcher] = set()
        self._owned: dict[str, set[Key]] = {}  # owner uid -> dependents
        self.listeners: list[Callable[[Event], None]] = []

    # -- reads --------------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, skey: str, namespace: str, name: str) -> Entry | None:
        with self.lock:
            return self._data.get(skey, {}).get(namespace, {}).get(name)

    def list_entries(self, skey: str, namespace: str | None) -> tuple[list[Entry], int]:
        """Entries sorted by (namespace, name), and the store's resourceVersion at that moment."""
        with self.lock:
            by_ns = self._data.get(skey, {})
            if namespace is not None:
                spaces = [namespace] if namespace in by_ns else []
            else:
                spaces = sorted(by_ns)
            out: list[Entry] = []
            for ns in spaces:
                names = by_ns[ns]
                out.extend(names[n] for n in sorted(names))
            return out, self._rv

    def count(self, skey: str, namespace: str) -> int:
        with self.lock:
            return len(self._data.get(skey, {}).get(namespace, {}))

    def namespaces_with_objects(self, namespace: str) -> list[tuple[str, str]]:
        """(storage key, name) of every object in a namespace."""
        with self.lock:
            return [(skey, name) for skey, by_ns in self._data.items() for name in by_ns.get(namespace, {})]

    def dependents(self, uid: str) -> list[Key]:
        with self.lock:
            return sorted(self._owned.get(uid, ()))

    # -- writes -------------------------------------------------------------------------------
    def next_rv(self) -> int:
        with self.lock:
            self._rv += 1
            return self._rv

    def put(self, skey: str, namespace: str, name: str, obj: dict[str, Any]) -> Entry:
        """Commit ``obj`` (the store owns it from now on) under a new resourceVersion."""
        with self.lock:
            rv = self.next_rv()
            obj.setdefault("metadata", {})["resourceVersion"] = str(rv)
            entry = Entry(obj, encode(obj), rv)
            by_name = self._data.setdefault(skey, {}).setdefault(namespace, {})
            old = by_name.get(name)
            by_name[name] = entry
            key = (skey, namespace, name)
            if old is not None:
                self._unindex_owners(old.obj, key)
            self._index_owners(obj, key)
            if old is None:
                self._emit(Event("ADDED", skey, namespace, name, entry))
            else:
                self._emit(Event("MODIFIED", skey, namespace, name, entry, old.obj, old))
            return entry

    def remove(self, skey: str, namespace: str, name: str) -> Entry | None:
        with self.lock:
            by_ns = self._data.get(skey, {})
            old = by_ns.get(namespace, {}).pop(name, None)
            if old is None:
                return None
            if not by_ns[namespace]:
                del by_ns[namespace]
            self._unindex_owners(old.obj, (skey, namespace, name))
            rv = self.next_rv()
            # The DELETED event carries the object at the deletion's resourceVersion.
            gone = dict(old.obj)
            gone["metadata"] = {**old.obj.get("metadata", {}), "resourceVersion": str(rv)}
            entry = Entry(gone, encode(gone), rv)
            self._emit(Event("DELETED", skey, namespace, name, entry, prior=old))
            return entry

    def _index_owners(self, obj: dict[str, Any], key: Key) -> None:
        for ref in obj.get("metadata", {}).get("ownerReferences") or ():
            if isinstance(ref, dict) and ref.get("uid"):
                self._owned.setdefault(str(ref["uid"]), set()).add(key)

    def _unindex_owners(self, obj: dict[str, Any], key: Key) -> None:
        for ref in obj.get("metadata", {}).get("ownerReferences") or ():
            if isinstance(ref, dict) and ref.get("uid"):
                deps = self._owned.get(str(ref["uid"]))
                if deps is not None:
                    deps.discard(key)
                    if not deps:
                        del self._owned[str(ref["uid"])]

    def _emit(self, ev: Event) -> None:
        if len(self._history) == self._history.maxlen:
            self._history_floor = self._history[0].entry.rv
        self._history.append(ev)
        for w in self._watchers:
            seen = w.wants(ev)
            if seen is not None:
                w.offer(seen)
        for listener in self.listeners:
            listener(ev)

    @property
    def history_floor(self) -> int:
        """Every event after this resourceVersion is still in the bounded history."""
        return self._history_floor

    def events_since(self, rv: int) -> list[Event] | None:
        """The events after ``rv``, newest last; None when some have left the history already."""
        with self.lock:
            if rv < self._history_floor:
                return None
            out: list[Event] = []
            for ev in reversed(self._history):
                if ev.entry.rv <= rv:
                    break
                out.append(ev)
            out.reverse()
            return out

    # -- watches ------------------------------------------------------------------------------
    def watch(
        self,
        skey: str,
        namespace: str | None,
        predicate: Predicate | None,
        since: int | None,
        initial: bool,
    ) -> Watcher:
        """Open a watch. ``since``: replay events after that resourceVersion; ``initial``: start
        with a synthetic ADDED per current object (resourceVersion 0 or unset)."""
        w = Watcher(skey, namespace, predicate)
        with self.lock:
            if initial:
                entries, _ = self.list_entries(skey, namespace)
                for e in entries:
                    if predicate is None or predicate(e.obj):
                        meta = e.obj.get("metadata", {})
                        w.offer(Event("ADDED", skey, meta.get("namespace", ""), meta.get("name", ""), e))
            elif since is not None:
                if since < self._history_floor:
                    raise ApiError(
                        410, f"too old resource version: {since} ({self._history_floor})", "Expired"
                    )
                for ev in self._history:
                    if ev.entry.rv > since:
                        seen = w.wants(ev)
                        if seen is not None:
                            w.offer(seen)
            self._watchers.add(w)
        return w

    def unwatch(self, w: Watcher) -> None:
        with self.lock:
            self._watchers.discard(w)

    def close_watchers(self) -> None:
        with self.lock:
            for w in self._watchers:
                w.close()
            self._watchers.clear()
