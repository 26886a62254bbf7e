"""Which lists of a Kubernetes object merge by key, and by which key.

A small stand-in for the patchMergeKey / listMapKeys of the real OpenAPI schema: enough for the
pod template lists (containers, ports, env, volumes, volumeMounts...) that strategic merge patch
and server-side apply must merge rather than replace.
"""

from __future__ import annotations

from typing import Any

# Field name -> merge key of its items.
_BY_NAME = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "imagePullSecrets": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
    "secrets": "name",
    "resourceClaims": "name",
}
# Lists of scalars merged as sets.
SET_LISTS = frozenset({"finalizers"})


def merge_key(field: str, *samples: list[Any] | None) -> str | None:
    """The key that identifies items of the list ``field``, judged from its items, or None if atomic."""
    items = [i for s in samples if isinstance(s, list) for i in s]
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if field == "ports":
        # Container ports are keyed by containerPort; Service ports by port.
        if all("containerPort" in i for i in items if "$patch" not in i):
            return "containerPort"
        if all("port" in i for i in items if "$patch" not in i):
            return "port"
        return None
    key = _BY_NAME.get(field)
    if key is None:
        return None
    if all(key in i for i in items if "$patch" not in i or key in i):
        return key
    return None
