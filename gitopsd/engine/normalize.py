"""Normalization before comparing or diffing: server-set metadata, status, ignored fields, Secret masking.

Everything here returns new objects; inputs are never modified.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitopsd.engine.jsondata import deep_copy
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.tracking import TRACKING_ANNOTATION

Obj = dict[str, Any]

SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "managedFields",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_SERVER_METADATA = frozenset(SERVER_METADATA)
IGNORED_ANNOTATIONS = (TRACKING_ANNOTATION, "kubectl.kubernetes.io/last-applied-configuration")
FIELD_MANAGER = "gitopsd"


def normalize(obj: Mapping[str, Any]) -> Obj:
    """A copy without server-set metadata, status, our tracking and kubectl's last-applied annotations."""
    # Copied field by field so what is dropped anyway (status, managedFields) is never copied.
    out: Obj = {}
    for name, value in obj.items():
        if name == "status":
            continue
        if name == "metadata" and isinstance(value, Mapping):
            out[name] = {k: deep_copy(v) for k, v in value.items() if k not in _SERVER_METADATA}
        else:
            out[name] = deep_copy(value)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for name in IGNORED_ANNOTATIONS:
                annotations.pop(name, None)
            if not annotations:
                meta.pop("annotations", None)
        if isinstance(meta.get("labels"), dict) and not meta["labels"]:
            meta.pop("labels")
    return out


def secret_string_data_to_data(obj: Obj) -> Obj:
    """Fold a desired Secret's stringData into data (base64), as the API server does on write."""
    if obj.get("kind") != "Secret" or obj.get("apiVersion") != "v1":
        return obj
    string_data = obj.get("stringData")
    if not isinstance(string_data, dict):
        return obj
    out = dict(obj)
    data = dict(out.get("data") or {})
    for k, v in string_data.items():
        data[k] = base64.b64encode(str(v).encode()).decode()
    out["data"] = data
    out.pop("stringData")
    return out


# ---------------------------------------------------------------- ignoreDifferences


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry (Argo CD's shape). Empty group/name/namespace match any."""

    kind: str
    group: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, key: ResourceKey) -> bool:
        if self.kind not in ("", "*") and self.kind != key.kind:
            return False
        if self.group not in ("*",) and self.group != key.group:
            # Argo CD treats an empty group as the core group only.
            return False
        if self.name and self.name != key.name:
            return False
        return not (self.namespace and self.namespace != key.namespace)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> IgnoreRule:
        def strings(name: str, alt: str) -> tuple[str, ...]:
            value = d.get(name, d.get(alt)) or ()
            return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

        return IgnoreRule(
            kind=str(d.get("kind") or ""),
            group=str(d.get("group") or ""),
            name=str(d.get("name") or ""),
            namespace=str(d.get("namespace") or ""),
            json_pointers=strings("jsonPointers", "json_pointers"),
            jq_path_expressions=strings("jqPathExpressions", "jq_path_expressions"),
            managed_fields_managers=strings("managedFieldsManagers", "managed_fields_managers"),
        )


@dataclass(frozen=True)
class IgnoreSet:
    rules: tuple[IgnoreRule, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @staticmethod
    def build(rules: Iterable[IgnoreRule | Mapping[str, Any]]) -> IgnoreSet:
        parsed = tuple(r if isinstance(r, IgnoreRule) else IgnoreRule.from_dict(r) for r in rules)
        warnings = tuple(
            f"ignoreDifferences for {r.kind or '*'}: jqPathExpressions are not supported and were ignored"
            for r in parsed
            if r.jq_path_expressions
        )
        return IgnoreSet(parsed, warnings)

    def for_key(self, key: ResourceKey) -> list[IgnoreRule]:
        return [r for r in self.rules if r.matches(key)]


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
    entries = meta.get("managedFields") if isinstance(meta, Mapping) else None
    paths: list[list[Any]] = []
    if not isinstance(entries, list):
        return paths
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        if (entry.get("manager") in wanted) == exclude:
            continue
        fields = entry.get("fieldsV1")
        if isinstance(fields, Mapping):
            _walk_fields(fields, [], paths)
    return paths


def _walk_fields(node: Mapping[str, Any], prefix: list[Any], out: list[list[Any]]) -> None:
    children = [k for k in node if k != "."]
    if not children and prefix:
        out.append(prefix)
        return
    for k in children:
        sub = node[k]
        if not isinstance(k, str):
            continue
        step: Any
        if k.startswith("f:"):
            step = k[2:]
        elif k.startswith("k:"):
            try:
                step = json.loads(k[2:])
            except ValueError:
                continue
            if not isinstance(step, dict):
                continue
        elif k.startswith("i:"):
            try:
                step = int(k[2:])
            except ValueError:
                continue
        else:
            # v: (set members) — treat the whole list as owned.
            if prefix:
                out.append(prefix)
            continue
        _walk_fields(sub if isinstance(sub, Mapping) else {}, prefix + [step], out)


def apply_ignores(obj: Obj, rules: Iterable[IgnoreRule], live: Mapping[str, Any] | None) -> Obj:
    """Remove ignored fields (json pointers, fields owned by ignored managers) from a copy of ``obj``."""
    rules = list(rules)
    if not rules:
        return obj
    out = deep_copy(obj)
    for rule in rules:
        for pointer in rule.json_pointers:
            remove_path(out, list(parse_pointer(pointer)))
        if rule.managed_fields_managers and live is not None:
            for path in managed_paths(live, rule.managed_fields_managers):
                remove_path(out, path)
    return out


# ---------------------------------------------------------------- secret masking


def mask_secrets(live: Obj | None, desired: Obj | None) -> tuple[Obj | None, Obj | None]:
    """Replace Secret data/stringData values by masks: same value → same mask, different → different.

    Masks are runs of ``+`` whose length depends only on the order values were met, never on the values.
    """
    objs = [o for o in (live, desired) if o is not None]
    if not any(o.get("kind") == "Secret" and o.get("apiVersion") == "v1" for o in objs):
        return live, desired
    masks: dict[str, str] = {}

    def mask(value: Any) -> str:
        token = json.dumps(value, sort_keys=True)
        if token not in masks:
            masks[token] = "+" * (8 + len(masks))
        return masks[token]

    def masked(o: Obj | None) -> Obj | None:
        if o is None:
            return None
        out = dict(o)
        for section in ("data", "stringData"):
            values = o.get(section)
            if isinstance(values, dict):
                out[section] = {k: mask(v) for k, v in values.items()}
            elif section in o:
                out[section] = mask(values)
        return out

    # Walk keys in a stable order so live and desired of the same key get masks in the same sequence.
    return masked(live), masked(desired)
