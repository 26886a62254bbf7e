"""PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

The strategic merge follows the published schema's patch strategy (``listschema``): lists with
``x-kubernetes-patch-strategy: merge`` merge by their ``patch-merge-key`` (a single field, as the
real server's: container ports by ``containerPort`` only), other lists are replaced, and the ``$patch``, ``$setElementOrder``, ``$retainKeys`` and
``$deleteFromPrimitiveList`` directives are honoured and never left in the result.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import ApiError, bad_request
from .listschema import Node, child, items, patch_list, root_of


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


# -- JSON patch -----------------------------------------------------------------------------------
def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise bad_request(f"invalid JSON pointer: {path!r}")
    if path == "":
        return []
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _unprocessable(message: str) -> ApiError:
    return ApiError(422, message, "Invalid")


def _walk(doc: Any, parts: list[str]) -> Any:
    cur = doc
    for part in parts:
        if isinstance(cur, dict):
            if part not in cur:
                raise _unprocessable(f"jsonpatch: path not found: {part}")
            cur = cur[part]
        elif isinstance(cur, list):
            cur = cur[_index(cur, part, allow_end=False)]
        else:
            raise _unprocessable(f"jsonpatch: cannot traverse into a scalar at {part}")
    return cur


def _index(lst: list[Any], part: str, allow_end: bool) -> int:
    if part == "-" and allow_end:
        return len(lst)
    if not part.isdigit():
        raise _unprocessable(f"jsonpatch: invalid array index {part!r}")
    idx = int(part)
    if idx > len(lst) or (idx == len(lst) and not allow_end):
        raise _unprocessable(f"jsonpatch: array index {idx} out of range")
    return idx


def _add(doc: Any, parts: list[str], value: Any) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, allow_end=True), value)
    else:
        raise _unprocessable("jsonpatch: cannot add to a scalar")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise _unprocessable("jsonpatch: cannot remove the whole document")
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise _unprocessable(f"jsonpatch: path not found: {last}")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, allow_end=False))
    raise _unprocessable("jsonpatch: cannot remove from a scalar")


def json_patch(target: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request("each json patch operation needs 'op' and 'path'")
        kind = op["op"]
        parts = _pointer(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _walk(doc, parts)  # must exist
            if parts:
                _remove(doc, parts)
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind in ("move", "copy"):
            src = _pointer(op.get("from"))
            value = _remove(doc, src) if kind == "move" else copy.deepcopy(_walk(doc, src))
            doc = _add(doc, parts, value)
        elif kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise _unprocessable(f"jsonpatch: test failed at {op['path']}")
        else:
            raise bad_request(f"unknown json patch operation {kind!r}")
    return doc


# -- strategic merge patch ------------------------------------------------------------------------
def strip_directives(value: Any) -> Any:
    """A copy of ``value`` without any ``$``-directive keys, at every depth."""
    if isinstance(value, dict):
        return {k: strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [strip_directives(v) for v in value if not (isinstance(v, dict) and set(v) == {"$patch"})]
    return value


_DELETE = object()


def strategic_merge(target: Any, patch: Any) -> Any:
    result = _smp_map(target if isinstance(target, dict) else {}, patch, root_of(target))
    return {} if result is _DELETE else result


def _smp_map(target: dict[str, Any], patch: Any, node: Node | None) -> Any:
    if not isinstance(patch, dict):
        return strip_directives(patch)
    directive = patch.get("$patch")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return strip_directives(patch)
    out = dict(target)
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/"):
            if isinstance(value, list):
                orders[key.split("/", 1)[1]] = value
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [v for v in out[field] if v not in value]
            continue
        if key.startswith("$"):
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            existing = out.get(key)
            merged = _smp_map(existing if isinstance(existing, dict) else {}, value, child(node, key))
            if merged is _DELETE:
                out.pop(key, None)
            else:
                out[key] = merged
        elif isinstance(value, list):
            out[key] = _smp_list(key, out.get(key), value, child(node, key))
        else:
            out[key] = value
    for field, order in orders.items():
        if isinstance(out.get(field), list):
            out[field] = _reorder(field, out[field], order, child(node, field))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        # Only keys the patch could speak of are dropped: those absent from the retained set.
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _smp_list(field: str, current: Any, patch: list[Any], node: Node | None) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return strip_directives(
            [i for i in patch if not (isinstance(i, dict) and i.get("$patch") == "replace")]
        )
    cur = current if isinstance(current, list) else []
    strategy, key = patch_list(node, field, cur, patch)
    if strategy == "set" and all(not isinstance(i, dict | list) for i in patch):
        return list(cur) + [v for v in patch if v not in cur]
    if strategy != "merge" or not all(isinstance(i, dict) for i in patch):
        return strip_directives(patch)
    out = [dict(i) for i in cur]
    for item in patch:
        idx = next((n for n, o in enumerate(out) if o.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                out.pop(idx)
            continue
        if idx is None:
            out.append(strip_directives(item))
        else:
            merged = _smp_map(out[idx], item, items(node))
            if merged is _DELETE:
                out.pop(idx)
            else:
                out[idx] = merged
    return out


def _reorder(field: str, values: list[Any], order: list[Any], node: Node | None) -> list[Any]:
    strategy, key = patch_list(node, field, values, order)
    if strategy != "merge":
        # Primitive lists: order by value.
        rank = {json.dumps(v, sort_keys=True): n for n, v in enumerate(order)}
        ident = [json.dumps(v, sort_keys=True) for v in values]
    else:
        rank = {json.dumps(o.get(key)): n for n, o in enumerate(order) if isinstance(o, dict)}
        ident = [json.dumps(i.get(key)) if isinstance(i, dict) else "" for i in values]
    indexed = list(zip(ident, values, strict=True))
    known = sorted((p for p in indexed if p[0] in rank), key=lambda p: rank[p[0]])
    rest = [p for p in indexed if p[0] not in rank]
    return [p[1] for p in known + rest]
