"""Decoding of built-in kinds against their published schemas: unknown fields, types, quantities.

A real API server decodes a request body into the kind's Go type. That decoding drops fields the
type does not have (``fieldValidation``: Strict fails the request with ``strict decoding error:
unknown field "spec.foo"``, Warn answers ``Warning: 299`` headers, Ignore says nothing), refuses
values of the wrong JSON type with a 400, and re-emits every Quantity canonical.

The shapes come from the Kubernetes 1.37 OpenAPI schemas the ``kubernetes-validate`` package ships
(``-strict`` flavour: closed objects carry ``additionalProperties: false``), never from a hand
list. Each kind's schema is compiled once, on first use, into a small tree of ``Shape`` nodes (the
``$ref`` graph resolved, recursion shared); one walk over a body then does all three jobs, so the
per-request cost is proportional to the body, not to the schema.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from .bodies import DuplicateKeys
from .quantity import QuantityError, canonical

SCHEMA_DIR = "kubernetes-json-schema/v1.37.0-local-strict"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
DIRECTIVES = ("Strict", "Warn", "Ignore")


@dataclass(eq=False)
class Shape:
    """What one position of an object may hold."""

    kind: str  # object, map, array, quantity, intorstring, string, integer, number, boolean, any
    go_type: str = ""
    props: dict[str, Shape] = field(default_factory=dict)
    closed: bool = False  # an object that drops (and reports) fields it does not declare
    item: Shape | None = None  # the element of an array, or the value of a map


class DecodeError(ValueError):
    """A body the kind's Go type cannot hold (answered as 400 BadRequest)."""


@dataclass
class Findings:
    unknown: list[str] = field(default_factory=list)  # paths of fields the kind does not have
    fields: list[str] = field(default_factory=list)  # unknown and duplicate fields, in body order
    errors: list[str] = field(default_factory=list)


_ANY = Shape("any")
_JSON_TYPES = {"string", "integer", "number", "boolean", "object", "array"}


class _Compiler:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.done: dict[str, Shape] = {}

    def ref(self, ref: str) -> Shape:
        name = ref.rsplit("/", 1)[-1]
        if name == QUANTITY:
            return Shape("quantity", "resource.Quantity")
        if name == INT_OR_STRING:
            return Shape("intorstring", "intstr.IntOrString")
        if name not in self.done:
            parts = name.rsplit(".", 2)
            go = f"{parts[-2]}.{parts[-1]}" if len(parts) == 3 else name
            self.done[name] = shape = Shape("any", go)  # placeholder first: schemas are recursive
            self.fill(shape, self.defs.get(name) or {})
        return self.done[name]

    def node(self, schema: dict[str, Any]) -> Shape:
        if "$ref" in schema:
            return self.ref(schema["$ref"])
        shape = Shape("any")
        self.fill(shape, schema)
        return shape

    def fill(self, shape: Shape, schema: dict[str, Any]) -> None:
        types = schema.get("type")
        types = [types] if isinstance(types, str) else list(types or [])
        kinds = [t for t in types if t in _JSON_TYPES]
        kind = kinds[0] if kinds else "any"
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                shape.kind, shape.item = "map", self.node(extra)
                shape.go_type = f"map[string]{shape.item.go_type or 'interface {}'}"
            elif "properties" in schema or extra is False:
                shape.kind, shape.closed = "object", extra is False
                shape.props = {k: self.node(v) for k, v in (schema.get("properties") or {}).items()}
            # an object with neither (RawExtension, JSON, FieldsV1) holds anything
        elif kind == "array":
            shape.kind, shape.item = "array", self.node(schema.get("items") or {})
            shape.go_type = f"[]{shape.item.go_type}"
        elif kind != "any":
            shape.kind = kind
            fmt = schema.get("format")
            shape.go_type = {"integer": fmt or "int", "number": "float64", "boolean": "bool"}.get(
                kind, "string"
            )


_lock = threading.Lock()
_defs: dict[str, Any] | None = None
_compiler: _Compiler | None = None
_kinds: dict[tuple[str, str, str], Shape | None] = {}


