"""Sync-related annotations: hooks, waves, sync and compare options, Helm hook mapping, misspelled keys.

Keys are honoured under both ``argocd.argoproj.io/`` and ``gitopsd.io/`` (gitopsd's own prefix wins when both
are set). Helm's ``helm.sh/hook*`` annotations are mapped as Argo CD maps them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIXES = ("gitopsd.io/", "argocd.argoproj.io/")
KNOWN_SUFFIXES = ("hook", "hook-delete-policy", "sync-wave", "sync-options", "compare-options")

HOOK_TYPES = ("PreSync", "Sync", "PostSync", "SyncFail", "Skip")
DELETE_POLICIES = ("HookSucceeded", "HookFailed", "BeforeHookCreation")
PHASE_ORDER = {"PreSync": 0, "Sync": 1, "PostSync": 2, "SyncFail": 3}

_HELM_HOOKS = {
    "pre-install": "PreSync",
    "pre-upgrade": "PreSync",
    "crd-install": "PreSync",
    "post-install": "PostSync",
    "post-upgrade": "PostSync",
}
_HELM_TEST_HOOKS = {"test", "test-success", "test-failure"}
_HELM_DELETE = {
    "hook-succeeded": "HookSucceeded",
    "hook-failed": "HookFailed",
    "before-hook-creation": "BeforeHookCreation",
}


def annotations_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, Mapping) else None
    return annotations if isinstance(annotations, Mapping) else {}


def annotation(obj: Mapping[str, Any], suffix: str) -> str | None:
    """The value of ``<prefix>/<suffix>`` under either prefix (gitopsd.io first), or None."""
    annotations = annotations_of(obj)
    for prefix in PREFIXES:
        value = annotations.get(prefix + suffix)
        if isinstance(value, str):
            return value
    return None


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class HookInfo:
    """What an object is in a sync: its hook types (empty for a plain resource), delete policies, wave."""

    types: tuple[str, ...]
    delete_policies: tuple[str, ...]
    wave: int
    skip: bool
    helm_test: bool

    @property
    def is_hook(self) -> bool:
        return bool(self.types) and not self.skip


# Go's strconv.Atoi, which Argo CD parses waves with: an optional sign and digits, nothing else.
_WAVE_INT = re.compile(r"^[+-]?[0-9]+$")


def _wave_int(value: object) -> int | None:
    if isinstance(value, str) and _WAVE_INT.match(value):
        return int(value)
    return None


def sync_wave(obj: Mapping[str, Any]) -> int:
    """The object's wave as Argo CD computes it (gitops-engine's syncwaves.Wave): the sync-wave annotation
    when it is an integer, else ``helm.sh/hook-weight`` when that is one (for every object, hook or not:
    a Helm chart's weights order its plain resources too), else 0."""
    wave = _wave_int(annotation(obj, "sync-wave"))
    if wave is None:
        wave = _wave_int(annotations_of(obj).get("helm.sh/hook-weight"))
    return wave if wave is not None else 0


def hook_info(obj: Mapping[str, Any]) -> HookInfo:
    annotations = annotations_of(obj)
    types: list[str] = []
    policies: list[str] = []
    helm_test = False
    own = annotation(obj, "hook")
    if own is not None:
        types = [t for t in _split_list(own) if t in HOOK_TYPES]
        policies = [p for p in _split_list(annotation(obj, "hook-delete-policy")) if p in DELETE_POLICIES]
    else:
        helm = annotations.get("helm.sh/hook")
        if isinstance(helm, str):
            helm_types = _split_list(helm)
            helm_test = any(t in _HELM_TEST_HOOKS for t in helm_types)
            for t in helm_types:
                mapped = _HELM_HOOKS.get(t)
                if mapped and mapped not in types:
                    types.append(mapped)
            helm_policy = annotations.get("helm.sh/hook-delete-policy")
            if isinstance(helm_policy, str):
                policies = [_HELM_DELETE[p] for p in _split_list(helm_policy) if p in _HELM_DELETE]
            if helm_test and not types:
                # Helm test hooks are not part of an install: Argo CD skips them, so do we.
                types = ["Skip"]
    if types and not policies and "Skip" not in types:
        policies = ["BeforeHookCreation"]
    skip = "Skip" in types
    return HookInfo(tuple(types), tuple(policies), sync_wave(obj), skip, helm_test)


def sync_options(obj: Mapping[str, Any]) -> dict[str, str]:
    """Per-resource sync options, e.g. ``{"Prune": "false", "Replace": "true"}``."""
    return _options(annotation(obj, "sync-options"))


def compare_options(obj: Mapping[str, Any]) -> dict[str, str]:
    return _options(annotation(obj, "compare-options"))


def _options(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in _split_list(value):
        name, _, val = part.partition("=")
        out[name.strip()] = val.strip()
    return out


def option_true(options: Mapping[str, str], name: str) -> bool:
    return options.get(name, "").lower() == "true"


def option_false(options: Mapping[str, str], name: str) -> bool:
    return options.get(name, "").lower() == "false"


# ---------------------------------------------------------------- misspelled keys

_KNOWN_KEYS = tuple(p + s for p in PREFIXES for s in KNOWN_SUFFIXES)


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, giving up (returning limit+1) once it cannot be within ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def misspelled_keys(obj: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Annotation keys that look like a misspelled sync key: [(found, probably_meant)].

    Such an annotation would otherwise be applied silently as a plain one (the seed article writes
    ``argocp.argoproj.io/hook``), turning a hook into an ordinary resource.
    """
    found: list[tuple[str, str]] = []
    for key in annotations_of(obj):
        if not isinstance(key, str) or key in _KNOWN_KEYS:
            continue
        meant = _probably_meant(key)
        if meant is not None:
            found.append((key, meant))
    return found


@functools.lru_cache(maxsize=4096)
def _probably_meant(key: str) -> str | None:
    # The same few annotation keys recur on thousands of objects: judge each key once.
    lowered = key.lower()
    if lowered in _KNOWN_KEYS:
        return lowered
    best: tuple[int, str] | None = None
    for known in _KNOWN_KEYS:
        limit = 2 if len(known) < 20 else 3
        d = _distance(lowered, known, limit)
        if d <= limit and (best is None or d < best[0]):
            best = (d, known)
    return best[1] if best is not None else None


def misspelling_warnings(obj: Mapping[str, Any], where: str) -> list[str]:
    return [
        f'{where}: annotation "{found}" looks like a misspelling of "{meant}"; it is ignored'
        for found, meant in misspelled_keys(obj)
    ]
