"""How each list and map of a built-in kind merges, read from the published Kubernetes schemas.

Server-side apply and strategic merge patch both need to know, for every list in an object,
whether it is atomic, a set, or a map keyed by some fields (``x-kubernetes-list-type`` /
``x-kubernetes-list-map-keys`` for apply, ``x-kubernetes-patch-strategy`` /
``x-kubernetes-patch-merge-key`` for strategic merge), and which maps are atomic
(``x-kubernetes-map-type``). The answers come from the v1.37 schemas the ``kubernetes-validate``
package ships, loaded once. A ``Node`` is one position in a kind's schema; ``None`` means the
schema says nothing there (custom resources, unknown fields), where callers fall back to the
name-based guesses of ``listkeys``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .listkeys import SET_LISTS, merge_key

SCHEMA_VERSION = "v1.37.0-local"

# Key fields the server defaults before apply builds keys (the shipped schemas drop the OpenAPI
# ``default``s; these are the ones a list-map key relies on: ContainerPort and ServicePort).
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}

_lock = threading.Lock()
_defs: dict[str, Any] | None = None
_by_gvk: dict[tuple[str, str], str] = {}
_resolved: dict[int, dict[str, Any]] = {}


def _load() -> dict[str, Any]:
    global _defs
    with _lock:
        if _defs is None:
            # Located without importing the package (its validators are not needed here).
            spec = importlib.util.find_spec("kubernetes_validate")
            if spec is None or not spec.submodule_search_locations:
                raise RuntimeError("the kubernetes-validate package (Kubernetes schemas) is not installed")
            base = Path(list(spec.submodule_search_locations)[0]) / "kubernetes-json-schema"
            text = (base / SCHEMA_VERSION / "_definitions.json").read_text(encoding="utf-8")
            defs: dict[str, Any] = json.loads(text)["$defs"]
            for name, schema in defs.items():
                for gvk in schema.get("x-kubernetes-group-version-kind") or ():
                    group, version = gvk.get("group", ""), gvk.get("version", "")
                    api_version = f"{group}/{version}" if group else version
                    _by_gvk.setdefault((api_version, gvk.get("kind", "")), name)
            _defs = defs
        return _defs


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed (local keywords such as patch strategy win)."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    cached = _resolved.get(id(schema))
    if cached is not None:
        return cached
    target = _load().get(ref.rsplit("/", 1)[-1], {})
    merged = {**_resolve(target), **{k: v for k, v in schema.items() if k != "$ref"}}
    _resolved[id(schema)] = merged
    return merged


@dataclass(frozen=True)
class Node:
    """One position (object, list or scalar) in a kind's published schema."""

    schema: dict[str, Any]

    def child(self, name: str) -> Node | None:
        props = self.schema.get("properties") or {}
        if name in props:
            return Node(_resolve(props[name]))
        extra = self.schema.get("additionalProperties")
        if isinstance(extra, dict):
            return Node(_resolve(extra))
        return None

    def items(self) -> Node | None:
        item = self.schema.get("items")
        return Node(_resolve(item)) if isinstance(item, dict) else None

    @property
    def atomic_map(self) -> bool:
        return self.schema.get("x-kubernetes-map-type") == "atomic"

    @property
    def list_type(self) -> str:
        """``atomic``, ``set`` or ``map`` for apply (lists are atomic unless the schema says)."""
        return str(self.schema.get("x-kubernetes-list-type") or "atomic")

    @property
    def map_keys(self) -> tuple[str, ...]:
        return tuple(self.schema.get("x-kubernetes-list-map-keys") or ())

    @property
    def patch_merge_key(self) -> str | None:
        strategy = str(self.schema.get("x-kubernetes-patch-strategy") or "")
        if "merge" not in strategy.split(","):
            return None
        return str(self.schema.get("x-kubernetes-patch-merge-key") or "")


# The metadata of every object, custom resources included, follows ObjectMeta.
_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.lru_cache(maxsize=512)
def root(api_version: str, kind: str) -> Node:
    """The schema of ``kind`` in ``api_version``; for kinds without a published schema, one
    that knows only ``metadata``."""
    defs = _load()
    name = _by_gvk.get((api_version, kind))
    if name is not None:
        return Node(defs[name])
    return Node({"properties": {"metadata": defs[_META]}})


def root_of(obj: Any) -> Node:
    if not isinstance(obj, dict):
        return root("", "")
    return root(str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))


def child(node: Node | None, name: str) -> Node | None:
    return node.child(name) if node is not None else None


def items(node: Node | None) -> Node | None:
    return node.items() if node is not None else None


# -- the two questions callers ask ---------------------------------------------------------------
def apply_list(node: Node | None, field: str, *samples: list[Any] | None) -> tuple[str, tuple[str, ...]]:
    """(``atomic`` | ``set`` | ``map``, key fields) of the list ``field`` at ``node`` for apply."""
    if node is not None:
        if node.list_type == "map" and node.map_keys:
            return "map", node.map_keys
        return node.list_type, ()
    # No schema here: custom resources keep the old name-based guesses.
    values = [i for s in samples if isinstance(s, list) for i in s]
    if field in SET_LISTS and all(not isinstance(i, dict | list) for i in values):
        return "set", ()
    key = merge_key(field, *samples)
    return ("map", (key,)) if key else ("atomic", ())


def patch_list(node: Node | None, field: str, *samples: list[Any] | None) -> tuple[str, str]:
    """(``replace`` | ``set`` | ``merge``, merge key) of the list ``field`` for strategic merge."""
    if node is not None:
        key = node.patch_merge_key
        if key is None:
            return "replace", ""
        return ("merge", key) if key else ("set", "")
    values = [i for s in samples if isinstance(s, list) for i in s]
    if field in SET_LISTS and all(not isinstance(i, dict | list) for i in values):
        return "set", ""
    guess = merge_key(field, *samples)
    return ("merge", guess) if guess else ("replace", "")


def key_of(item: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The identity of a list-map item: its key fields (defaulted as the server does), sorted."""
    out: dict[str, Any] = {}
    for k in sorted(keys):
        if k in item and item[k] is not None:
            out[k] = item[k]
        elif k in KEY_DEFAULTS:
            out[k] = KEY_DEFAULTS[k]
    return out


def matches(item: Any, want: dict[str, Any]) -> bool:
    """Whether list item ``item`` has the key ``want`` (absent key fields take their default)."""
    if not isinstance(item, dict):
        return False
    for k, v in want.items():
        have = item.get(k)
        if have is None:
            have = KEY_DEFAULTS.get(k)
        if have != v:
            return False
    return True
