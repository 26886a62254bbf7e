"""Validation of written objects: names, and the shapes of the fields the sandbox itself reads.

Not the API server's full validation: enough that hostile or mistaken bodies get a 422 Invalid
naming the field instead of being stored in a shape that would break defaulting, the simulated
controllers or later merges.
"""

from __future__ import annotations

import re
from typing import Any

from .errors import invalid
from .resources import ResourceType

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAMES = frozenset({"/namespaces", "/services"})
_WORKLOADS = frozenset({"apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets"})
Causes = list[tuple[str, str]]


def validate_name(rt: ResourceType, name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise invalid(
            rt.kind, rt.group, "", [("metadata.name", "Required value: name or generateName is required")]
        )
    label_only = rt.storage_key in _LABEL_NAMES
    pattern = _DNS_LABEL if label_only else _DNS_SUBDOMAIN
    if len(name) > (63 if label_only else 253) or not pattern.match(name):
        kind = "label" if label_only else "subdomain"
        raise invalid(
            rt.kind,
            rt.group,
            name[:253],
            [
                (
                    "metadata.name",
                    f'Invalid value: "{name[:253]}": a lowercase RFC 1123 {kind} must consist of lower case '
                    "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
                )
            ],
        )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string_map(value: Any, field: str, causes: Causes) -> None:
    if value is not None and (
        not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
    ):
        causes.append((field, "must be a map of strings"))


def _count(value: Any, field: str, causes: Causes) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        causes.append((field, f"Invalid value: {str(value)[:50]}: must be a non-negative integer"))


def _pod_spec(spec: Any, field: str, causes: Causes) -> None:
    if not isinstance(spec, dict):
        causes.append((field, "Required value"))
        return
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        causes.append((f"{field}.containers", "Required value"))
        return
    for key in ("containers", "initContainers"):
        items = spec.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            causes.append((f"{field}.{key}", "must be a list"))
            continue
        names: set[str] = set()
        for n, c in enumerate(items):
            where = f"{field}.{key}[{n}]"
            if not isinstance(c, dict):
                causes.append((where, "must be an object"))
                continue
            name = c.get("name")
            if not isinstance(name, str) or not name:
                causes.append((f"{where}.name", "Required value"))
            elif name in names:
                causes.append((f"{where}.name", f'Duplicate value: "{name}"'))
            else:
                names.add(name)
            if not isinstance(c.get("image"), str) or not c.get("image"):
                causes.append((f"{where}.image", "Required value"))
            for key2 in ("ports", "env", "volumeMounts"):
                value = c.get(key2)
                if value is not None and (
                    not isinstance(value, list) or not all(isinstance(i, dict) for i in value)
                ):
                    causes.append((f"{where}.{key2}", "must be a list of objects"))
            for m, port in enumerate(c.get("ports") or []):
                if isinstance(port, dict):
                    p = port.get("containerPort")
                    if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= 65535:
                        causes.append(
                            (f"{where}.ports[{m}].containerPort", "must be a port number (1-65535)")
                        )


def _service(obj: dict[str, Any], causes: Causes) -> None:
    spec = obj.get("spec")
    if spec is None:
        return
    if not isinstance(spec, dict):
        causes.append(("spec", "must be an object"))
        return
    if spec.get("type", "ClusterIP") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(
            (
                "spec.type",
                'Unsupported value: supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
            )
        )
    if spec.get("clusterIP") is not None and not isinstance(spec.get("clusterIP"), str):
        causes.append(("spec.clusterIP", "must be a string"))
    ports = spec.get("ports")
    if ports is None:
        return
    if not isinstance(ports, list):
        causes.append(("spec.ports", "must be a list"))
        return
    for n, port in enumerate(ports):
        if not isinstance(port, dict):
            causes.append((f"spec.ports[{n}]", "must be an object"))
            continue
        p = port.get("port")
        if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= 65535:
            causes.append((f"spec.ports[{n}].port", "must be a port number (1-65535)"))
        node_port = port.get("nodePort")
        if node_port is not None and (not isinstance(node_port, int) or isinstance(node_port, bool)):
            causes.append((f"spec.ports[{n}].nodePort", "must be an integer"))


def _crd(obj: dict[str, Any], causes: Causes) -> None:
    name = obj["metadata"]["name"]
    spec = _dict(obj.get("spec"))
    names = _dict(spec.get("names"))
    if not isinstance(spec.get("group"), str) or not spec.get("group"):
        causes.append(("spec.group", "Required value"))
    if (
        not isinstance(names.get("plural"), str)
        or not isinstance(names.get("kind"), str)
        or not names.get("plural")
    ):
        causes.append(("spec.names", "Required value: plural and kind are required"))
    elif name != f"{names['plural']}.{spec.get('group')}":
        causes.append(("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    short = names.get("shortNames")
    if short is not None and (not isinstance(short, list) or not all(isinstance(s, str) for s in short)):
        causes.append(("spec.names.shortNames", "must be a list of strings"))
    versions = spec.get("versions")
    if (
        not isinstance(versions, list)
        or not versions
        or not all(isinstance(v, dict) and isinstance(v.get("name"), str) and v["name"] for v in versions)
    ):
        causes.append(("spec.versions", "Required value: at least one named version"))
    if spec.get("scope", "Namespaced") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", 'Unsupported value: must be "Namespaced" or "Cluster"'))


def validate_object(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Raise 422 Invalid listing every bad field of ``obj``."""
    causes: Causes = []
    key = rt.storage_key
    if key in ("/configmaps", "/secrets"):
        _string_map(obj.get("data"), "data", causes)
        _string_map(obj.get("binaryData"), "binaryData", causes)
        _string_map(obj.get("stringData"), "stringData", causes)
    elif key == "/services":
        _service(obj, causes)
    elif key == "/pods":
        _pod_spec(obj.get("spec"), "spec", causes)
    elif key in _WORKLOADS or key == "batch/jobs":
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            causes.append(("spec", "Required value"))
        else:
            if key != "batch/jobs":
                selector = spec.get("selector")
                if not isinstance(selector, dict):
                    causes.append(("spec.selector", "Required value"))
                else:
                    _string_map(selector.get("matchLabels"), "spec.selector.matchLabels", causes)
                _count(spec.get("replicas"), "spec.replicas", causes)
            template = spec.get("template")
            if not isinstance(template, dict):
                causes.append(("spec.template", "Required value"))
            else:
                _string_map(
                    _dict(template.get("metadata")).get("labels"), "spec.template.metadata.labels", causes
                )
                _pod_spec(template.get("spec"), "spec.template.spec", causes)
    elif key == "apiextensions.k8s.io/customresourcedefinitions":
        _crd(obj, causes)
    if causes:
        raise invalid(rt.kind, rt.group, str(obj["metadata"].get("name", "")), causes)
