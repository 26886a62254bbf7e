"""The git generators of ApplicationSets: directories and files of one commit of a repository.

A `RepoTree` is what one generator sees of a commit: its directory paths and the files its globs
select (read here, size-limited; symlinks are not followed, so nothing outside the checkout is read).
Parameters follow Argo CD: `path`, `path.basename`, `path.basenameNormalized`, `path[N]` (and
`path.filename`, `path.filenameNormalized` for files); with goTemplate, `path.path` and
`path.segments` instead of the flat names. A files generator's file is JSON or YAML: a mapping is one
parameter set, a list of mappings one per item.
"""

from __future__ import annotations

import fnmatch
import json
import os
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.sources.globs import glob_match

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES = 1000


class GeneratorError(Exception):
    """A generator cannot produce its parameters (the message says which and why)."""


@dataclass
class RepoTree:
    revision: str  # the commit SHA
    directories: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # path -> content, only those asked for


# (repo URL, revision, file globs) -> the tree of that commit, with the files matching a glob read.
TreeReader = Callable[[str, str, list[str]], RepoTree]


def read_tree(root: Path, revision: str, file_globs: list[str]) -> RepoTree:
    """The directories of a checkout at root and the contents of the files that match a glob."""
    tree = RepoTree(revision)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(
            d for d in dirnames if d != ".git" and not os.path.islink(os.path.join(dirpath, d))
        )
        rel_dir = os.path.relpath(dirpath, root)
        for d in dirnames:
            tree.directories.append(posixpath.normpath(posixpath.join(rel_dir.replace(os.sep, "/"), d)))
        if not file_globs:
            continue
        for name in sorted(filenames):
            rel = posixpath.normpath(posixpath.join(rel_dir.replace(os.sep, "/"), name))
            if not any(glob_match(g, rel) for g in file_globs):
                continue
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                raise GeneratorError(f"{rel}: a symbolic link (files generators read regular files only)")
            if os.path.getsize(full) > MAX_FILE_BYTES:
                raise GeneratorError(f"{rel}: larger than {MAX_FILE_BYTES} bytes")
            if len(tree.files) >= MAX_FILES:
                raise GeneratorError(f"more than {MAX_FILES} files match the files generator")
            tree.files[rel] = Path(full).read_bytes()
    tree.directories.sort()
    return tree


def normalize_name(name: str) -> str:
    """Argo CD's name sanitizing: lower case, anything but [-a-z0-9.] becomes '-', 253 chars at most."""
    name = re.sub(r"[^-a-z0-9.]", "-", name.lower())[:253]
    return name.strip("-.")


def _dir_match(pattern: str, path: str) -> bool:
    # Argo CD matches directories with Go's path.Match: `*` does not cross `/`.
    parts, want = path.split("/"), pattern.strip("/").split("/")
    return len(parts) == len(want) and all(
        fnmatch.fnmatchcase(p, w) for p, w in zip(parts, want, strict=True)
    )


def _path_params(directory: str, go: bool, prefix: str, filename: str = "") -> dict[str, Any]:
    segments = [s for s in directory.split("/") if s and s != "."]
    basename = segments[-1] if segments else ""
    if go:
        inner: dict[str, Any] = {
            "path": directory,
            "basename": basename,
            "basenameNormalized": normalize_name(basename),
            "segments": segments,
        }
        if filename:
            inner["filename"] = filename
            inner["filenameNormalized"] = normalize_name(filename)
        params: dict[str, Any] = {"path": inner}
        return {prefix: params} if prefix else params
    key = f"{prefix}.path" if prefix else "path"
    flat: dict[str, Any] = {key: directory, f"{key}.basename": basename}
    flat[f"{key}.basenameNormalized"] = normalize_name(basename)
    for i, s in enumerate(segments):
        flat[f"{key}[{i}]"] = s
    if filename:
        flat[f"{key}.filename"] = filename
        flat[f"{key}.filenameNormalized"] = normalize_name(filename)
    return flat


def git_params(gen: aspb.GitGenerator, read: TreeReader, go: bool) -> list[dict[str, Any]]:
    where = "generators.git"
    if not gen.repo_url:
        raise GeneratorError(f"{where}.repoURL: required")
    if bool(gen.directories) == bool(gen.files):
        raise GeneratorError(f"{where}: give either directories or files")
    for i, d in enumerate(gen.directories):
        if not d.path:
            raise GeneratorError(f"{where}.directories[{i}].path: required")
    for i, f in enumerate(gen.files):
        if not f.path:
            raise GeneratorError(f"{where}.files[{i}].path: required")
    include = [f.path for f in gen.files if not f.exclude]
    tree = read(gen.repo_url, gen.revision or "HEAD", include)
    out: list[dict[str, Any]] = []
    prefix = gen.path_param_prefix
    if gen.directories:
        for directory in tree.directories:
            hits = [d for d in gen.directories if _dir_match(d.path, directory)]
            # An exclude wins wherever it is listed, as in Argo CD.
            if hits and not any(d.exclude for d in hits):
                out.append(_path_params(directory, go, prefix))
    else:
        excluded = [f.path for f in gen.files if f.exclude]
        for path, content in sorted(tree.files.items()):
            if any(glob_match(g, path) for g in excluded):
                continue
            directory = posixpath.dirname(path) or "."
            base = _path_params(directory, go, prefix, posixpath.basename(path))
            for item in _file_items(path, content):
                params = dict(item) if go else _flat_item(item)
                params.update(base)
                out.append(params)
    for params in out:
        _add_values(params, dict(gen.values), go)
    return out


def _file_items(path: str, content: bytes) -> list[dict[str, Any]]:
    try:
        text = content.decode()
        doc = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise GeneratorError(f"{path}: not valid JSON or YAML: {str(exc).splitlines()[0][:200]}") from None
    items = doc if isinstance(doc, list) else [doc]
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise GeneratorError(f"{path}: item {i} is a {type(item).__name__}, not a mapping")
    return items


def _flat_item(item: dict[str, Any]) -> dict[str, Any]:
    from gitopsd.app.generators.appset_template import flatten

    return dict(flatten(item))


def _add_values(params: dict[str, Any], values: dict[str, str], go: bool) -> None:
    # values.KEY (templated with the other parameters by the caller, for the cluster generator).
    if not values:
        return
    if go:
        params["values"] = dict(values)
    else:
        params.update({f"values.{k}": v for k, v in values.items()})
