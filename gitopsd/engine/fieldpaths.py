"""Field paths inside objects: JSON pointers, managedFields (FieldsV1) leaf paths, and walking or removing them.

A path is a list of steps: str for a map key, int for a list index, dict for the keyed list item whose fields
equal it (FieldsV1 ``k:{...}``). Shared by normalization, ignoreDifferences and the ownership checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def parse_pointer(pointer: str) -> list[str]:
    if pointer in ("", "/"):
        return []
    return [_unescape(t) for t in pointer.lstrip("/").split("/")]


def remove_path(obj: Any, path: list[Any]) -> None:
    """Remove the value at ``path`` (str keys for maps, int for list indexes, dict for keyed list items)."""
    if not path:
        return
    head, rest = path[0], path[1:]
    targets: list[tuple[Any, Any]] = []
    if isinstance(obj, dict) and isinstance(head, str) and head in obj:
        targets.append((obj, head))
    elif isinstance(obj, list):
        if isinstance(head, dict):
            targets.extend(
                (obj, i)
                for i, item in enumerate(obj)
                if isinstance(item, dict) and all(item.get(k) == v for k, v in head.items())
            )
        elif isinstance(head, str) and head.lstrip("-").isdigit():
            i = int(head)
            if 0 <= i < len(obj):
                targets.append((obj, i))
        elif isinstance(head, int) and 0 <= head < len(obj):
            targets.append((obj, head))
    for container, slot in reversed(targets):
        if rest:
            remove_path(container[slot], rest)
        elif isinstance(container, dict):
            container.pop(slot, None)
        else:
            container.pop(slot)


def managed_paths(live: Mapping[str, Any], managers: Iterable[str], exclude: bool = False) -> list[list[Any]]:
    """Leaf paths (FieldsV1) owned by the given managers in ``live.metadata.managedFields``.

    With ``exclude`` the managers are the ones *not* listed. Keyed list items (``k:{...}``) become dicts.
    """
    wanted = set(managers)
    meta = live.get("metadata")
    entries = meta.get("managedFields") if type(meta) is dict else None
    paths: list[list[Any]] = []
    if type(entries) is not list:
        return paths
    for entry in entries:
        if type(entry) is not dict:
            continue
        if (entry.get("manager") in wanted) == exclude:
            continue
        fields = entry.get("fieldsV1")
        if type(fields) is dict:
            _walk_fields(fields, [], paths)
    return paths


def _walk_fields(node: Mapping[str, Any], prefix: list[Any], out: list[list[Any]]) -> None:
    # Runs over every object's managedFields on every refresh: one pass, cheap prefix tests.
    leaf = True
    for k, sub in node.items():
        if k == "." or type(k) is not str:
            continue
        leaf = False
        kind = k[:2]
        step: Any
        if kind == "f:":
            step = k[2:]
        elif kind == "k:":
            try:
                step = json.loads(k[2:])
            except ValueError:
                continue
            if type(step) is not dict:
                continue
        elif kind == "i:":
            try:
                step = int(k[2:])
            except ValueError:
                continue
        else:
            # v: (set members) — treat the whole list as owned.
            if prefix:
                out.append(prefix)
            continue
        _walk_fields(sub if type(sub) is dict else {}, prefix + [step], out)
    if leaf and prefix:
        out.append(prefix)


def path_text(path: list[Any]) -> str:
    """``spec.template.spec.containers[web].ports[containerPort=80,protocol=TCP]``."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, dict):
            label = step.get("name") or ",".join(f"{k}={v}" for k, v in step.items())
            parts[-1:] = [f"{parts[-1] if parts else ''}[{label}]"]
        elif isinstance(step, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{step}]"]
        else:
            parts.append(str(step))
    return ".".join(parts)


def step_into(obj: Any, step: Any) -> tuple[bool, Any]:
    if isinstance(step, dict):
        if isinstance(obj, list):
            for item in obj:
                if isinstance(item, Mapping) and all(item.get(k) == v for k, v in step.items()):
                    return True, item
        return False, None
    if isinstance(step, int):
        if isinstance(obj, list) and 0 <= step < len(obj):
            return True, obj[step]
        return False, None
    if isinstance(obj, Mapping) and step in obj:
        return True, obj[step]
    return False, None


def path_exists(obj: Any, path: list[Any]) -> bool:
    for step in path:
        ok, obj = step_into(obj, step)
        if not ok:
            return False
    return True


def value_at(obj: Any, path: list[Any]) -> Any:
    for step in path:
        _, obj = step_into(obj, step)
    return obj
