"""events.k8s.io/v1 Events: the same stored objects as core v1 Events, in the newer shape.

A real API server keeps one event store and converts between the two versions: ``message`` ↔
``note``, ``involvedObject`` ↔ ``regarding``, ``source`` ↔ ``deprecatedSource``,
``firstTimestamp``/``lastTimestamp``/``count`` ↔ ``deprecated*``, ``reportingComponent`` ↔
``reportingController``. The sandbox stores the core shape; ``api`` calls ``view`` when an object
is read through events.k8s.io and ``to_core`` on what a client writes through it.
"""

from __future__ import annotations

from typing import Any

GROUP = "events.k8s.io"
# (core v1 field, events.k8s.io/v1 field)
_FIELDS = (
    ("involvedObject", "regarding"),
    ("related", "related"),
    ("reason", "reason"),
    ("message", "note"),
    ("type", "type"),
    ("action", "action"),
    ("series", "series"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
)


def is_v1(group: str, storage_key: str) -> bool:
    return group == GROUP and storage_key == "/events"


def view(obj: dict[str, Any], api_version: str) -> dict[str, Any]:
    """A stored (core-shaped) Event as events.k8s.io/v1 shows it (empty fields omitted, but
    ``eventTime`` always present, as its Go type has no omitempty)."""
    out: dict[str, Any] = {"apiVersion": api_version, "kind": "Event", "metadata": obj.get("metadata") or {}}
    out["eventTime"] = obj.get("eventTime")
    for core, new in _FIELDS:
        value = obj.get(core)
        if value not in (None, "", {}, 0):
            out[new] = value
    return out


def to_core(obj: dict[str, Any]) -> dict[str, Any]:
    """A client's events.k8s.io/v1 Event in the stored shape (apiVersion kept for the identity check)."""
    out: dict[str, Any] = {k: obj[k] for k in ("apiVersion", "kind", "metadata") if k in obj}
    if "eventTime" in obj:
        out["eventTime"] = obj["eventTime"]
    for core, new in _FIELDS:
        if new in obj:
            out[core] = obj[new]
    return out
