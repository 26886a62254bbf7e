"""The live-state cache of each cluster, fed by watches (as Argo CD's cluster cache is).

A refresh compares an application with the live state of the kinds it manages. Listing them from the
API server for every refresh costs one request and a full decode per (kind, namespace) per application,
which is quadratic when many applications share a namespace. Instead, the first comparison that needs a
kind lists it once, cluster-wide, and a watch keeps that copy current from then on (a fresh list when the
watch's resourceVersion has expired, 410). Comparisons then read only the objects they want, from memory:
by name, and through an index of the application named in each object's tracking id.

CachedKubeClient (gitopsd.app.cachedclient) is a KubeClient with that cache inside: reads for comparisons
go through ``lookup`` (gitopsd.engine.live uses it when a client offers it); the answers to its writes are
written into the cache at once, so the comparison right after a sync sees what the sync did without
waiting for the watch. Events, answers and lists are merged in resourceVersion order
(gitopsd.app.livestore), so a late answer never brings back an object the cluster has deleted, and a
hard refresh lists the kinds again (``relist``). Every watch event that is not the echo of our own write is passed to the
listeners (gitopsd.app.livewatch), which refresh the applications concerned within seconds.

While a kind is not being watched successfully (cluster unreachable, a cluster-wide list forbidden by
RBAC, a CRD removed), ``lookup`` answers None and the engine lists from the server as before, so errors
still surface as the comparison's conditions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitopsd.app.livestore import KindStore, ObjKey, meta, obj_key, rv_of, still_exists
from gitopsd.kube.client import KubeClient
from gitopsd.kube.errors import Expired, Forbidden, KubeError, UnknownKind
from gitopsd.logs import fields

log = logging.getLogger("gitopsd.livecache")

KindKey = tuple[str, str]  # (apiVersion, kind)
# (server, event type ADDED|MODIFIED|DELETED, object): called from watch threads.
Listener = Callable[[str, str, dict[str, Any]], None]

# The API server ends a watch after this long; it is resumed from the last resourceVersion seen.
WATCH_SECONDS = 300


@dataclass
class _Kind:
    """The cached objects of one (apiVersion, kind), cluster-wide."""

    api_version: str
    kind: str
    store: KindStore = field(default_factory=KindStore)  # resourceVersion-ordered (gitopsd.app.livestore)
    resource_version: str = ""
    synced: bool = False  # listed, and the watch is (re)connecting or running
    listed: bool = False  # listed at least once: a later list reports what changed in between
    disabled: str = ""  # why this kind is not cached (forbidden, unknown): lookups fall back
    ready: threading.Event = field(default_factory=threading.Event)  # the first list is done (or failed)
    thread: threading.Thread | None = None


@dataclass(frozen=True)
class CacheStats:
    kinds: int
    objects: int
    lists: int
    watch_events: int
    lookups: int
    fallbacks: int


class LiveCache:
    """The watched kinds of one cluster. Thread-safe; objects handed out are shared: never modify them."""

    def __init__(self, client: KubeClient, server: str) -> None:
        self._client = client
        self.server = server
        self._kinds: dict[KindKey, _Kind] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._listeners: list[Listener] = []
        self._counts = {"lists": 0, "watch_events": 0, "lookups": 0, "fallbacks": 0}
        # Objects gitopsd is writing right now → (writes under way, watch events that came meanwhile):
        # the echo of our own write may arrive before the write's answer does.
        self._inflight: dict[tuple[KindKey, ObjKey], tuple[int, list[tuple[str, dict[str, Any]]]]] = {}

    # -- public ------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def stats(self) -> CacheStats:
        with self._lock:
            objects = sum(len(k.store) for k in self._kinds.values())
            return CacheStats(len(self._kinds), objects, **self._counts)

    def watched(self) -> list[KindKey]:
        with self._lock:
            return sorted(k for k, v in self._kinds.items() if v.synced)

    def ensure(self, api_version: str, kind: str, wait: float = 0.0) -> bool:
        """Starts caching a kind (list, then watch) if it is not yet; True when it is ready to answer.

        wait: seconds to wait for the first list (a comparison waits; a hint after a refresh does not)."""
        entry = self._entry(api_version, kind)
        if wait > 0:
            entry.ready.wait(wait)
        with self._lock:
            return entry.synced and not entry.disabled

    def lookup(
        self, api_version: str, kind: str, namespace: str | None, names: Iterable[str], app: str
    ) -> list[dict[str, Any]] | None:
        """Live objects of a kind in ``namespace`` ("" or None: cluster-scoped or everywhere) that are
        named in ``names`` or whose tracking id names ``app``. None when the kind cannot be answered from
        the cache right now (the caller lists from the server instead)."""
        if self._stop.is_set() or not self.ensure(api_version, kind, wait=self._client.timeout * 3):
            with self._lock:
                self._counts["fallbacks"] += 1
            return None
        ns = namespace or ""
        with self._lock:
            self._counts["lookups"] += 1
            entry = self._kinds[(api_version, kind)]
            found: dict[ObjKey, dict[str, Any]] = {}
            for name in names:
                obj = entry.store.get((ns, name))
                if obj is not None:
                    found[(ns, name)] = obj
            for key in entry.store.keys_of_app(app):
                cached = entry.store.get(key)
                if (not ns or key[0] == ns) and key not in found and cached is not None:
                    found[key] = cached
            return list(found.values())

    def objects(
        self, api_version: str, kind: str, namespaces: Iterable[str], wait: float = 0.0
    ) -> list[dict[str, Any]] | None:
        """Every cached object of a kind in ``namespaces`` (the resource tree's children: ReplicaSets,
        Pods, Jobs); starts caching the kind. None when the kind cannot be answered from the cache now."""
        if self._stop.is_set() or not self.ensure(api_version, kind, wait=wait):
            return None
        wanted = set(namespaces)
        with self._lock:
            store = self._kinds[(api_version, kind)].store
            return [obj for (ns, _), obj in store.objects.items() if ns in wanted]

    def begin_write(self, api_version: str, kind: str, name: str, namespace: str | None) -> None:
        """gitopsd is about to write this object: its watch events are held back until the answer."""
        key = ((api_version, kind), (namespace or "", name))
        with self._lock:
            count, events = self._inflight.get(key, (0, []))
            self._inflight[key] = (count + 1, events)

    def end_write(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        answer: Mapping[str, Any] | None,
        deleting: bool = False,
    ) -> None:
        """The write is answered (``answer``; None when it failed): events held back meanwhile are passed
        on, except the echo of this very write (same resourceVersion, or the DELETED of our delete)."""
        key = ((api_version, kind), (namespace or "", name))
        with self._lock:
            count, events = self._inflight.pop(key, (1, []))
            if count > 1:
                self._inflight[key] = (count - 1, events)
                return
        ours = meta(answer).get("resourceVersion") if answer is not None else None
        for event_type, obj in events:
            if answer is not None and deleting and event_type == "DELETED":
                continue
            if ours is not None and meta(obj).get("resourceVersion") == ours:
                continue
            self._notify(event_type, obj)

    def written(self, obj: Mapping[str, Any]) -> None:
        """An object the API server answered a write with: cached at once (the watch echo is then skipped)."""
        if not isinstance(obj, dict) or obj.get("kind") == "Status":
            return
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            return
        with self._lock:
            entry = self._kinds.get((api_version, kind))
            if entry is None or not entry.synced:
                return
            entry.store.put(obj)  # only if newer than what the watch has reported meanwhile

    def version_of(self, api_version: str, kind: str, name: str, namespace: str | None) -> int | None:
        """The resourceVersion of the cached object (None: not cached, or not a number)."""
        with self._lock:
            entry = self._kinds.get((api_version, kind))
            return rv_of(entry.store.get((namespace or "", name))) if entry is not None else None

    def deleted(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None,
        answer: Mapping[str, Any] | None,
        seen: int | None = None,
    ) -> None:
        """A DELETE was answered: with the object (``answer``), a Status, or a 404 (None). ``seen``: the
        version cached when the delete was sent.

        The object is forgotten, at the version the answer names, unless the answer shows it is still
        stored (finalizers, a grace period): then it is kept as it is now, terminating. Never is the answer
        put back as a live object the watch may already have reported gone (the DELETED event can come
        before the answer). A Status or a 404 names no version: what was cached when the delete was sent
        is forgotten, but not an object created again since (the watch reported it, newer)."""
        key = (namespace or "", name)
        with self._lock:
            entry = self._kinds.get((api_version, kind))
            if entry is None or not entry.synced:
                return
            same = (
                isinstance(answer, Mapping)
                and answer.get("kind") == kind
                and meta(answer).get("name") == name
            )
            if same and answer is not None:
                if still_exists(answer):
                    terminating = dict(answer)
                    terminating.setdefault("apiVersion", api_version)
                    entry.store.put(terminating)
                else:
                    entry.store.delete(key, rv_of(answer))
            elif seen is not None:
                entry.store.delete(key, seen)

    def relist(self, kinds: Iterable[KindKey]) -> None:
        """Lists the given kinds again now, where they are cached (a hard refresh: whatever the watch may
        have missed, the cache then agrees with the API server). Kinds not cached are left alone; errors
        are left to the comparison that follows, which meets them again."""
        for api_version, kind in sorted(set(kinds)):
            with self._lock:
                entry = self._kinds.get((api_version, kind))
                if entry is None or not entry.synced:
                    continue
            try:
                self._relist(entry)
            except KubeError as exc:
                log.debug("relist failed", extra=fields(cluster=self.server, kind=kind, error=str(exc)))

    def close(self) -> None:
        self._stop.set()

    # -- bookkeeping (under self._lock) ---------------------------------------------------------

    def _entry(self, api_version: str, kind: str) -> _Kind:
        with self._lock:
            entry = self._kinds.get((api_version, kind))
            if entry is not None:
                return entry
            entry = _Kind(api_version, kind)
            self._kinds[(api_version, kind)] = entry
            if self._stop.is_set():
                entry.ready.set()
                return entry
            entry.thread = threading.Thread(
                target=self._run, args=(entry,), name=f"livecache-{kind}", daemon=True
            )
            entry.thread.start()
            return entry

    # -- the list+watch loop of one kind --------------------------------------------------------

    def _run(self, entry: _Kind) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                if not entry.resource_version:
                    self._relist(entry)
                started = time.monotonic()
                self._watch(entry)
                backoff = 1.0
                # A server that ends watches at once must not turn this loop into a busy one.
                if time.monotonic() - started < 1.0 and self._stop.wait(1.0):
                    break
            except Expired:
                entry.resource_version = ""  # too old: list again at once
            except (UnknownKind, Forbidden) as exc:
                # Not cacheable cluster-wide (a removed CRD, RBAC limited to some namespaces): comparisons
                # list from the server; the kind is tried again after a while.
                self._disable(entry, str(exc))
                if self._stop.wait(60.0):
                    break
            except KubeError as exc:
                self._disable(entry, str(exc))
                log.debug(
                    "watch interrupted", extra=fields(cluster=self.server, kind=entry.kind, error=str(exc))
                )
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, 30.0)
            except Exception:  # never let a cache thread die silently
                log.exception("live cache failed", extra=fields(cluster=self.server, kind=entry.kind))
                self._disable(entry, "internal error")
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, 30.0)
        entry.ready.set()

    def _disable(self, entry: _Kind, reason: str) -> None:
        with self._lock:
            entry.synced = False
            entry.disabled = reason
            entry.resource_version = ""
        entry.ready.set()

    def _relist(self, entry: _Kind) -> None:
        items, resource_version = self._client.list_with_version(entry.api_version, entry.kind)
        with self._lock:
            self._counts["lists"] += 1
            was_listed = entry.listed
            changed = entry.store.replace(items, resource_version)
            if not entry.synced or not entry.resource_version:
                # A list for the watch to start from (a hard refresh's list leaves the running watch be).
                entry.resource_version = resource_version
            entry.synced = True
            entry.listed = True
            entry.disabled = ""
        entry.ready.set()
        # The first list is the starting point; a later one (after a gap) reports what changed meanwhile.
        if was_listed:
            for event_type, obj in changed:
                self._notify(event_type, obj)

    def _watch(self, entry: _Kind) -> None:
        for event in self._client.watch(
            entry.api_version,
            entry.kind,
            resource_version=entry.resource_version,
            timeout_seconds=WATCH_SECONDS,
        ):
            if self._stop.is_set():
                return
            event_type = event.get("type")
            obj = event.get("object")
            if not isinstance(obj, dict):
                continue
            rv = meta(obj).get("resourceVersion")
            if event_type == "BOOKMARK":
                if isinstance(rv, str) and rv:
                    entry.resource_version = rv
                continue
            key = obj_key(obj)
            if key is None:
                continue
            with self._lock:
                self._counts["watch_events"] += 1
                if event_type == "DELETED":
                    news = entry.store.delete(key, rv_of(obj)) is not None
                else:
                    news = entry.store.put(obj)
                if isinstance(rv, str) and rv:
                    entry.resource_version = rv
                held = self._inflight.get(((entry.api_version, entry.kind), key))
                if news and held is not None:
                    held[1].append((str(event_type), obj))  # decided when our write is answered
                    news = False
            if news:
                self._notify(str(event_type), obj)

    def _notify(self, event_type: str, obj: dict[str, Any]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(self.server, event_type, obj)
            except Exception:
                log.exception("live change listener failed", extra=fields(cluster=self.server))


__all__ = ["CacheStats", "KindKey", "LiveCache", "Listener"]


def __getattr__(name: str) -> Any:
    # CachedKubeClient lives in gitopsd.app.cachedclient (which imports this module); it is still
    # importable from here, where it was first defined.
    if name == "CachedKubeClient":
        from gitopsd.app.cachedclient import CachedKubeClient

        return CachedKubeClient
    raise AttributeError(name)
