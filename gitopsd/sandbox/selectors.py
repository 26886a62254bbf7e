"""Label and field selectors, parsed once per request and matched per object.

Label selectors support the full query-string grammar: ``k=v``, ``k==v``, ``k!=v``,
``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists) and ``!k`` (does not exist).
Field selectors support ``=``, ``==`` and ``!=`` on metadata.name, metadata.namespace and,
leniently, any other dotted path of the object (status.phase, spec.nodeName, type...).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

_KEY = re.compile(r"^([a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$")
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_TOKEN = re.compile(r"\s*(!=|==|=|\(|\)|,|!|[^\s!=(),]+)")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, Any]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        # != and notin match objects without the label too, as on a real cluster.
        return not present or value not in self.values


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...]

    def matches(self, labels: dict[str, Any] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)


def _check_key(key: str, text: str) -> str:
    if not _KEY.match(key) or len(key) > 317:
        raise bad_request(f'unable to parse requirement: invalid label key "{key}" in selector "{text}"')
    return key


def _check_value(value: str, text: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise bad_request(f'unable to parse requirement: invalid label value "{value}" in selector "{text}"')
    return value


def parse_label_selector(text: str) -> LabelSelector:
    tokens = _TOKEN.findall(text)
    if "".join(t.strip() for t in tokens) != re.sub(r"\s+", "", text):
        raise bad_request(f'unable to parse label selector "{text}"')
    reqs: list[Requirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        if i >= len(tokens):
            raise bad_request(f'unable to parse label selector "{text}": unexpected end')
        tok = tokens[i]
        i += 1
        return tok

    while i < len(tokens):
        tok = take()
        if tok == "!":
            reqs.append(Requirement(_check_key(take(), text), "!"))
        else:
            key = _check_key(tok, text)
            nxt = tokens[i] if i < len(tokens) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "exists"))
            elif nxt in ("=", "==", "!="):
                i += 1
                value = ""
                if i < len(tokens) and tokens[i] != ",":
                    value = take()
                reqs.append(
                    Requirement(key, "!=" if nxt == "!=" else "=", frozenset({_check_value(value, text)}))
                )
            elif nxt in ("in", "notin"):
                i += 1
                if take() != "(":
                    raise bad_request(f'unable to parse label selector "{text}": expected "("')
                values: set[str] = set()
                while True:
                    tok = take()
                    if tok == ")":
                        break
                    if tok == ",":
                        continue
                    values.add(_check_value(tok, text))
                reqs.append(Requirement(key, nxt, frozenset(values)))
            else:
                raise bad_request(f'unable to parse label selector "{text}": unexpected "{nxt}"')
        if i < len(tokens):
            if tokens[i] != ",":
                raise bad_request(f'unable to parse label selector "{text}": expected ","')
            i += 1
    return LabelSelector(tuple(reqs))


def _field_value(obj: dict[str, Any], path: str) -> str | None:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return None if isinstance(cur, dict | list) else str(cur)


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...]  # (path, equal?, value)

    def matches(self, obj: dict[str, Any]) -> bool:
        for path, equal, value in self.terms:
            actual = _field_value(obj, path)
            if path == "metadata.namespace" and actual is None:
                actual = ""
            if (actual == value) != equal:
                return False
        return True

    def exact(self, path: str) -> str | None:
        """The value an equality term pins ``path`` to, for index lookups."""
        for p, equal, value in self.terms:
            if p == path and equal:
                return value
        return None


_FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$")


def parse_field_selector(text: str) -> FieldSelector:
    terms: list[tuple[str, bool, str]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        for op, equal in (("!=", False), ("==", True), ("=", True)):
            if op in part:
                path, _, value = part.partition(op)
                path = path.strip()
                if not _FIELD_PATH.match(path):
                    raise bad_request(f'invalid field selector: "{part}"')
                terms.append((path, equal, value.strip()))
                break
        else:
            raise bad_request(f'invalid selector: "{part}"; can\'t understand "{part}"')
    return FieldSelector(tuple(terms))


def object_filter(label_text: str | None, field_text: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """One predicate for both selectors, or None when neither narrows anything."""
    labels = parse_label_selector(label_text) if label_text else None
    fields = parse_field_selector(field_text) if field_text else None
    if labels is not None and not labels.requirements:
        labels = None
    if fields is not None and not fields.terms:
        fields = None
    if labels is None and fields is None:
        return None

    def match(obj: dict[str, Any]) -> bool:
        if labels is not None and not labels.matches((obj.get("metadata") or {}).get("labels")):
            return False
        return fields is None or fields.matches(obj)

    return match
