"""Decoding of the protobuf bodies kubectl's imperative commands send (`kubectl create ns|configmap|secret|sa`).

kubectl sends those as ``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0`` and a
runtime.Unknown wrapping the object. Only the few kinds those commands create are understood;
the sandbox answers in JSON, which kubectl accepts.
"""

from __future__ import annotations

import base64
from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"
Fields = list[tuple[int, int, Any]]


def _unsupported(why: str) -> ApiError:
    return ApiError(415, f"the sandbox cannot decode this protobuf body ({why}); send JSON instead")


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise _unsupported("truncated varint")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _fields(buf: bytes) -> Fields:
    out: Fields = []
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
            out.append((num, wire, value))
        elif wire == 2:
            size, i = _varint(buf, i)
            if i + size > len(buf):
                raise _unsupported("truncated field")
            out.append((num, wire, buf[i : i + size]))
            i += size
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise _unsupported(f"wire type {wire}")
    return out


def _text(value: Any) -> str:
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        raise _unsupported("a string field is not UTF-8") from None


def _map_entry(value: bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for num, _, v in _fields(value):
        if num == 1:
            key = _text(v)
        elif num == 2:
            val = bytes(v)
    return key, val


def _meta(buf: bytes) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for num, wire, v in _fields(buf):
        if wire != 2:
            continue
        if num == 1:
            meta["name"] = _text(v)
        elif num == 2:
            meta["generateName"] = _text(v)
        elif num == 3:
            meta["namespace"] = _text(v)
        elif num in (11, 12):
            k, val = _map_entry(v)
            meta.setdefault("labels" if num == 11 else "annotations", {})[k] = _text(val)
        elif num == 14:
            meta.setdefault("finalizers", []).append(_text(v))
    # Go's encoder writes empty strings too; an empty field means "not set".
    return {k: v for k, v in meta.items() if v != ""}


def decode(body: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf-encoded Namespace, ConfigMap, Secret or ServiceAccount."""
    if not body.startswith(MAGIC):
        raise _unsupported("missing the k8s magic prefix")
    api_version = kind = ""
    raw = b""
    for num, wire, v in _fields(body[len(MAGIC) :]):
        if num == 1 and wire == 2:
            for n2, _, v2 in _fields(v):
                if n2 == 1:
                    api_version = _text(v2)
                elif n2 == 2:
                    kind = _text(v2)
        elif num == 2 and wire == 2:
            raw = bytes(v)
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind, "metadata": {}}
    if api_version == "authorization.k8s.io/v1" and kind in (
        "SelfSubjectAccessReview",
        "SelfSubjectRulesReview",
    ):
        return {**obj, "spec": {}}  # answered without looking at the spec: everything is allowed
    if (api_version, kind) not in (
        ("v1", "Namespace"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "ServiceAccount"),
    ):
        raise _unsupported(f"kind {kind or '?'}")
    for num, wire, v in _fields(raw):
        if num == 1 and wire == 2:
            obj["metadata"] = _meta(v)
        elif kind == "Namespace" and num == 2 and wire == 2:
            finalizers = [_text(f) for n, _, f in _fields(v) if n == 1]
            if finalizers:
                obj["spec"] = {"finalizers": finalizers}
        elif kind == "ConfigMap" and num in (2, 3) and wire == 2:
            k, val = _map_entry(v)
            if num == 2:
                obj.setdefault("data", {})[k] = _text(val)
            else:
                obj.setdefault("binaryData", {})[k] = base64.b64encode(val).decode()
        elif kind == "Secret" and num == 2 and wire == 2:
            k, val = _map_entry(v)
            obj.setdefault("data", {})[k] = base64.b64encode(val).decode()
        elif kind == "Secret" and num == 3 and wire == 2 and v:
            obj["type"] = _text(v)
        elif kind in ("ConfigMap", "Secret") and num in (4, 5) and wire == 0 and (kind, num) != ("Secret", 4):
            obj["immutable"] = bool(v)
    return obj
