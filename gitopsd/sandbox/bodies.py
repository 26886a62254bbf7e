"""Decoding request bodies: JSON, and YAML for apply patches (without aliases, so no YAML bombs)."""

from __future__ import annotations

import json
from typing import Any

import yaml

from .errors import bad_request


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not accepted")
        return super().compose_node(parent, index)


MAX_DEPTH = 64


class DuplicateKeys(dict[str, Any]):
    """A JSON object that named some keys more than once (the last value wins, as in Go); the
    repeated keys are kept for fieldValidation, which reports them like unknown fields."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in pairs:
        if key in seen and key not in repeated:
            repeated.append(key)
        seen.add(key)
    marked = DuplicateKeys(out)
    marked.duplicates = repeated
    return marked


def _check_depth(data: Any) -> Any:
    """Refuse absurdly nested documents, so no recursive step later can run out of stack."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise bad_request(f"the request body is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return data


def decode_json(body: bytes) -> Any:
    try:
        return _check_depth(json.loads(body, object_pairs_hook=_pairs))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise bad_request(f"the request body is not valid JSON: {str(exc)[:200]}") from None


def decode_yaml_or_json(body: bytes) -> Any:
    try:
        return _check_depth(json.loads(body, object_pairs_hook=_pairs))
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    try:
        data = yaml.load(body.decode("utf-8"), Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:
        raise bad_request(f"the request body is not valid YAML or JSON: {str(exc)[:200]}") from None
    return _check_depth(data)


def decode_object(body: bytes, yaml_ok: bool = False) -> dict[str, Any]:
    data = decode_yaml_or_json(body) if yaml_ok else decode_json(body)
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    return data
