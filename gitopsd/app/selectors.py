"""Kubernetes-style label selectors ("a=b,c!=d,e,!f,g in (x,y)") over label maps."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from gitopsd.app.errors import InvalidArgument

Matcher = Callable[[Mapping[str, str]], bool]
_SET = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def _split(selector: str) -> list[str]:
    # Commas inside "in (a,b)" do not separate requirements.
    parts, depth, cur = [], 0, ""
    for ch in selector:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _requirement(req: str) -> Matcher:
    m = _SET.match(req)
    if m:
        key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for op in ("!=", "==", "="):
        if op in req:
            key, value = (s.strip() for s in req.split(op, 1))
            if not key:
                break
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if req.startswith("!") and req[1:].strip():
        key = req[1:].strip()
        return lambda labels: key not in labels
    if re.match(r"^[\w./-]+$", req):
        return lambda labels: req in labels
    raise InvalidArgument(f"selector: cannot parse requirement {req!r}")


def parse_selector(selector: str) -> Matcher:
    matchers = [_requirement(r) for r in _split(selector)]
    return lambda labels: all(m(labels) for m in matchers)
