"""Server-side apply and field ownership (metadata.managedFields with fieldsV1 sets).

Field paths are tuples of fieldsV1 path elements: ``f:name`` (map field), ``k:{"name":"x"}``
(list item by key), ``v:"x"`` (member of a set list). Each manager entry owns a set of leaf
paths. Apply merges the applied configuration by ownership: fields owned by another manager
with a different value are conflicts (unless forced, which takes them over); fields the same
manager applied before and no longer applies are removed unless someone else owns them.
Update operations give their manager the fields they changed, taken from whoever had them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .listschema import Node, apply_list, child, items, key_of, matches, root_of

Path = tuple[str, ...]

# Server-owned metadata never appears in field sets.
_UNTRACKED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generateName",
    }
)


@dataclass
class Managed:
    manager: str
    operation: str
    subresource: str
    api_version: str
    time: str
    fields: set[Path] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)


# -- field sets -----------------------------------------------------------------------------------
def _item_key(keys: tuple[str, ...], item: dict[str, Any]) -> str:
    return "k:" + json.dumps(key_of(item, keys), separators=(",", ":"))


def _scalars(values: list[Any]) -> bool:
    return all(not isinstance(i, dict | list) for i in values)


class DuplicateKey(Exception):
    """Two items of a list-map share their key (apply refuses such a configuration)."""

    def __init__(self, list_path: Path, key: str) -> None:
        super().__init__(f"{format_path(list_path)}: duplicate entries for key {format_path((key,))}")


def _collect(
    mapping: dict[str, Any], prefix: Path, out: set[Path], node: Node | None, strict: bool = False
) -> None:
    for k, v in mapping.items():
        if v is None:
            continue
        p = prefix + ("f:" + k,)
        sub = child(node, k)
        if isinstance(v, dict):
            # An atomic map (a label selector) is owned whole, as one field.
            if v and not (sub is not None and sub.atomic_map):
                _collect(v, p, out, sub, strict)
            else:
                out.add(p)
        elif isinstance(v, list):
            kind, keys = apply_list(sub, k, v)
            if kind == "set" and _scalars(v):
                for i in v:
                    out.add(p + ("v:" + json.dumps(i),))
            elif kind == "map" and v and all(isinstance(i, dict) for i in v):
                for item in v:
                    ip = p + (_item_key(keys, item),)
                    if strict and ip in out:
                        raise DuplicateKey(p, ip[-1])
                    out.add(ip)
                    _collect(item, ip, out, items(sub), strict)
            else:
                out.add(p)
        else:
            out.add(p)


def object_fields(obj: dict[str, Any], part: str = "main", strict: bool = False) -> set[Path]:
    """Leaf paths of ``obj``: part "main" excludes status, "status" is only status."""
    out: set[Path] = set()
    node = root_of(obj)
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if (k == "status") != (part == "status"):
            continue
        if k == "metadata" and isinstance(v, dict):
            meta = {mk: mv for mk, mv in v.items() if mk not in _UNTRACKED_META}
            _collect(meta, ("f:metadata",), out, child(node, "metadata"), strict)
        else:
            _collect({k: v}, (), out, node, strict)
    return out


def encode_fields(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths, key=len):
        node = root
        for elem in path:
            node = node.setdefault(elem, {})
        if path[-1].startswith("k:"):
            node["."] = {}
    return root


def decode_fields(tree: Any, prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    for elem, sub in tree.items():
        if elem == ".":
            if prefix:
                out.add(prefix)
            continue
        p = prefix + (elem,)
        if isinstance(sub, dict) and sub:
            out |= decode_fields(sub, p)
        else:
            out.add(p)
    return out


_MISSING = object()


def get_at(obj: Any, path: Path) -> Any:
    cur = obj
    for elem in path:
        kind, _, rest = elem.partition(":")
        if kind == "f":
            if not isinstance(cur, dict) or rest not in cur:
                return _MISSING
            cur = cur[rest]
        elif kind == "k":
            if not isinstance(cur, list):
                return _MISSING
            want = json.loads(rest)
            cur = next((i for i in cur if matches(i, want)), _MISSING)
            if cur is _MISSING:
                return _MISSING
        elif kind == "v":
            value = json.loads(rest)
            return value if isinstance(cur, list) and value in cur else _MISSING
        else:
            return _MISSING
    return cur


def _remove_at(obj: dict[str, Any], path: Path) -> None:
    parent = get_at(obj, path[:-1]) if len(path) > 1 else obj
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k" and isinstance(parent, list):
        want = json.loads(rest)
        parent[:] = [i for i in parent if not matches(i, want)]
    elif kind == "v" and isinstance(parent, list):
        value = json.loads(rest)
        parent[:] = [i for i in parent if i != value]
    # Removing the last field of a map (or item of a list) removes the map too, so an apply that
    # stops setting all labels leaves no empty ``labels: {}`` behind.
    for depth in range(len(path) - 1, 0, -1):
        container = get_at(obj, path[:depth])
        if container in ({}, []) and not path[depth - 1].startswith("k:") and path[:depth] != ("f:metadata",):
            _remove_at_shallow(obj, path[:depth])
        else:
            break


def _remove_at_shallow(obj: dict[str, Any], path: Path) -> None:
    parent = get_at(obj, path[:-1])
    kind, _, rest = path[-1].partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)


def format_path(path: Path) -> str:
    out = ""
    for elem in path:
        kind, _, rest = elem.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            out += "[" + ",".join(f"{a}={json.dumps(b)}" for a, b in json.loads(rest).items()) + "]"
        else:
            out += f"[{rest}]"
    return out


# -- managedFields (de)serialization --------------------------------------------------------------
def read_managed(obj: dict[str, Any] | None) -> list[Managed]:
    if not obj:
        return []
    out: list[Managed] = []
    for e in (obj.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(e, dict) or not isinstance(e.get("manager", ""), str):
            continue
        out.append(
            Managed(
                manager=e.get("manager", ""),
                operation=e.get("operation", "Update"),
                subresource=e.get("subresource", ""),
                api_version=e.get("apiVersion", ""),
                time=e.get("time", ""),
                fields=decode_fields(e.get("fieldsV1") or {}),
            )
        )
    return out


def write_managed(obj: dict[str, Any], entries: list[Managed]) -> None:
    out = []
    for e in entries:
        if not e.fields:
            continue
        item: dict[str, Any] = {
            "manager": e.manager,
            "operation": e.operation,
            "apiVersion": e.api_version,
            "time": e.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode_fields(e.fields),
        }
        if e.subresource:
            item["subresource"] = e.subresource
        out.append(item)
    meta = obj.setdefault("metadata", {})
    if out:
        meta["managedFields"] = out
    else:
        meta.pop("managedFields", None)


def _entry(entries: list[Managed], key: tuple[str, str, str], api_version: str, now: str) -> Managed:
    for e in entries:
        if e.key == key:
            e.api_version, e.time = api_version, now
            return e
    e = Managed(key[0], key[1], key[2], api_version, now)
    entries.append(e)
    return e


def _prune_missing(entries: list[Managed], obj: dict[str, Any]) -> None:
    for e in entries:
        e.fields = {p for p in e.fields if get_at(obj, p) is not _MISSING}


# -- operations -----------------------------------------------------------------------------------
def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
) -> None:
    """Set ``new``'s managedFields after an Update (create, PUT, PATCH) by ``manager``."""
    entries = read_managed(old)
    part = "status" if subresource == "status" else "main"
    changed = {p for p in object_fields(new, part) if old is None or get_at(old, p) != get_at(new, p)}
    _prune_missing(entries, new)
    if changed:
        for e in entries:
            e.fields -= changed
        _entry(entries, (manager, "Update", subresource), api_version, now).fields |= changed
    write_managed(new, entries)


