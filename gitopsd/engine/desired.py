"""Preparing desired objects: validation, namespace defaulting, tracking annotation, hook and option parsing.

Input: the rendered manifests of one application. Output: DesiredObjects the compare and sync steps use,
plus per-object errors (an object without apiVersion/kind/name, a kind the cluster does not serve) that
never stop the others.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gitopsd.engine.annotations import (
    HookInfo,
    compare_options,
    hook_info,
    misspelling_warnings,
    sync_options,
)
from gitopsd.engine.resources import ManifestError, ResourceKey, key_of, split_api_version
from gitopsd.engine.tracking import with_tracking
from gitopsd.kube.errors import KubeError, UnknownKind

# (api_version, kind) → namespaced; raises UnknownKind (or another KubeError).
ScopeResolver = Callable[[str, str], bool]


@dataclass(frozen=True)
class DesiredObject:
    key: ResourceKey
    obj: dict[str, Any]  # with namespace set and our tracking annotation
    hook: HookInfo
    sync_options: Mapping[str, str]
    compare_options: Mapping[str, str]
    namespaced: bool

    @property
    def is_hook(self) -> bool:
        return self.hook.is_hook

    @property
    def skipped(self) -> bool:
        return self.hook.skip


@dataclass(frozen=True)
class ObjectError:
    """A desired object that cannot be compared or applied. ``key`` is None when it has no identity."""

    key: ResourceKey | None
    message: str
    index: int = -1


@dataclass(frozen=True)
class PreparedSet:
    objects: tuple[DesiredObject, ...]
    errors: tuple[ObjectError, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def by_key(self) -> dict[ResourceKey, DesiredObject]:
        return {d.key: d for d in self.objects}


def _crd_scopes(objects: Iterable[Any]) -> dict[tuple[str, str], bool]:
    """Kinds defined by CRDs among the desired objects: (group, kind) → namespaced."""
    scopes: dict[tuple[str, str], bool] = {}
    for obj in objects:
        if not isinstance(obj, Mapping) or obj.get("kind") != "CustomResourceDefinition":
            continue
        spec = obj.get("spec")
        if not isinstance(spec, Mapping):
            continue
        names = spec.get("names")
        group = spec.get("group")
        if isinstance(names, Mapping) and isinstance(group, str) and isinstance(names.get("kind"), str):
            scopes[(group, names["kind"])] = spec.get("scope", "Namespaced") == "Namespaced"
    return scopes


MAX_DEPTH = 100


def _check_depth(value: Any, depth: int = 0) -> None:
    """Refuse absurdly nested objects up front: every later step (compare, diff, YAML) recurses."""
    if depth > MAX_DEPTH:
        raise RecursionError("too deep")
    if isinstance(value, dict):
        for v in value.values():
            _check_depth(v, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_depth(v, depth + 1)


def _name_generated_hook(raw: Any) -> Any:
    """Hooks often use ``generateName``; server-side apply needs a name, so derive a stable one from the
    content (the same hook content gets the same name, which BeforeHookCreation then replaces)."""
    if not isinstance(raw, Mapping):
        return raw
    meta = raw.get("metadata")
    if not isinstance(meta, Mapping) or meta.get("name") or not isinstance(meta.get("generateName"), str):
        return raw
    if not hook_info(raw).types:
        return raw
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:5]
    named = dict(raw)
    named["metadata"] = {k: v for k, v in meta.items() if k != "generateName"} | {
        "name": meta["generateName"] + digest
    }
    return named


def prepare(
    manifests: Iterable[Any],
    *,
    app: str,
    default_namespace: str,
    resolve_scope: ScopeResolver,
) -> PreparedSet:
    """Validate and complete desired objects.

    Namespaced objects without a namespace get ``default_namespace``; cluster-scoped ones lose any
    namespace (as kubectl and Argo CD do). Kinds defined by a CRD in the same set are accepted before
    the CRD exists. Duplicates are an error for the second occurrence.
    """
    manifests = list(manifests)
    crd_scopes = _crd_scopes(manifests)
    objects: list[DesiredObject] = []
    errors: list[ObjectError] = []
    warnings: list[str] = []
    seen: set[ResourceKey] = set()
    scope_cache: dict[tuple[str, str], bool | KubeError] = {}
    for index, raw in enumerate(manifests):
        raw = _name_generated_hook(raw)
        try:
            key = key_of(raw)
        except ManifestError as exc:
            errors.append(ObjectError(None, f"manifest #{index + 1}: {exc}", index))
            continue
        scope_id = (key.api_version, key.kind)
        if scope_id not in scope_cache:
            try:
                scope_cache[scope_id] = resolve_scope(key.api_version, key.kind)
            except UnknownKind as exc:
                group, _ = split_api_version(key.api_version)
                if (group, key.kind) in crd_scopes:
                    scope_cache[scope_id] = crd_scopes[(group, key.kind)]
                else:
                    scope_cache[scope_id] = exc
            except KubeError as exc:
                if exc.cluster_unavailable:
                    raise  # the whole comparison fails with the cluster's error (see KubeError)
                scope_cache[scope_id] = exc
        scope = scope_cache[scope_id]
        if isinstance(scope, KubeError):
            message = (
                f"the cluster does not serve kind {key.kind} in apiVersion {key.api_version}"
                if isinstance(scope, UnknownKind)
                else str(scope)
            )
            errors.append(ObjectError(key, message, index))
            continue
        namespaced = scope
        namespace = (key.namespace or default_namespace) if namespaced else ""
        if namespaced and not namespace:
            errors.append(ObjectError(key, "namespaced object without a namespace and no default", index))
            continue
        key = ResourceKey(key.group, key.kind, namespace, key.name, key.version)
        if key in seen:
            errors.append(ObjectError(key, f"{key.display()} appears more than once in the manifests", index))
            continue
        seen.add(key)
        obj = dict(raw)
        meta = dict(obj.get("metadata") or {})
        if namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        obj["metadata"] = meta
        try:
            obj = with_tracking(obj, app, key)
            _check_depth(obj)
        except RecursionError:
            errors.append(ObjectError(key, f"{key.display()} is nested too deeply to handle", index))
            continue
        warnings.extend(misspelling_warnings(obj, key.display()))
        objects.append(
            DesiredObject(
                key=key,
                obj=obj,
                hook=hook_info(obj),
                sync_options=sync_options(obj),
                compare_options=compare_options(obj),
                namespaced=namespaced,
            )
        )
    return PreparedSet(tuple(objects), tuple(errors), tuple(warnings))
