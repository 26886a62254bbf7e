"""Directory sources rendered from git objects: the app directory's tree listing and its blobs, no
checkout.

Selects and reads the files exactly as gitopsd.sources.directory does on a checkout (the same
candidates, in the order its sorted walk gives them, the same include/exclude, limits, parser and
error messages), so the two renders give the same objects. What this cannot do the way a checkout
would, it declines (returns None) and the caller checks the commit out instead: symlinks and
submodules in the directory, paths git would refuse to check out, and Jsonnet files (the jsonnet
sidecar is sent the whole repository). The caller has checked the whole commit first (its size, its
symlinks: gitopsd.sources.render_objects).
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Sequence

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.directory import (
    JSONNET_SUFFIX,
    DirectoryRender,
    ManifestReader,
    directory_options,
    is_candidate,
    wanted,
)
from gitopsd.sources.gitcache_objects import is_unusual
from gitopsd.sources.gitcache_state import TreeEntry
from gitopsd.sources.safety import DEFAULT_LIMITS, Limits

# Regular files; git records no other permission bits, and none of them matters to a render.
FILE_MODES = ("100644", "100755")
BlobReader = Callable[[Sequence[str]], dict[str, bytes]]


def walk_order(rel: str) -> tuple[tuple[int, str], ...]:
    """Sort key that puts app-relative file paths in the order of directory.py's walk (os.walk, top
    down, names sorted): a directory's files first, then each subdirectory in turn. Git's own order
    differs (it sorts "b/x" before "c.yaml")."""
    *dirs, name = rel.split("/")
    return (*((1, d) for d in dirs), (0, name))


def render_directory_objects(
    app_rel: str,
    entries: Sequence[TreeEntry],
    directory: application_pb2.ApplicationSourceDirectory | None,
    read_blobs: BlobReader,
    limits: Limits = DEFAULT_LIMITS,
) -> DirectoryRender | None:
    """The render of a Directory source whose app directory `app_rel` lists as `entries` (git ls-tree
    -l of it: recursive when the source recurses); None when a checkout must do it (module docstring)."""
    recurse, include, exclude = directory_options(directory)
    prefix = app_rel + "/" if app_rel else ""
    selected: list[tuple[str, TreeEntry]] = []  # (app-relative path, entry)
    for entry in entries:
        rel = entry.path[len(prefix) :]
        if is_unusual(rel) or entry.mode == "120000" or entry.kind == "commit":
            return None
        if entry.kind != "blob" or ("/" in rel and not recurse):
            continue  # a subdirectory (listed, not recursed into)
        if entry.mode not in FILE_MODES or entry.size < 0:
            return None
        if is_candidate(posixpath.basename(rel)) and wanted(rel, include, exclude):
            if rel.endswith(JSONNET_SUFFIX):
                return None
            selected.append((rel, entry))
    selected.sort(key=lambda item: walk_order(item[0]))
    # Read up to the file that passes the size limit (the reader refuses it without reading it).
    asked, total = [], 0
    for _rel, entry in selected:
        asked.append(entry.sha)
        total += entry.size
        if total > limits.max_repo_bytes:
            break
    blobs = read_blobs(asked[:-1] if total > limits.max_repo_bytes else asked)
    reader = ManifestReader(limits)
    for rel, entry in selected:
        shown = prefix + rel
        reader.inputs.append(shown)
        reader.add(shown, entry.size, functools.partial(blobs.__getitem__, entry.sha))
    return DirectoryRender(reader.manifests, tuple(reader.inputs), ())
