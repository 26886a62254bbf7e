"""Copying JSON-shaped data (dicts, lists, scalars) as manifests and live objects are.

copy.deepcopy keeps a memo of every object it visits to handle cycles and shared references,
which JSON data never has; a plain recursive copy is several times faster, and the engine
copies every desired and live object at least once per comparison.
"""

from __future__ import annotations

from typing import Any


def deep_copy(value: Any) -> Any:
    """A copy of dicts and lists at every level; scalars (immutable) are shared."""
    if isinstance(value, dict):
        return {k: deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [deep_copy(v) for v in value]
    return value
