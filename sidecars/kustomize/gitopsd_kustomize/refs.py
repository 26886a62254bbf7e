"""Checks on what a kustomization refers to, before kustomize runs.

kustomize fetches remote bases (git URLs, HTTP files) and loads any directory named in
`resources`/`bases`/`components`, even outside the kustomization root (`../../base` is legitimate).
The sidecar has no network and must read nothing outside the repository, so every reachable
kustomization is walked and such references are refused with a clear error.
"""

from __future__ import annotations

import os
import posixpath
import re
from pathlib import Path

from gitopsd.sidecar.errors import InvalidSource
from gitopsd_kustomize.edit import find_kustomization, load_kustomization

# Fields whose entries are files or directories kustomize loads (patches and generators go through
# kustomize's own root-only load restrictor).
_REFERENCE_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
# These may also hold inline YAML configs instead of paths.
_INLINE_FIELDS = ("generators", "transformers", "validators")
# What kustomize treats as remote: URLs, scp-style git, and host/org/repo shorthands with ?ref= or //.
_REMOTE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://|git@|[^/]*\.[a-z]{2,}/.+|.*\?ref=|.*//)", re.IGNORECASE)


def _shown(root: Path, path: Path) -> str:
    return os.path.relpath(path, root)


def check_references(root: Path, start: Path) -> None:
    """Walk the kustomizations reachable from `start`; refuse remote or escaping references."""
    real_root = os.path.realpath(root)
    pending = [start]
    visited: set[str] = set()
    while pending:
        directory = pending.pop()
        key = os.path.realpath(directory)
        if key in visited:
            continue
        visited.add(key)
        kfile = find_kustomization(directory)
        if kfile is None:
            continue
        shown_file = _shown(root, kfile)
        data = load_kustomization(kfile, shown_file)
        if data.get("helmCharts") or data.get("helmChartInflationGenerator"):
            raise InvalidSource(
                f"{shown_file}: helmCharts need kustomize --enable-helm, which is not supported"
            )
        for field in _REFERENCE_FIELDS:
            entries = data.get(field) or []
            if not isinstance(entries, list):
                raise InvalidSource(f"{shown_file}: {field!r} must be a list")
            for entry in entries:
                if field in _INLINE_FIELDS and (not isinstance(entry, str) or "\n" in entry):
                    continue  # an inline generator/transformer config, not a path
                if not isinstance(entry, str):
                    raise InvalidSource(f"{shown_file}: an entry of {field!r} is not a string")
                what = f"{shown_file}: {field[:-1]} {entry!r}"
                if entry.startswith("/"):
                    raise InvalidSource(f"{what} is absolute; it must stay in the repository")
                if _REMOTE.match(entry) and not (directory / entry).exists():
                    raise InvalidSource(
                        f"{shown_file}: remote {field[:-1]} {entry!r} refused: the renderer has no network; "
                        "vendor it into the repository"
                    )
                target = posixpath.normpath(posixpath.join(_shown(root, directory), entry))
                if target == ".." or target.startswith("../"):
                    raise InvalidSource(f"{what} points outside the repository")
                resolved = os.path.realpath(root / target)
                if resolved != real_root and not resolved.startswith(real_root + os.sep):
                    raise InvalidSource(f"{what} points outside the repository")
                if os.path.isdir(resolved):
                    pending.append(Path(resolved))
