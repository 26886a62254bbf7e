"""Small readers for live objects used by the per-kind health checks (tolerant of missing fields)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def dig(obj: Any, *path: str, default: Any = None) -> Any:
    for step in path:
        if not isinstance(obj, Mapping) or step not in obj:
            return default
        obj = obj[step]
    return obj


def num(obj: Any, *path: str, default: int = 0) -> int:
    value = dig(obj, *path)
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return default


def conditions(obj: Any) -> list[Mapping[str, Any]]:
    value = dig(obj, "status", "conditions")
    return [c for c in value if isinstance(c, Mapping)] if isinstance(value, list) else []


def condition(obj: Any, type_: str) -> Mapping[str, Any] | None:
    for c in conditions(obj):
        if c.get("type") == type_:
            return c
    return None


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def truthy(value: Any) -> bool:
    """A boolean field or an annotation value: true, or the string "true" (any case)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")
