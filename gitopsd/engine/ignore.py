"""``ignoreDifferences``: JSON pointers, jq path expressions and trusted field managers (Argo CD's shape).

jq expressions run in libjq (the ``jq`` package) as ``del(EXPR)``, compiled once per expression. They come from
application specs, so expressions that can loop or read outside the object are refused up front.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jq

from gitopsd.engine.fieldpaths import managed_paths, parse_pointer, remove_path
from gitopsd.engine.jsondata import deep_copy
from gitopsd.engine.resources import ResourceKey

Obj = dict[str, Any]

MAX_JQ_LENGTH = 1024
# What can loop without bound (definitions, range, repeat...), blow up memory (``*`` repeats strings), or
# read input, files or the environment. ``..`` is allowed: it is bounded by the object.
_REFUSED = re.compile(
    r"\b(def|range|repeat|while|until|recurse|input|inputs|env|halt|halt_error|input_filename|debug|stderr|"
    r"getpath|paths|leaf_paths|splits|ascii|implode|tostream|fromstream|truncate_stream)\b|\$ENV|\$__loc__|\*"
)


class InvalidJqExpression(ValueError):
    """A jqPathExpression that does not compile or is refused; the message names it."""


@functools.lru_cache(maxsize=512)
def compile_jq(expression: str) -> Any:
    """The compiled ``del(EXPR)`` program; raises InvalidJqExpression naming the expression."""
    if len(expression) > MAX_JQ_LENGTH:
        raise InvalidJqExpression(f"jq path expression longer than {MAX_JQ_LENGTH} characters")
    refused = _REFUSED.search(expression)
    if refused:
        raise InvalidJqExpression(f"jq path expression {expression!r}: {refused.group(0)!r} is not allowed here")
    try:
        jq.compile(expression)  # on its own first: ".a) | (.b" must not escape the del( ) around it
        return jq.compile(f"del({expression})")
    except ValueError as exc:
        detail = str(exc).strip().splitlines()[0][:200]
        raise InvalidJqExpression(f"jq path expression {expression!r} is not valid: {detail}") from None


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry (Argo CD's shape). Empty group/name/namespace match any."""

    kind: str
    group: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    def matches(self, key: ResourceKey) -> bool:
        if self.kind not in ("", "*") and self.kind != key.kind:
            return False
        if self.group not in ("*",) and self.group != key.group:
            # Argo CD treats an empty group as the core group only.
            return False
        if self.name and self.name != key.name:
            return False
        return not (self.namespace and self.namespace != key.namespace)

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> IgnoreRule:
        def strings(name: str, alt: str) -> tuple[str, ...]:
            value = d.get(name, d.get(alt)) or ()
            return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

        return IgnoreRule(
            kind=str(d.get("kind") or ""),
            group=str(d.get("group") or ""),
            name=str(d.get("name") or ""),
            namespace=str(d.get("namespace") or ""),
            json_pointers=strings("jsonPointers", "json_pointers"),
            jq_path_expressions=strings("jqPathExpressions", "jq_path_expressions"),
            managed_fields_managers=strings("managedFieldsManagers", "managed_fields_managers"),
        )


@dataclass(frozen=True)
class IgnoreSet:
    rules: tuple[IgnoreRule, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    # One message per jqPathExpression that cannot be used (the application's spec is invalid).
    errors: tuple[str, ...] = field(default=())

    @staticmethod
    def build(rules: Iterable[IgnoreRule | Mapping[str, Any]]) -> IgnoreSet:
        parsed = tuple(r if isinstance(r, IgnoreRule) else IgnoreRule.from_dict(r) for r in rules)
        errors: list[str] = []
        for i, rule in enumerate(parsed):
            for j, expression in enumerate(rule.jq_path_expressions):
                try:
                    compile_jq(expression)
                except InvalidJqExpression as exc:
                    errors.append(f"spec.ignoreDifferences[{i}].jqPathExpressions[{j}]: {exc}")
        return IgnoreSet(parsed, errors=tuple(errors))

    def for_key(self, key: ResourceKey) -> list[IgnoreRule]:
        return [r for r in self.rules if r.matches(key)]


def apply_ignores(obj: Obj, rules: Iterable[IgnoreRule], live: Mapping[str, Any] | None) -> Obj:
    """Remove ignored fields (json pointers, jq paths, fields owned by ignored managers) from a copy of ``obj``."""
    rules = list(rules)
    if not rules:
        return obj
    out: Obj = deep_copy(obj)
    for rule in rules:
        for pointer in rule.json_pointers:
            remove_path(out, list(parse_pointer(pointer)))
        for expression in rule.jq_path_expressions:
            out = _jq_delete(out, expression)
        if rule.managed_fields_managers and live is not None:
            for path in managed_paths(live, rule.managed_fields_managers):
                remove_path(out, path)
    return out




def _jq_delete(obj: Obj, expression: str) -> Obj:
    try:
        program = compile_jq(expression)
    except InvalidJqExpression:
        return obj  # reported once as the application's InvalidSpecError condition
    try:
        result = program.input_value(obj).first()
    except (ValueError, StopIteration):
        # The path does not apply to this object (e.g. iterating over a field it lacks): nothing to ignore.
        return obj
    return result if isinstance(result, dict) else obj
