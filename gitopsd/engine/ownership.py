"""Which live fields the desired manifest no longer sets would be removed by an apply, and which were added
by others (mutating webhooks) and are not drift.

- Fields gitopsd applied before (managedFields) and no longer sets: removed by our next apply, unless the
  server defaults them again to the value they hold (a port's ``targetPort`` equal to its ``port``).
- Three-way from ``kubectl.kubernetes.io/last-applied-configuration``: a label or annotation a client-side
  ``kubectl apply`` set, still live and gone from Git, is drift; fields never in last-applied are not.
- Fields present live, absent from Git and owned only by a manager that is not gitopsd nor kubectl are what a
  mutating webhook or controller added: not drift (Argo CD's IgnoreMutationWebhook), unless the resource or
  the application asks for ``IncludeMutationWebhook=true``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitopsd.engine.diff import MISSING_VALUE, FieldChange
from gitopsd.engine.fieldpaths import managed_paths, path_exists, path_text, remove_path, value_at
from gitopsd.engine.normalize import FIELD_MANAGER, IGNORED_ANNOTATIONS
from gitopsd.engine.schema import Schema
from gitopsd.engine.typed import server_default

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_MAX_REMOVED = 10
# Bigger last-applied annotations are not parsed (the API server caps all annotations at 256 KiB).
_MAX_LAST_APPLIED = 256 * 1024


def _ours(manager: str) -> bool:
    return manager == FIELD_MANAGER or manager.startswith("kubectl")


def _managers(live: Mapping[str, Any]) -> list[str]:
    # dict, not Mapping, checks: this runs for every object of every refresh (objects from JSON are dicts).
    meta = live.get("metadata")
    entries = meta.get("managedFields") if type(meta) is dict else None
    if type(entries) is not list:
        return []
    return [str(e.get("manager")) for e in entries if type(e) is dict and e.get("manager") is not None]


def owned_but_unset(
    live: Mapping[str, Any], live_n: Mapping[str, Any], desired: Mapping[str, Any], root: Schema | None
) -> list[tuple[list[Any], FieldChange]]:
    """(path, change) for fields gitopsd applied before and the manifest no longer sets."""
    out: list[tuple[list[Any], FieldChange]] = []
    for path in managed_paths(live, [FIELD_MANAGER]):
        if path[:1] == ["metadata"] and path[1:2] not in (["labels"], ["annotations"]):
            continue
        if path[:2] == ["metadata", "annotations"] and path[2:3] and path[2] in IGNORED_ANNOTATIONS:
            continue  # normalized away on both sides
        if path_exists(desired, path) or not path_exists(live_n, path):
            continue
        value = value_at(live_n, path)
        defaulted, default = server_default(root, path, value_at(live_n, path[:-1]))
        if defaulted and default == value:
            continue  # the server fills it in again: an apply changes nothing
        out.append((path, FieldChange(path_text(path), value, MISSING_VALUE)))
        if len(out) >= _MAX_REMOVED:
            break
    return out


def last_applied_removed(
    live: Mapping[str, Any], live_n: Mapping[str, Any], desired: Mapping[str, Any]
) -> list[tuple[list[Any], FieldChange]]:
    """Labels and annotations in kubectl's last-applied configuration, still live, and no longer in Git."""
    meta = live.get("metadata")
    annotations = meta.get("annotations") if type(meta) is dict else None
    text = annotations.get(LAST_APPLIED) if type(annotations) is dict else None
    if type(text) is not str or len(text) > _MAX_LAST_APPLIED:
        return []
    try:
        applied = json.loads(text)
    except ValueError:
        return []
    applied_meta = applied.get("metadata") if isinstance(applied, dict) else None
    if not isinstance(applied_meta, dict):
        return []
    out: list[tuple[list[Any], FieldChange]] = []
    for section in ("labels", "annotations"):
        values = applied_meta.get(section)
        if not isinstance(values, dict):
            continue
        for name in values:
            path = ["metadata", section, str(name)]
            if name in IGNORED_ANNOTATIONS or path_exists(desired, path) or not path_exists(live_n, path):
                continue
            out.append((path, FieldChange(path_text(path), value_at(live_n, path), MISSING_VALUE)))
            if len(out) >= _MAX_REMOVED:
                return out
    return out


def foreign_additions(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[list[Any]]:
    """Paths (shortest first) present live, absent from ``desired``, owned only by other managers."""
    managers = _managers(live)
    if not [m for m in managers if not _ours(m)]:
        return []
    ours = {m for m in managers if _ours(m)}
    owned_by_us = {json.dumps(p, sort_keys=True) for p in managed_paths(live, ours)}
    out: list[list[Any]] = []
    seen: set[str] = set()
    for path in managed_paths(live, ours, exclude=True):
        if json.dumps(path, sort_keys=True) in owned_by_us or path_exists(desired, path):
            continue
        # Drop the outermost step that Git lacks: a whole injected list item, not just its leaves.
        cut = next(i for i in range(1, len(path) + 1) if not path_exists(desired, path[:i]))
        prefix = path[:cut]
        token = json.dumps(prefix, sort_keys=True)
        if token not in seen:
            seen.add(token)
            out.append(prefix)
    return out


def drop_paths(obj: dict[str, Any], paths: list[list[Any]]) -> dict[str, Any]:
    """``obj`` (owned by the caller) without ``paths``."""
    for path in paths:
        remove_path(obj, path)
    return obj
