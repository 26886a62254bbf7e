"""examples/gitopsd.yaml is the reference of every config key: it must match the config dataclasses.

The example is what install.sh puts in /etc/gitopsd and what the README points to, so a key added to
gitopsd/server/config.py without it (or a default changed in one place only) fails here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from gitopsd.server.config import Config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gitopsd.yaml"


def _differences(example: Any, defaults: Any, path: str = "") -> list[str]:
    """Every key missing from the example, extra in it, or shown with another value than its default."""
    if not (isinstance(example, dict) and isinstance(defaults, dict)) or (not defaults and not example):
        if example != defaults or type(example) is not type(defaults):
            return [f"{path or '(top level)'}: the example shows {example!r}, the default is {defaults!r}"]
        return []
    found: list[str] = []
    def name(key: str) -> str:
        return f"{path}.{key}" if path else key

    for key in defaults.keys() - example.keys():
        found.append(f"{name(key)}: missing from the example (default {defaults[key]!r})")
    for key in example.keys() - defaults.keys():
        found.append(f"{name(key)}: in the example but not a config key")
    for key in defaults.keys() & example.keys():
        found.extend(_differences(example[key], defaults[key], name(key)))
    return sorted(found)


def test_example_config_shows_every_key_with_its_default() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    defaults = dataclasses.asdict(Config())
    problems = _differences(example, defaults)
    assert not problems, "examples/gitopsd.yaml is out of step with gitopsd/server/config.py:\n" + "\n".join(
        problems
    )


def test_the_comparison_finds_drift() -> None:
    # The checker itself: a missing key, an extra key and a wrong default are each reported.
    defaults = dataclasses.asdict(Config())
    example = yaml.safe_load(EXAMPLE.read_text())
    del example["render"]["max_fetch_bytes"]
    example["render"]["max_fetchbytes"] = 1
    example["reconcile"]["interval"] = 60
    problems = _differences(example, defaults)
    assert problems == [
        "reconcile.interval: the example shows 60, the default is 180",
        "render.max_fetch_bytes: missing from the example (default 1073741824)",
        "render.max_fetchbytes: in the example but not a config key",
    ]
