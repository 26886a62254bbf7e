"""``kubectl get events`` columns: the server-side Table the real API server prints for Events.

Events are the one built-in kind whose table does not start with Name and end with Age: Last
Seen, Type, Reason, Object, Message (and, for ``-o wide``, Subobject, Source, First Seen, Count,
Name). Called by ``table`` for core v1 Events.
"""

from __future__ import annotations

import datetime
from typing import Any

from .table import age, table_of

_COLUMNS = (
    ("Last Seen", 0, ""),
    ("Type", 0, ""),
    ("Reason", 0, ""),
    ("Object", 0, ""),
    ("Subobject", 1, ""),
    ("Source", 1, ""),
    ("Message", 0, ""),
    ("First Seen", 1, ""),
    ("Count", 1, ""),
    ("Name", 1, "name"),
)


def _when(text: Any, now: datetime.datetime) -> str:
    if isinstance(text, str) and "." in text:
        text = text.split(".", 1)[0] + "Z"  # a MicroTime (eventTime): whole seconds are enough
    return age(text, now)


def _cells(ev: dict[str, Any], now: datetime.datetime) -> list[Any]:
    first = (
        _when(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else _when(ev.get("eventTime"), now)
    )
    last = _when(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 1
    series = ev.get("series")
    if isinstance(series, dict):
        last = _when(series.get("lastObservedTime"), now)
        count = series.get("count") or count
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = ev.get("source") or {}
    origin = source.get("component") or ev.get("reportingComponent") or ""
    host = source.get("host") or ev.get("reportingInstance") or ""
    if host and origin:
        origin = f"{origin}, {host}"
    return [
        last,
        ev.get("type", ""),
        ev.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        origin,
        str(ev.get("message", "")).strip(),
        first,
        int(count),
        (ev.get("metadata") or {}).get("name", ""),
    ]


def event_table(objects: list[dict[str, Any]], list_meta: dict[str, Any], include: str) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    columns = [
        {
            "name": n,
            "type": "integer" if n == "Count" else "string",
            "format": f,
            "description": n,
            "priority": p,
        }
        for n, p, f in _COLUMNS
    ]
    return table_of(columns, objects, lambda o: _cells(o, now), list_meta, include)
