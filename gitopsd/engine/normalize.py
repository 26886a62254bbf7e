"""Normalization before comparing or diffing: server-set metadata, status, Secret masking.

Typed normalization (quantities, int-or-string, keyed lists) is in gitopsd.engine.typed; ignoreDifferences
in gitopsd.engine.ignore.

Everything here returns new objects; inputs are never modified.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

# Re-exported: ignoreDifferences and field paths lived here before they had modules of their own.
from gitopsd.engine.fieldpaths import managed_paths as managed_paths
from gitopsd.engine.fieldpaths import parse_pointer as parse_pointer
from gitopsd.engine.fieldpaths import remove_path as remove_path
from gitopsd.engine.ignore import IgnoreRule as IgnoreRule
from gitopsd.engine.ignore import IgnoreSet as IgnoreSet
from gitopsd.engine.ignore import apply_ignores as apply_ignores
from gitopsd.engine.jsondata import deep_copy
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