def _file(name: str) -> Any:
    path = resources.files("kubernetes_validate").joinpath(SCHEMA_DIR, name)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def shape_for(group: str, version: str, kind: str) -> Shape | None:
    """The compiled shape of a built-in kind, or None if the published schemas lack it."""
    key = (group, version, kind)
    with _lock:
        if key in _kinds:
            return _kinds[key]
        global _defs, _compiler
        if _compiler is None:
            _defs = _file("_definitions.json")["$defs"]
            _compiler = _Compiler(_defs)
        prefix = group.split(".", 1)[0]
        name = f"{kind.lower()}-{prefix}-{version}.json" if group else f"{kind.lower()}-{version}.json"
        doc = _file(name)
        gvk = (doc or {}).get("x-kubernetes-group-version-kind") or []
        if doc is None or not any(
            g.get("group") == group and g.get("version") == version and g.get("kind") == kind for g in gvk
        ):
            _kinds[key] = None
            return None
        shape = Shape("object", f"{prefix or 'v1'}.{kind}")
        _compiler.fill(shape, doc)
        _kinds[key] = shape
        return shape


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _wrong(found: Findings, value: Any, parent: str, path: str, shape: Shape) -> None:
    got = _json_type(value)
    if got == "number" and isinstance(value, float) and shape.kind == "integer":
        got = f"number {value}"
    found.errors.append(
        f"json: cannot unmarshal {got} into Go struct field {parent}.{path.lstrip('.')} of type {shape.go_type}"
    )


def walk(value: Any, shape: Shape, path: str, go_path: str, parent: str, found: Findings) -> Any:
    """Check ``value`` against ``shape``; returns it with unknown fields pruned and quantities
    canonical (a new container only where something changed)."""
    if value is None or shape.kind == "any":
        return value
    kind = shape.kind
    if kind == "object":
        if not isinstance(value, dict):
            _wrong(found, value, parent, go_path, shape)
            return value
        out = value
        repeated = value.duplicates if isinstance(value, DuplicateKeys) else ()
        for key, sub in value.items():
            child = shape.props.get(key)
            where = f"{path}.{key}" if path else key
            if key in repeated:
                found.fields.append(f'duplicate field "{where}"')
            if child is None:
                if shape.closed:
                    found.unknown.append(where)
                    found.fields.append(f'unknown field "{where}"')
                    if out is value:
                        out = dict(value)
                    del out[key]
                continue
            new = walk(sub, child, where, f"{go_path}.{key}", shape.go_type.split(".")[-1], found)
            if new is not sub:
                if out is value:
                    out = dict(value)
                out[key] = new
        return out
    if kind == "map":
        if not isinstance(value, dict):
            _wrong(found, value, parent, go_path, shape)
            return value
        assert shape.item is not None
        out = value
        for key, sub in value.items():
            new = walk(sub, shape.item, f"{path}[{key}]", go_path, parent, found)
            if new is not sub:
                if out is value:
                    out = dict(value)
                out[key] = new
        return out
    if kind == "array":
        if not isinstance(value, list):
            _wrong(found, value, parent, go_path, shape)
            return value
        assert shape.item is not None
        items = value
        for n, sub in enumerate(value):
            new = walk(sub, shape.item, f"{path}[{n}]", go_path, parent, found)
            if new is not sub:
                if items is value:
                    items = list(value)
                items[n] = new
        return items
    if kind == "quantity":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            _wrong(found, value, parent, go_path, shape)
            return value
        try:
            text = canonical(value)
        except QuantityError as exc:
            found.errors.append(str(exc))
            return value
        return value if text == value else text
    if kind == "intorstring":
        # Kept exactly as sent: 8080 and "http" are both valid, and "8080" stays a string.
        if isinstance(value, bool) or not isinstance(value, str | int):
            _wrong(found, value, parent, go_path, shape)
        return value
    ok = {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
    }.get(kind, True)
    if not ok:
        _wrong(found, value, parent, go_path, shape)
    return value


def decode(group: str, version: str, kind: str, obj: dict[str, Any]) -> tuple[dict[str, Any], Findings]:
    """``obj`` as the kind's Go type would hold it, and what decoding found."""
    found = Findings()
    shape = shape_for(group, version, kind)
    if shape is None:
        return obj, found
    out = walk(obj, shape, "", "", kind, found)
    return out, found