def _copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _merge(live: dict[str, Any], applied: dict[str, Any], node: Node | None) -> None:
    """Merge ``applied`` into ``live`` in place, as the schema at ``node`` says: maps by key
    (atomic maps replaced), list-maps by item key, sets by member, the rest replaced."""
    for k, v in applied.items():
        if v is None:
            continue
        lv = live.get(k)
        sub = child(node, k)
        if isinstance(v, dict) and isinstance(lv, dict) and not (sub is not None and sub.atomic_map):
            _merge(lv, v, sub)
        elif isinstance(v, list) and isinstance(lv, list):
            kind, keys = apply_list(sub, k, lv, v)
            if kind == "set" and _scalars(v):
                live[k] = lv + [i for i in v if i not in lv]
            elif kind == "map" and all(isinstance(i, dict) for i in lv + v):
                for item in v:
                    want = key_of(item, keys)
                    match = next((o for o in lv if matches(o, want)), None)
                    if match is None:
                        lv.append(_copy(item))
                    else:
                        _merge(match, item, items(sub))
            else:
                live[k] = _copy(v)
        else:
            live[k] = _copy(v)


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: creates it).

    Raises a 409 Conflict Status naming each conflicting manager and field unless ``force``.
    """
    part = "status" if subresource == "status" else "main"
    try:
        applied_fields = object_fields(applied, part, strict=True)
    except DuplicateKey as dup:
        # The real field manager fails to type the patch; the API server answers 500.
        meta = applied.get("metadata") or {}
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}; {applied.get('apiVersion')}, Kind={applied.get('kind')}"
        raise ApiError(500, f"failed to create typed patch object ({where}): {dup}") from None
    entries = read_managed(live)
    key = (manager, "Apply", subresource)
    mine = next((e for e in entries if e.key == key), None)
    previous = set(mine.fields) if mine else set()
    merged: dict[str, Any] = _copy(live) if live else {}

    if live is not None:
        conflicts: list[tuple[Managed, Path]] = []
        for e in entries:
            if e.key == key:
                continue
            for p in e.fields & applied_fields:
                if p[-1].startswith(("k:", "v:")):
                    continue
                current = get_at(live, p)
                if current is not _MISSING and current != get_at(applied, p):
                    conflicts.append((e, p))
        if conflicts and not force:
            raise _conflict_error(conflicts)
        for e, p in conflicts:
            e.fields.discard(p)

    _merge(merged, _copy(applied), root_of(applied))
    others = [e for e in entries if e.key != key]
    owned_by_others = set().union(*(e.fields for e in others)) if others else set()
    # Shallowest first: removing a list item removes its fields with it (its key field included).
    removed: list[Path] = []
    for p in sorted(previous - applied_fields, key=len):
        if any(p[: len(r)] == r for r in removed) or any(o[: len(p)] == p for o in owned_by_others):
            continue
        _remove_at(merged, p)
        removed.append(p)
    _prune_missing(entries, merged)
    _entry(entries, key, api_version, now).fields = applied_fields
    write_managed(merged, entries)
    return merged


def _conflict_error(conflicts: list[tuple[Managed, Path]]) -> ApiError:
    causes = []
    lines = []
    for e, p in sorted(conflicts, key=lambda c: (c[0].manager, c[1])):
        who = f'conflict with "{e.manager}"'
        if e.operation == "Update" or e.subresource:
            who += f" using {e.api_version}"
        causes.append({"type": "FieldManagerConflict", "message": who, "field": format_path(p)})
        lines.append(f"{who}: {format_path(p)}")
    n = len(conflicts)
    message = f"Apply failed with {n} conflict{'s' if n > 1 else ''}: " + "\n".join(lines)
    return ApiError(409, message, "Conflict", {"causes": causes})
