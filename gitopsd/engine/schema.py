"""Field types of Kubernetes objects, from the published OpenAPI schemas (kubernetes-validate ships them).

Typed normalization (gitopsd.engine.typed) asks this module which fields are quantities or int-or-string,
which lists are maps keyed by which fields, and which server defaults a list item gets. Custom resources have
no built-in schema: ``knownTypeFields`` (Argo CD's resource customization) names the built-in type of some of
their fields, e.g. a Rollout's ``spec.template`` is a ``core/v1/PodTemplateSpec``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
_SCHEMA_DIR = "v1.37.0-local"
Schema = Mapping[str, Any]


@functools.lru_cache(maxsize=1)
def definitions() -> dict[str, Any]:
    """All type definitions (862 in 1.37), read once."""
    root = resources.files("kubernetes_validate") / "kubernetes-json-schema" / _SCHEMA_DIR / "_definitions.json"
    data: dict[str, Any] = json.loads(root.read_text())["$defs"]
    return data


@functools.lru_cache(maxsize=1)
def _kinds() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for name, definition in definitions().items():
        for gvk in definition.get("x-kubernetes-group-version-kind") or ():
            out.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")), name)
    return out


def ref_name(schema: Schema | None) -> str:
    ref = schema.get("$ref") if isinstance(schema, Mapping) else None
    return ref.rpartition("/")[2] if isinstance(ref, str) else ""


def resolve(schema: Schema | None) -> tuple[str, Schema | None]:
    """(definition name or "", the schema itself) for a schema that may be a ``$ref``."""
    name = ref_name(schema)
    if name:
        return name, definitions().get(name)
    return "", schema


def type_name(spec: str) -> str:
    """Argo CD's type spelling (``core/v1/PodSpec``, ``apps/v1/DeploymentSpec``, ``meta/v1/ObjectMeta``) →
    the definition name; raises ValueError when no such type is known."""
    parts = spec.strip().split("/")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"{spec!r} is not a type such as core/v1/PodSpec")
    group, version, kind = parts
    prefix = "io.k8s.apimachinery.pkg.apis.meta" if group == "meta" else f"io.k8s.api.{group}"
    name = f"{prefix}.{version}.{kind}"
    if name not in definitions():
        raise ValueError(f"{spec!r} is not a known Kubernetes type")
    return name


@dataclass(frozen=True)
class KnownTypeFields:
    """(group, kind) → [(field path, definition name)] for custom resources."""

    fields: Mapping[tuple[str, str], tuple[tuple[tuple[str, ...], str], ...]]

    @staticmethod
    def parse(customizations: Mapping[str, Mapping[str, Any]]) -> KnownTypeFields:
        """From resource customizations ``{"GROUP/KIND": {"knownTypeFields": [{field, type}, ...]}}`` (the list
        may be a YAML string, as in Argo CD's ConfigMap). Raises ValueError naming what is wrong."""
        out: dict[tuple[str, str], tuple[tuple[tuple[str, ...], str], ...]] = dict(_DEFAULT_KNOWN)
        for group_kind, settings in customizations.items():
            raw = settings.get("knownTypeFields") if isinstance(settings, Mapping) else None
            if raw is None:
                continue
            where = f"resource_customizations[{group_kind!r}].knownTypeFields"
            entries = yaml.safe_load(raw) if isinstance(raw, str) else raw
            if not isinstance(entries, list):
                raise ValueError(f"{where}: expected a list of {{field, type}}")
            group, _, kind = group_kind.rpartition("/")
            parsed: list[tuple[tuple[str, ...], str]] = []
            for i, entry in enumerate(entries):
                if not isinstance(entry, Mapping) or not isinstance(entry.get("field"), str):
                    raise ValueError(f"{where}[{i}]: expected field: and type:")
                try:
                    parsed.append((tuple(entry["field"].split(".")), type_name(str(entry.get("type", "")))))
                except ValueError as exc:
                    raise ValueError(f"{where}[{i}].type: {exc}") from None
            out[(group, kind)] = tuple(parsed)
        return KnownTypeFields(out)


# As Argo CD does by default: an Argo Rollout's pod spec is a PodSpec.
_DEFAULT_KNOWN = {("argoproj.io", "Rollout"): ((("spec", "template", "spec"), "io.k8s.api.core.v1.PodSpec"),)}
NO_KNOWN_TYPES = KnownTypeFields(_DEFAULT_KNOWN)


def root_schema(group: str, version: str, kind: str, known: KnownTypeFields = NO_KNOWN_TYPES) -> Schema | None:
    """The schema of a whole object of this kind, or None when nothing in it needs typed normalization."""
    name = _kinds().get((group, version, kind))
    if name:
        return _builtin_root(name)
    return _known_root(known.fields.get((group, kind), ()))


@functools.lru_cache(maxsize=1024)
def _builtin_root(name: str) -> Schema | None:
    # A ConfigMap, say, holds nothing typed: None lets compare skip the walk altogether.
    return {"$ref": f"#/$defs/{name}"} if interesting(name) else None


def _known_root(entries: Iterable[tuple[tuple[str, ...], str]]) -> Schema | None:
    root: dict[str, Any] = {}
    for path, name in entries:
        node = root
        for step in path[:-1]:
            node = node.setdefault("properties", {}).setdefault(step, {})
        node.setdefault("properties", {})[path[-1]] = {"$ref": f"#/$defs/{name}"}
    return root or None


@functools.lru_cache(maxsize=4096)
def interesting(name: str) -> bool:
    """Whether a definition holds (at any depth) a quantity, an int-or-string, or a keyed list with defaults:
    only such subtrees are walked, so a ConfigMap costs nothing."""
    return _interesting(name, set())


def _interesting(name: str, seen: set[str]) -> bool:
    if name in (QUANTITY, INT_OR_STRING) or name in ITEM_DEFAULTS:
        return True
    if name in seen:
        return False
    seen.add(name)
    definition = definitions().get(name)
    return bool(definition) and _schema_interesting(definition, seen)


def _schema_interesting(schema: Any, seen: set[str]) -> bool:
    if not isinstance(schema, Mapping):
        return False
    name = ref_name(schema)
    if name:
        return _interesting(name, seen)
    for sub in (schema.get("items"), schema.get("additionalProperties")):
        if _schema_interesting(sub, seen):
            return True
    return any(_schema_interesting(s, seen) for s in (schema.get("properties") or {}).values())


def at_path(schema: Schema | None, path: Iterable[Any]) -> tuple[str, Schema | None]:
    """The (definition name, schema) at a field path (str: a field, dict/int: a list item)."""
    name, node = resolve(schema)
    for step in path:
        if node is None:
            return "", None
        if isinstance(step, str):
            props = node.get("properties")
            sub = props.get(step) if isinstance(props, Mapping) else None
            if sub is None and isinstance(node.get("additionalProperties"), Mapping):
                sub = node["additionalProperties"]
        else:
            sub = node.get("items")
        name, node = resolve(sub)
    return name, node


def _image_pull_policy(item: Mapping[str, Any]) -> str:
    image = str(item.get("image") or "")
    tag = image.rpartition("/")[2].partition("@")[0]
    return "Always" if ":" not in tag or tag.endswith(":latest") else "IfNotPresent"


def _constant(value: Any) -> Callable[[Mapping[str, Any]], Any]:
    return lambda _item: value


# Defaults a real API server fills into list items (Kubernetes' documented defaults), by item type:
# a field gitopsd applied before and no longer sets whose live value is its default is not removed by an
# apply (the server defaults it again), and missing map keys (a port's protocol) are filled before matching.
ITEM_DEFAULTS: dict[str, dict[str, Callable[[Mapping[str, Any]], Any]]] = {
    "io.k8s.api.core.v1.ContainerPort": {"protocol": _constant("TCP")},
    "io.k8s.api.core.v1.ServicePort": {"protocol": _constant("TCP"), "targetPort": lambda i: i.get("port")},
    "io.k8s.api.core.v1.EndpointPort": {"protocol": _constant("TCP")},
    "io.k8s.api.discovery.v1.EndpointPort": {"protocol": _constant("TCP")},
    "io.k8s.api.core.v1.Container": {
        "imagePullPolicy": _image_pull_policy,
        "terminationMessagePath": _constant("/dev/termination-log"),
        "terminationMessagePolicy": _constant("File"),
    },
}
