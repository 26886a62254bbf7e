"""The objects of one cached kind, kept in resourceVersion order (used by gitopsd.app.livecache).

Three sources write into the live-state cache of a kind, in no fixed order: the watch's events, the
answers to gitopsd's own writes (so a comparison right after a sync sees what the sync did), and lists
(the first one, one after a watch gap, one for a hard refresh). An answer can arrive after the watch has
already reported something newer: a DELETE's answer after the DELETED event, an apply's answer after
someone else deleted the object. Taken in arrival order, the older news would win and the cache would
keep an object the cluster no longer has, for good, since nothing would ever remove it again.

So every update is ordered by the object's resourceVersion (etcd's revision: a number that only grows
across the cluster; opaque in the API contract, so objects whose versions are not numbers are taken as
they come, as before):
- an object replaces the cached one only when it is newer;
- a deletion leaves a tombstone at the version it was deleted at, and an object older than the tombstone
  is not news (it is a late answer about an object that is gone);
- a full list at version L is the truth up to L: an object not cached whose version is at most L was
  deleted by then (the *floor*), and a cached object missing from the list with a version at most L is
  gone; one written after the list started (version above L) is kept.

Not thread-safe: LiveCache holds its lock around every call.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from gitopsd.engine.tracking import tracking_of

ObjKey = tuple[str, str]  # (namespace or "", name)
Change = tuple[str, dict[str, Any]]  # (ADDED|MODIFIED|DELETED, object)

# Tombstones are only needed for answers and events still in flight; a bounded number per kind is plenty.
MAX_TOMBSTONES = 20_000


def meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    value = obj.get("metadata") if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def obj_key(obj: Mapping[str, Any]) -> ObjKey | None:
    m = meta(obj)
    name = m.get("name")
    if not isinstance(name, str) or not name:
        return None
    namespace = m.get("namespace")
    return (namespace if isinstance(namespace, str) else "", name)


def rv_of(obj: Mapping[str, Any] | None) -> int | None:
    """The resourceVersion as a number when it is one."""
    return rv_number(meta(obj).get("resourceVersion"))


def rv_number(value: Any) -> int | None:
    try:
        return int(value) if isinstance(value, str) and value else None
    except ValueError:
        return None


def still_exists(answer: Mapping[str, Any]) -> bool:
    """Whether the object a DELETE answered with is still stored: marked for deletion and held by
    finalizers (``metadata.finalizers``, a Namespace's ``spec.finalizers``) or a grace period (a Pod).
    Otherwise the answer is the object's last state, and it is gone."""
    m = meta(answer)
    if not m.get("deletionTimestamp"):
        return False
    spec = answer.get("spec")
    spec_finalizers = spec.get("finalizers") if isinstance(spec, Mapping) else None
    grace = m.get("deletionGracePeriodSeconds")
    return bool(m.get("finalizers")) or bool(spec_finalizers) or (isinstance(grace, int) and grace > 0)


def _owner(obj: Mapping[str, Any]) -> str | None:
    tracking = tracking_of(dict(obj))
    return tracking.app if tracking is not None else None


class KindStore:
    """The cached objects of one (apiVersion, kind), cluster-wide, with an index by owning app."""

    def __init__(self) -> None:
        self.objects: dict[ObjKey, dict[str, Any]] = {}
        self.by_app: dict[str, set[ObjKey]] = {}
        self._tombstones: OrderedDict[ObjKey, int] = OrderedDict()
        self._floor: int | None = None  # version of the last full list

    def __len__(self) -> int:
        return len(self.objects)

    def get(self, key: ObjKey) -> dict[str, Any] | None:
        return self.objects.get(key)

    def keys_of_app(self, app: str) -> Iterable[ObjKey]:
        return self.by_app.get(app, ())

    def is_news(self, obj: Mapping[str, Any]) -> bool:
        """Whether ``obj`` is newer than anything known about its key (cached, deleted, or listed)."""
        key = obj_key(obj)
        if key is None:
            return False
        new = rv_of(obj)
        if new is None:
            return True
        old = self.objects.get(key)
        if old is not None:
            old_rv = rv_of(old)
            return old_rv is None or new > old_rv
        gone = self._tombstones.get(key)
        if gone is not None and new <= gone:
            return False
        return self._floor is None or new > self._floor

    def put(self, obj: dict[str, Any]) -> bool:
        """Stores ``obj`` when it is news; False when it is not (an echo, a late event or answer)."""
        key = obj_key(obj)
        if key is None or not self.is_news(obj):
            return False
        self._unindex(key)
        self.objects[key] = obj
        self._tombstones.pop(key, None)
        owner = _owner(obj)
        if owner is not None:
            self.by_app.setdefault(owner, set()).add(key)
        return True

    def delete(self, key: ObjKey, rv: int | None = None) -> dict[str, Any] | None:
        """Forgets the object deleted at version ``rv`` (None: unknown, e.g. a 404); returns what was
        cached. A deletion older than the cached object (it was created again since) changes nothing."""
        old = self.objects.get(key)
        old_rv = rv_of(old)
        if old is not None and rv is not None and old_rv is not None and rv < old_rv:
            return None
        at = max((v for v in (rv, old_rv, self._tombstones.get(key)) if v is not None), default=None)
        if at is not None:
            self._tombstones[key] = at
            self._tombstones.move_to_end(key)
            while len(self._tombstones) > MAX_TOMBSTONES:
                self._tombstones.popitem(last=False)
        if old is None:
            return None
        self._unindex(key)
        del self.objects[key]
        return old

    def replace(self, items: Iterable[dict[str, Any]], list_rv: str) -> list[Change]:
        """Takes a full list answered at version ``list_rv`` as the truth up to it; returns what changed."""
        at = rv_number(list_rv)
        fresh: dict[ObjKey, dict[str, Any]] = {}
        for obj in items:
            key = obj_key(obj)
            if key is not None:
                fresh[key] = obj
        changes: list[Change] = []
        for key, obj in fresh.items():
            old = self.objects.get(key)
            if old is not None and rv_of(obj) is None:
                # Versions that are not numbers cannot be ordered: the list is the latest word.
                if meta(old).get("resourceVersion") == meta(obj).get("resourceVersion"):
                    continue
                self._unindex(key)
                del self.objects[key]
            if self.put(obj):
                changes.append(("MODIFIED" if old is not None else "ADDED", obj))
        for key in list(self.objects):
            if key in fresh:
                continue
            cached_rv = rv_of(self.objects[key])
            if at is not None and cached_rv is not None and cached_rv > at:
                continue  # written after the list was taken: newer than the list
            gone = self.delete(key, at)
            if gone is not None:
                changes.append(("DELETED", gone))
        if at is not None:
            self._floor = at if self._floor is None else max(self._floor, at)
            for key in [k for k, v in self._tombstones.items() if v <= at]:
                del self._tombstones[key]  # the floor covers them now
        return changes

    def _unindex(self, key: ObjKey) -> None:
        old = self.objects.get(key)
        owner = _owner(old) if old is not None else None
        if owner is None:
            return
        keys = self.by_app.get(owner)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self.by_app[owner]
