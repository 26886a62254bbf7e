"""Checks on what a kustomization refers to, before kustomize runs.

kustomize fetches remote bases (git URLs, HTTP files) and loads any directory named in
`resources`/`bases`/`components`, even outside the kustomization root (`../../base` is legitimate).
The sidecar fetches nothing and must read nothing outside the repository, so every reachable
kustomization is walked and such references are refused with a clear error.

A reference that looks remote is refused whatever exists on disk: kustomize tries an entry as a git
address before it tries it as a directory, and pathlib collapses `//`, so a committed directory named
like `file:/srv/other.git/app?ref=main` must not make `file:///srv/other.git//app?ref=main` pass.
(The renderer's environment also leaves kustomize no way to fetch: see `render.clean_env`.)
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitopsd.sidecar.errors import InvalidSource
from gitopsd_kustomize.edit import find_kustomization, load_kustomization

# Fields whose entries are files or directories kustomize loads as resources (patches and
# generators go through kustomize's own root-only load restrictor).
_REFERENCE_FIELDS = ("resources", "bases", "components", "generators", "transformers", "validators")
# These may also hold inline YAML configs instead of paths.
_INLINE_FIELDS = ("generators", "transformers", "validators")
# Forges kustomize (or the go-getter of older kustomize) reads `host/org/repo` shorthands from.
_FORGE_HOSTS = ("github.com", "www.github.com", "gitlab.com", "bitbucket.org")
# A URL scheme ("https://", "file://") or a go-getter forced getter ("git::", "s3::").
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(://|::)")


def remote_reason(entry: str) -> str | None:
    """Why kustomize could treat `entry` as something to fetch rather than a local path; None if not.

    Deliberately wider than kustomize's own parser (which changes between versions): no local
    path of a repository needs a scheme, a query, an empty segment, or `@`/`:` in its first segment.
    """
    first = entry.split("/", 1)[0]
    if _SCHEME.match(entry) or "://" in entry:
        return "a URL"
    if "?" in entry:
        return "a go-getter address (it has a query such as ?ref=)"
    if "//" in entry:
        return "a go-getter address (it has '//')"
    if "@" in first or ":" in first:
        return "a git address (user@host: or host:path)"
    if first.lower() in _FORGE_HOSTS:
        return f"a {first.lower()} repository shorthand"
    return None


def _shown(root: Path, path: Path) -> str:
    return os.path.relpath(path, root)


def _items(holder: dict[str, Any], name: str) -> list[Any]:
    value = holder.get(name)
    return value if isinstance(value, list) else []


def _file_references(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, value) of the fields naming single files, which kustomize also loads over HTTP."""
    for name in ("patchesStrategicMerge", "configurations", "crds"):
        for value in _items(data, name):
            if isinstance(value, str):
                yield name, value
    for name in ("patches", "patchesJson6902", "replacements"):
        for item in _items(data, name):
            if isinstance(item, dict) and isinstance(item.get("path"), str):
                yield f"{name} path", item["path"]
    openapi = data.get("openapi")
    if isinstance(openapi, dict) and isinstance(openapi.get("path"), str):
        yield "openapi path", openapi["path"]
    for name in ("configMapGenerator", "secretGenerator"):
        for generator in _items(data, name):
            if not isinstance(generator, dict):
                continue
            for value in [*_items(generator, "files"), *_items(generator, "envs")]:
                if isinstance(value, str):
                    yield f"{name} file", value.partition("=")[2] or value
            if isinstance(generator.get("env"), str):
                yield f"{name} env", generator["env"]


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
        for what, value in _file_references(data):
            if "://" in value:
                raise InvalidSource(
                    f"{shown_file}: {what} {value!r} is a URL, refused: the renderer fetches nothing "
                    "(no network); vendor the file into the repository"
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
                reason = remote_reason(entry)
                if reason is not None:
                    raise InvalidSource(
                        f"{shown_file}: remote {field[:-1]} {entry!r} refused: it is {reason}, and the "
                        "renderer fetches nothing (no network); vendor it into the repository"
                    )
                if entry.startswith("/"):
                    raise InvalidSource(f"{what} is absolute; it must stay in the repository")
                target = posixpath.normpath(posixpath.join(_shown(root, directory), entry))
                if target == ".." or target.startswith("../"):
                    raise InvalidSource(f"{what} points outside the repository")
                resolved = os.path.realpath(root / target)
                if resolved != real_root and not resolved.startswith(real_root + os.sep):
                    raise InvalidSource(f"{what} points outside the repository")
                if os.path.isdir(resolved):
                    pending.append(Path(resolved))
