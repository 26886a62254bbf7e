"""Custom resources against their CRD version's structural schema (``openAPIV3Schema``).

What a real API server does with a custom resource body, in its order: prune fields the schema does
not declare (unless ``x-kubernetes-preserve-unknown-fields``), drop ``null`` where the field is not
``nullable``, apply ``default`` values, then validate types, enums, bounds, lengths, patterns,
``required`` and ``x-kubernetes-list-type`` set/map uniqueness. Pruned fields are reported so the
caller can honour ``fieldValidation`` (Strict fails, Warn warns); validation failures are 422
causes in the real ``field: Invalid value: ...`` wording.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .bodies import DuplicateKeys

Causes = list[tuple[str, str]]
_ROOT_KEEP = frozenset({"apiVersion", "kind", "metadata"})
_TYPE_OK = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


@dataclass
class Result:
    unknown: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)  # unknown and duplicate fields, in body order
    causes: Causes = field(default_factory=list)


def _show(value: Any) -> str:
    """A value as Go's %#v-ish rendering in field errors: strings quoted, others as JSON."""
    text = json.dumps(value) if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text[:200]


def version_schema(crd: dict[str, Any], version: str) -> dict[str, Any] | None:
    """The openAPIV3Schema of one version of a CRD (or None when it declares none)."""
    spec = crd.get("spec") or {}
    for ver in spec.get("versions") or []:
        if isinstance(ver, dict) and ver.get("name") == version:
            schema = (ver.get("schema") or {}).get("openAPIV3Schema")
            return schema if isinstance(schema, dict) else None
    top = (spec.get("validation") or {}).get("openAPIV3Schema")
    return top if isinstance(top, dict) else None


def _walk(value: Any, schema: dict[str, Any], path: str, res: Result, root: bool = False) -> Any:
    """Prune, default and validate ``value`` in place where it is a container; returns the value."""
    if schema.get("x-kubernetes-int-or-string"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            res.causes.append(
                (
                    path,
                    f"Invalid value: {_show(value)}: {path} in body must be of type integer,string: {_show(value)}",
                )
            )
        return value
    typ = schema.get("type")
    if typ and typ in _TYPE_OK and not _TYPE_OK[typ](value):
        res.causes.append(
            (path, f"Invalid value: {_show(value)}: {path} in body must be of type {typ}: {_show(value)}")
        )
        return value
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        repeated = value.duplicates if isinstance(value, DuplicateKeys) else ()
        for key in list(value):
            where = f"{path}.{key}" if path else key
            if key in repeated:
                res.fields.append(f'duplicate field "{where}"')
            if root and key in _ROOT_KEEP:
                continue
            sub = props.get(key)
            if sub is None and isinstance(extra, dict):
                sub = extra
            if sub is None:
                if not preserve and extra is not True:
                    res.unknown.append(where)
                    res.fields.append(f'unknown field "{where}"')
                    del value[key]
                continue
            if value[key] is None and not sub.get("nullable"):
                del value[key]  # a null the schema does not allow is pruned, then defaulted
                continue
            if value[key] is not None:
                value[key] = _walk(value[key], sub, where, res)
        for key, sub in props.items():
            if key not in value and isinstance(sub, dict) and "default" in sub:
                where = f"{path}.{key}" if path else key
                value[key] = _walk(copy.deepcopy(sub["default"]), sub, where, res)
        for key in schema.get("required") or []:
            if key not in value:
                res.causes.append((f"{path}.{key}" if path else key, "Required value"))
        _bounds(len(value), schema, path, res, "minProperties", "maxProperties", "properties")
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for n, item in enumerate(value):
                if item is not None:
                    value[n] = _walk(item, items, f"{path}[{n}]", res)
        _bounds(len(value), schema, path, res, "minItems", "maxItems", "items")
        _unique(value, schema, path, res)
    else:
        _scalar(value, schema, path, res)
    return value


def _bounds(n: int, schema: dict[str, Any], path: str, res: Result, lo: str, hi: str, what: str) -> None:
    if isinstance(schema.get(hi), int) and n > schema[hi]:
        res.causes.append((path, f"Too many: {n}: must have at most {schema[hi]} {what}"))
    if isinstance(schema.get(lo), int) and n < schema[lo]:
        res.causes.append(
            (path, f"Invalid value: {n}: {path} in body should have at least {schema[lo]} {what}")
        )


def _scalar(value: Any, schema: dict[str, Any], path: str, res: Result) -> None:
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        allowed = ", ".join(_show(e) for e in enum)
        res.causes.append((path, f"Unsupported value: {_show(value)}: supported values: {allowed}"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        top, bottom = schema.get("maximum"), schema.get("minimum")
        if isinstance(top, int | float) and (value >= top if schema.get("exclusiveMaximum") else value > top):
            rel = "less than" if schema.get("exclusiveMaximum") else "less than or equal to"
            res.causes.append((path, f"Invalid value: {_show(value)}: {path} in body should be {rel} {top}"))
        if isinstance(bottom, int | float) and (
            value <= bottom if schema.get("exclusiveMinimum") else value < bottom
        ):
            rel = "greater than" if schema.get("exclusiveMinimum") else "greater than or equal to"
            res.causes.append(
                (path, f"Invalid value: {_show(value)}: {path} in body should be {rel} {bottom}")
            )
    if isinstance(value, str):
        if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
            res.causes.append((path, f"Too long: may not be more than {schema['maxLength']} bytes"))
        if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
            res.causes.append(
                (
                    path,
                    f"Invalid value: {_show(value)}: {path} in body should be at least {schema['minLength']} chars long",
                )
            )
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            try:
                ok = re.search(pattern, value) is not None
            except re.error:
                ok = True  # the CRD's own pattern is checked when the CRD is written
            if not ok:
                res.causes.append(
                    (path, f"Invalid value: {_show(value)}: {path} in body should match '{pattern}'")
                )


def _unique(value: list[Any], schema: dict[str, Any], path: str, res: Result) -> None:
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        seen: list[Any] = []
        for n, item in enumerate(value):
            if item in seen:
                res.causes.append((f"{path}[{n}]", f"Duplicate value: {_show(item)}"))
            else:
                seen.append(item)
    elif list_type == "map":
        keys = [k for k in schema.get("x-kubernetes-list-map-keys") or [] if isinstance(k, str)]
        item_props = (schema.get("items") or {}).get("properties") or {}
        seen_keys: set[str] = set()
        for n, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            # A missing key with a default counts as its default (defaults are applied by now).
            ident = {k: item.get(k, (item_props.get(k) or {}).get("default")) for k in keys}
            text = json.dumps(ident, sort_keys=True)
            if text in seen_keys:
                shown = ", ".join(f'"{k}":{_show(v)}' for k, v in ident.items())
                res.causes.append((f"{path}[{n}]", f"Duplicate value: map[string]interface {{}}{{{shown}}}"))
            seen_keys.add(text)


def check(obj: dict[str, Any], schema: dict[str, Any]) -> Result:
    """Prune, default and validate a custom resource in place."""
    res = Result()
    _walk(obj, schema, "", res, root=True)
    return res
