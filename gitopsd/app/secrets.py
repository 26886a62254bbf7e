"""Credentials at rest: kept in the store's `secret` columns, out of every API reply.

The documents built here are sealed by the store before they are written (`Store.seal`,
AES-GCM with the data dir's secret key, see gitopsd/store/secretbox.py).

Bytes (certificates, keys) are stored base64-encoded. Nothing here logs or formats
a secret; callers get typed values back and pass them straight to the client that
needs them.
"""

from __future__ import annotations

import base64
from typing import Any


def encode_secret(values: dict[str, str | bytes | bool]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, bytes):
            if value:
                out[key] = {"b64": base64.b64encode(value).decode()}
        elif value not in ("", False):
            out[key] = value
    return out


def secret_bytes(secret: dict[str, Any], key: str) -> bytes:
    value = secret.get(key)
    if isinstance(value, dict) and "b64" in value:
        return base64.b64decode(value["b64"])
    return b""


def secret_str(secret: dict[str, Any], key: str) -> str:
    value = secret.get(key)
    return value if isinstance(value, str) else ""
