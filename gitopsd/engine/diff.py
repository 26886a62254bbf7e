"""Field-level differences, the one-line reasons built from them, and unified YAML diffs.

Also the fast-path test ``desired ⊆ live`` used to skip server round trips when nothing changed.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING_VALUE: Any = _Missing()
_MISSING = MISSING_VALUE


@dataclass(frozen=True)
class FieldChange:
    path: str
    old: Any  # _MISSING when added
    new: Any  # _MISSING when removed

    def describe(self, secret: bool = False) -> str:
        if self.old is _MISSING:
            return f"{self.path} added" if secret else f"{self.path} added{_value_suffix(self.new)}"
        if self.new is _MISSING:
            return f"{self.path} removed"
        if secret or not (_is_scalar(self.old) and _is_scalar(self.new)):
            return f"{self.path} changed"
        return f"{self.path} {_short(self.old)} → {_short(self.new)}"


def _is_scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, str) else v
    if isinstance(v, str) and (not v or any(c.isspace() for c in v)):
        text = json.dumps(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _value_suffix(v: Any) -> str:
    return f" ({_short(v)})" if _is_scalar(v) else ""


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def _named_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(i, Mapping) and isinstance(i.get("name"), str) for i in value)
    )


def subset_differences(desired: Any, live: Any, path: str = "", limit: int = 20) -> list[FieldChange]:
    """Where ``desired`` sets a field that ``live`` lacks or holds differently (the fast path).

    Maps: every desired key must match. Lists of named items are matched by name (live may hold more,
    e.g. injected by a controller); other lists of maps are matched by position with equal lengths; lists of
    scalars must be equal.
    """
    out: list[FieldChange] = []
    _subset(desired, live, path, out, limit)
    return out


def _subset(desired: Any, live: Any, path: str, out: list[FieldChange], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            if _empty(desired) and _empty(live):
                return
            out.append(FieldChange(path, live if live is not None else _MISSING, desired))
            return
        for k, v in desired.items():
            if k not in live:
                if _empty(v):
                    continue  # null, {} and [] are one value to the server (it drops or returns any of them)
                out.append(FieldChange(_join(path, str(k)), _MISSING, v))
            else:
                _subset(v, live[k], _join(path, str(k)), out, limit)
            if len(out) >= limit:
                return
        return
    if isinstance(desired, list):
        if not isinstance(live, list):
            if _empty(desired) and _empty(live):
                return
            out.append(FieldChange(path, live, desired))
            return
        if _named_list(desired) and _named_list(live):
            by_name = {i["name"]: i for i in live}
            for item in desired:
                step = f"{path}[{item['name']}]"
                if item["name"] not in by_name:
                    out.append(FieldChange(step, _MISSING, item))
                else:
                    _subset(item, by_name[item["name"]], step, out, limit)
            return
        if len(desired) != len(live):
            out.append(FieldChange(path, live, desired))
            return
        for i, (d, lv) in enumerate(zip(desired, live, strict=True)):
            if isinstance(d, Mapping | list):
                _subset(d, lv, f"{path}[{i}]", out, limit)
            elif not _scalar_equal(d, lv):
                out.append(FieldChange(path, live, desired))
                return
        return
    if desired is None:
        return  # null in the manifest sets nothing
    if not _scalar_equal(desired, live):
        out.append(FieldChange(path, live, desired))


def _empty(v: Any) -> bool:
    return v is None or v == {} or v == []


def _scalar_equal(a: Any, b: Any) -> bool:
    if a == b and type(a) is type(b):
        return True
    # YAML may say 1 where the server returns 1.0, or a bool where the server echoes it: compare loosely.
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return False


def field_changes(old: Any, new: Any, path: str = "", limit: int = 50) -> list[FieldChange]:
    """Exact differences between two normalized objects (live → target)."""
    out: list[FieldChange] = []
    _changes(old, new, path, out, limit)
    return out


def _changes(old: Any, new: Any, path: str, out: list[FieldChange], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for k in list(old.keys()) + [k for k in new if k not in old]:
            step = _join(path, str(k))
            # null, {}, [] and absent are the same to the server.
            if k not in new:
                if not _empty(old[k]):
                    out.append(FieldChange(step, old[k], _MISSING))
            elif k not in old:
                if not _empty(new[k]):
                    out.append(FieldChange(step, _MISSING, new[k]))
            else:
                _changes(old[k], new[k], step, out, limit)
        return
    if isinstance(old, list) and isinstance(new, list):
        if _named_list(old) and _named_list(new):
            old_by = {i["name"]: i for i in old}
            new_by = {i["name"]: i for i in new}
            for name in list(old_by) + [n for n in new_by if n not in old_by]:
                step = f"{path}[{name}]"
                if name not in new_by:
                    out.append(FieldChange(step, old_by[name], _MISSING))
                elif name not in old_by:
                    out.append(FieldChange(step, _MISSING, new_by[name]))
                else:
                    _changes(old_by[name], new_by[name], step, out, limit)
            return
        if len(old) == len(new) and all(isinstance(i, Mapping) for i in old + new):
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                _changes(a, b, f"{path}[{i}]", out, limit)
            return
    if old != new and not (_empty(old) and _empty(new)):
        out.append(FieldChange(path, old, new))


def describe_changes(
    changes: list[FieldChange], secret_paths: tuple[str, ...] = (), max_items: int = 3
) -> str:
    """``spec.replicas 5 → 3`` or ``spec.replicas 5 → 3, data.a added and 2 more``.

    Values under ``secret_paths`` (e.g. a Secret's ``data``) are never shown.
    """
    if not changes:
        return ""
    parts = [
        c.describe(
            secret=bool(secret_paths) and (c.path + ".").startswith(tuple(p + "." for p in secret_paths))
        )
        for c in changes
    ]
    head = ", ".join(parts[:max_items])
    more = len(parts) - max_items
    return f"{head} and {more} more" if more > 0 else head


_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(obj: Mapping[str, Any] | None) -> str:
    if obj is None:
        return ""
    # libyaml's emitter when present: the pure-Python one dominated compares of many new objects.
    return yaml.dump(dict(obj), Dumper=_DUMPER, sort_keys=True, default_flow_style=False, allow_unicode=True)


def unified_diff(live: Mapping[str, Any] | None, target: Mapping[str, Any] | None, name: str) -> str:
    """A unified diff from the live YAML to the target YAML (both already normalized and masked)."""
    a = to_yaml(live).splitlines(keepends=True)
    b = to_yaml(target).splitlines(keepends=True)
    if a == b:
        return ""
    return "".join(
        difflib.unified_diff(a, b, fromfile=f"live/{name}", tofile=f"desired/{name}", lineterm="\n")
    )


def overlay(live: Any, desired: Any) -> Any:
    """``live`` with every field ``desired`` sets laid over it: an offline stand-in for an apply's result."""
    if isinstance(live, Mapping) and isinstance(desired, Mapping):
        out = dict(live)
        for k, v in desired.items():
            out[k] = overlay(live[k], v) if k in live else v
        return out
    if _named_list(live) and _named_list(desired):
        by_name = {i["name"]: i for i in live}
        return [overlay(by_name[i["name"]], i) if i["name"] in by_name else i for i in desired] + [
            i for i in live if i["name"] not in {d["name"] for d in desired}
        ]
    if isinstance(live, list) and isinstance(desired, list) and len(live) == len(desired):
        return [overlay(a, b) for a, b in zip(live, desired, strict=True)]
    return desired
