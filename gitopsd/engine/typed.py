"""Typed normalization: rewrite values as a real API server stores them, guided by the field types.

Applied to desired and live alike before comparing (as Argo CD's typed normalizers are): quantities in
canonical form, int-or-string digits as integers, null fields dropped, and the key fields of keyed list
items (a port's ``protocol``) filled with their server default so items are matched as the server does.
Only subtrees whose type holds such fields are walked; the rest is returned as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gitopsd.engine import quantity, schema
from gitopsd.engine.schema import INT_OR_STRING, ITEM_DEFAULTS, QUANTITY, Schema


def typed_normalize(obj: dict[str, Any], root: Schema | None) -> dict[str, Any]:
    """A copy of ``obj`` (already normalized, owned by the caller) with typed values rewritten."""
    if root is None:
        return obj
    out = _walk(obj, root)
    return out if isinstance(out, dict) else obj


def _walk(value: Any, node: Schema | None) -> Any:
    name, s = schema.resolve(node)
    if name == QUANTITY:
        return quantity.canonical(value)
    if name == INT_OR_STRING:
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
            return int(value)
        return value
    if s is None or (name and not schema.interesting(name)):
        return value
    if isinstance(value, dict):
        props = s.get("properties")
        extra = s.get("additionalProperties")
        out: dict[str, Any] = {}
        for k, v in value.items():
            if v is None:
                continue
            sub = props.get(k) if isinstance(props, Mapping) else None
            if sub is None and isinstance(extra, Mapping):
                sub = extra
            out[k] = _walk(v, sub) if sub is not None else v
        return out
    if isinstance(value, list):
        items = s.get("items")
        if not isinstance(items, Mapping):
            return value
        walked = [_walk(v, items) for v in value]
        keys = s.get("x-kubernetes-list-map-keys")
        item_name = schema.ref_name(items)
        if keys and item_name in ITEM_DEFAULTS:
            defaults = ITEM_DEFAULTS[item_name]
            for item in walked:
                if isinstance(item, dict):
                    for key in keys:
                        if key not in item and key in defaults:
                            item[key] = defaults[key](item)
        return walked
    return value


def server_default(root: Schema | None, path: list[Any], live_item: Mapping[str, Any]) -> tuple[bool, Any]:
    """Whether the leaf ``path`` is a list-item field the server defaults, and that default for ``live_item``
    (the live item holding it)."""
    if root is None or len(path) < 2:
        return False, None
    name, _ = schema.at_path(root, path[:-1])
    fill = ITEM_DEFAULTS.get(name, {}).get(str(path[-1]))
    if fill is None:
        return False, None
    return True, fill(live_item)
