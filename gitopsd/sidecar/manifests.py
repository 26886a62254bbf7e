"""Conversion of rendered YAML streams into the Renderer contract's manifests: one JSON document per object.

Rendered output is untrusted (a template or a kustomize resource from the repository decides it), and
YAML aliases let a few hundred bytes stand for gigabytes once expanded: the loader shares the aliased
object, but JSON conversion writes it out at every use. So each document is composed first, its
expanded size is counted on the node graph (each shared node counted once per use, without expanding
anything) and charged to the output budget, and only then constructed. Anchors used in moderation
(charts that reuse a label block) still render; a recursive alias is refused.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from gitopsd.sidecar.errors import InvalidSource, LimitExceeded, truncate_message
from gitopsd.sidecar.limits import DEFAULT_LIMITS

try:  # libyaml is ~10x faster; fall back to pure Python where it is missing.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader


class OutputBudget:
    """Counts rendered bytes against the output limit; raises LimitExceeded when it is passed."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.used = 0

    def charge(self, size: int) -> None:
        self.used += size
        if self.used > self.max_bytes:
            raise LimitExceeded(f"rendered output exceeds the limit of {self.max_bytes} bytes")


def _expand(doc: Any, origin: str) -> list[dict[str, Any]]:
    if not isinstance(doc, dict):
        raise InvalidSource(f"{origin}: a YAML document is a {type(doc).__name__}, not a Kubernetes object")
    kind = doc.get("kind")
    items = doc.get("items")
    # kind: List (and typed lists such as ConfigMapList) carry their objects in items.
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        expanded: list[dict[str, Any]] = []
        for item in items:
            expanded.extend(_expand(item, origin))
        return expanded
    return [doc]


def _own_size(node: yaml.Node) -> int:
    """About what a node adds to the JSON text by itself (quotes, brackets, separators)."""
    if isinstance(node, yaml.ScalarNode):
        return len(node.value) + 3
    return 2 + (2 if isinstance(node, yaml.MappingNode) else 1) * len(node.value)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def alias_expansion(root: yaml.Node, limit: int, where: str, shown_limit: int | None = None) -> int:
    """Bytes that aliases in a composed document add once expanded (0 without aliases).

    Walks the node graph once (iteratively: no recursion limit to hit), memoizing each node's
    expanded size, so a billion-laughs document costs as many steps as it has nodes. Raises
    LimitExceeded as soon as the expanded size passes `limit` (the message names `shown_limit`, the
    configured limit, when given), InvalidSource for a recursive alias.
    """
    expanded: dict[int, int] = {}
    literal = 0
    shared = False
    started: set[int] = set()  # nodes begun and not finished: the ancestors of the current one
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            started.discard(key)
            own = _own_size(node)
            literal += own
            size = own + sum(expanded[id(child)] for child in _children(node))
            if size > limit:
                raise LimitExceeded(
                    f"{where}: YAML aliases expand it past the rendered output limit of "
                    f"{limit if shown_limit is None else shown_limit} bytes"
                )
            expanded[key] = size
            continue
        if key in expanded:
            shared = True
            continue
        if key in started:
            raise InvalidSource(f"{where}: a YAML alias refers to the node that contains it (recursive alias)")
        started.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))
    return expanded[id(root)] - literal if shared else 0


def _documents(text: str, origin: str, budget: OutputBudget) -> list[Any]:
    loader = _Loader(text)
    docs: list[Any] = []
    # An alias (*name) needs an anchor (&name): a stream without both characters has none, and most
    # rendered output skips the walk (it costs about half as much again as loading).
    may_alias = "&" in text and "*" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if may_alias:
                where = f"{origin}: document at line {node.start_mark.line + 1}"
                # The text was charged already; aliases cost what they would add, before they are built.
                budget.charge(alias_expansion(node, budget.max_bytes - budget.used, where, budget.max_bytes))
            docs.append(loader.construct_document(node))
    except yaml.YAMLError as exc:
        raise InvalidSource(truncate_message(f"{origin}: invalid YAML: {exc}")) from None
    except RecursionError:  # the pure-Python loader on deep nesting (libyaml limits the depth itself)
        raise InvalidSource(f"{origin}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    return docs


def yaml_to_objects(text: str, origin: str, budget: OutputBudget | None = None) -> list[dict[str, Any]]:
    """Parse a YAML stream into objects, dropping empty documents and expanding lists.

    `origin` names the stream in errors (a template path, "kustomize output"). Without a budget,
    the default output limit still bounds what aliases may expand to.
    """
    if budget is None:
        budget = OutputBudget(DEFAULT_LIMITS.max_output_bytes)
    budget.charge(len(text.encode()))
    docs = _documents(text, origin, budget)
    objects: list[dict[str, Any]] = []
    for doc in docs:
        if doc is not None:
            objects.extend(_expand(doc, origin))
    return objects


def to_json(obj: dict[str, Any]) -> str:
    """Compact JSON; default=str because unquoted timestamps load as dates and Kubernetes wants their text."""
    return json.dumps(obj, separators=(",", ":"), default=str)


def yaml_to_manifests(text: str, origin: str, budget: OutputBudget | None = None) -> list[str]:
    """Parse a YAML stream into the contract's manifests: one compact JSON document per object."""
    return [to_json(obj) for obj in yaml_to_objects(text, origin, budget)]
