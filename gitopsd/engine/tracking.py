"""The tracking annotation that ties a live object to the application that applied it.

``gitopsd.io/tracking-id: <app>:<group>/<kind>:<namespace>/<name>`` (Argo CD's annotation tracking format).
Only objects carrying an id naming the application are ever pruned by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gitopsd.engine.jsondata import deep_copy
from gitopsd.engine.resources import ResourceKey

TRACKING_ANNOTATION = "gitopsd.io/tracking-id"


@dataclass(frozen=True)
class TrackingId:
    app: str
    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.app}:{self.group}/{self.kind}:{self.namespace}/{self.name}"

    def matches(self, key: ResourceKey) -> bool:
        """True when the id describes this very object (a copied annotation on another object does not)."""
        return (self.group, self.kind, self.namespace, self.name) == (
            key.group,
            key.kind,
            key.namespace,
            key.name,
        )


def build_tracking_id(app: str, key: ResourceKey) -> str:
    return str(TrackingId(app, key.group, key.kind, key.namespace, key.name))


def parse_tracking_id(value: str) -> TrackingId | None:
    """Parse an annotation value; None when it is not in our format."""
    if not isinstance(value, str):
        return None
    app, sep, rest = value.partition(":")
    if not sep or not app:
        return None
    group_kind, sep, ns_name = rest.partition(":")
    if not sep:
        return None
    group, sep, kind = group_kind.partition("/")
    if not sep or not kind:
        return None
    namespace, sep, name = ns_name.partition("/")
    if not sep or not name:
        return None
    return TrackingId(app, group, kind, namespace, name)


def tracking_of(obj: Mapping[str, Any]) -> TrackingId | None:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    if not isinstance(annotations, Mapping):
        return None
    value = annotations.get(TRACKING_ANNOTATION)
    return parse_tracking_id(value) if isinstance(value, str) else None


def owner_app(obj: Mapping[str, Any], key: ResourceKey) -> str | None:
    """The application that tracks this live object, or None when untracked (or the id was copied)."""
    tid = tracking_of(obj)
    if tid is None or not tid.matches(key):
        return None
    return tid.app


def with_tracking(obj: Mapping[str, Any], app: str, key: ResourceKey) -> dict[str, Any]:
    """A deep copy of ``obj`` carrying our tracking annotation."""
    out: dict[str, Any] = deep_copy(dict(obj))
    meta = out.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if not isinstance(annotations, dict):
        annotations = {}
        meta["annotations"] = annotations
    annotations[TRACKING_ANNOTATION] = build_tracking_id(app, key)
    return out
