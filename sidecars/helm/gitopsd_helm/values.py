"""Composition of Helm values from an Argo CD helm source: pure functions (no Helm library here).

Order as Argo CD/Helm: chart defaults < valueFiles (in order) < values/valuesObject < parameters.
"""

from __future__ import annotations

import copy
from typing import Any

from google.protobuf import json_format, struct_pb2


def merge_values(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values files: maps merge recursively, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        current = result.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            result[key] = merge_values(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def merge_set(base: Any, parsed: Any) -> Any:
    """Merge one parsed `--set` expression the way Helm's strvals.ParseInto writes into existing values.

    Unlike values files, a list index (`a[1]=x`) changes one element and keeps the others; the
    parser returns `[None, "x"]` for it, so None elements leave the existing ones alone.
    """
    if isinstance(parsed, dict) and isinstance(base, dict):
        result = dict(base)
        for key, value in parsed.items():
            result[key] = merge_set(result.get(key), value)
        return result
    if isinstance(parsed, list) and isinstance(base, list):
        merged = list(base)
        for index, value in enumerate(parsed):
            if index >= len(merged):
                merged.append(value)
            elif value is not None:
                merged[index] = merge_set(merged[index], value)
        return merged
    return parsed


def escape_set_value(value: str) -> str:
    """Escape commas so a parameter value stays one value (Argo CD's cleanSetParameters).

    A value written as a Helm list `{a,b}` keeps its commas; already escaped ones stay as they are.
    """
    if value.startswith("{") and value.endswith("}"):
        return value
    out: list[str] = []
    previous = ""
    for char in value:
        if char == "," and previous != "\\":
            out.append("\\,")
        else:
            out.append(char)
        previous = char
    return "".join(out)


def _ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_ints(item) for item in value]
    return value


def struct_to_values(struct: struct_pb2.Struct) -> dict[str, Any]:
    """valuesObject as plain values; protobuf numbers are doubles, whole ones become ints again (3.0 → 3)."""
    converted: dict[str, Any] = _ints(json_format.MessageToDict(struct))
    return converted
