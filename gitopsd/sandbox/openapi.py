"""The minimal OpenAPI v3 documents kubectl needs before apply/create/diff.

kubectl only needs, per group/version, a path per kind tagged with its group-version-kind and the
``fieldValidation`` parameter; with that it leaves validation to the server (fieldValidation=Strict).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .resources import Registry, ResourceType


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def group_version_doc(registry: Registry, group: str, version: str) -> dict[str, Any] | None:
    types: list[ResourceType] = []
    for name, _, by_version in registry.groups():
        if name == group and version in by_version:
            types = by_version[version]
            break
    else:
        return None
    prefix = "/" + _gv_path(group, version)
    paths: dict[str, Any] = {}
    for rt in types:
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}]
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": params}
        if rt.namespaced:
            item = f"{prefix}/namespaces/{{namespace}}/{rt.plural}/{{name}}"
            collection = f"{prefix}/namespaces/{{namespace}}/{rt.plural}"
        else:
            item = f"{prefix}/{rt.plural}/{{name}}"
            collection = f"{prefix}/{rt.plural}"
        paths[item] = {"patch": op, "put": op, "get": op, "delete": op}
        paths[collection] = {"post": op, "get": op}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "sandbox"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def root_doc(registry: Registry) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for name, versions, _ in registry.groups():
        for v in versions:
            doc = group_version_doc(registry, name, v)
            # The hash changes when the document does (a CRD added a kind), so kubectl's cache stays right.
            digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32].upper()
            rel = _gv_path(name, v)
            paths[rel] = {"serverRelativeURL": f"/openapi/v3/{rel}?hash={digest}"}
    return {"paths": paths}
