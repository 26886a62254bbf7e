"""Conversion of rendered YAML streams into the Renderer contract's manifests: one JSON document per object."""

from __future__ import annotations

import json
from typing import Any

import yaml

from gitopsd.sidecar.errors import InvalidSource, LimitExceeded, truncate_message

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


def yaml_to_objects(text: str, origin: str, budget: OutputBudget | None = None) -> list[dict[str, Any]]:
    """Parse a YAML stream into objects, dropping empty documents and expanding lists.

    `origin` names the stream in errors (a template path, "kustomize output").
    """
    if budget is not None:
        budget.charge(len(text.encode()))
    try:
        docs = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise InvalidSource(truncate_message(f"{origin}: invalid YAML: {exc}")) from None
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
