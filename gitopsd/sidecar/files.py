"""Safe materialization of `RenderRequest.files` into a fresh directory, and path checks inside it.

The files come from an untrusted repository (through the daemon). Only regular files are written,
so nothing in the tree can point outside it; paths that are absolute, contain `..`, `.`, empty
segments or NUL bytes, and duplicates, are refused; the combined size is limited.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable
from pathlib import Path

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar.errors import InvalidSource, LimitExceeded, PreconditionFailed

# Far above any real repository path; guards against ENAMETOOLONG surprises and inode floods.
MAX_PATH_CHARS = 1024
MAX_SEGMENT_BYTES = 255
MAX_FILES = 50_000


def _check_path(path: str) -> tuple[str, ...]:
    if not path:
        raise InvalidSource("a repository file has an empty path")
    if "\x00" in path:
        raise InvalidSource("a repository file path contains a NUL byte")
    shown = path[:200]
    if path.startswith("/"):
        raise InvalidSource(f"repository file path {shown!r} is absolute")
    if len(path) > MAX_PATH_CHARS:
        raise InvalidSource(f"repository file path {shown!r}... is longer than {MAX_PATH_CHARS} characters")
    parts = tuple(path.split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidSource(f"repository file path {shown!r} has an empty, '.' or '..' segment")
        if len(part.encode()) > MAX_SEGMENT_BYTES:
            raise InvalidSource(
                f"repository file path {shown!r} has a segment over {MAX_SEGMENT_BYTES} bytes"
            )
    return parts


def materialize(files: Iterable[renderer_pb2.SourceFile], dest: Path, max_bytes: int) -> int:
    """Write `files` under the existing empty directory `dest`; returns the number of bytes written.

    Raises InvalidSource for bad paths, LimitExceeded when the combined size exceeds `max_bytes`.
    """
    checked: list[tuple[tuple[str, ...], renderer_pb2.SourceFile]] = []
    seen_files: set[tuple[str, ...]] = set()
    seen_dirs: set[tuple[str, ...]] = set()
    total = 0
    for entry in files:
        parts = _check_path(entry.path)
        if parts in seen_files:
            raise InvalidSource(f"repository file {entry.path!r} appears twice in the request")
        if parts in seen_dirs:
            raise InvalidSource(f"repository path {entry.path!r} is both a file and a directory")
        for depth in range(1, len(parts)):
            prefix = parts[:depth]
            if prefix in seen_files:
                raise InvalidSource(f"repository path {'/'.join(prefix)!r} is both a file and a directory")
            seen_dirs.add(prefix)
        seen_files.add(parts)
        total += len(entry.content)
        if total > max_bytes:
            raise LimitExceeded(f"repository files exceed the size limit of {max_bytes} bytes combined")
        if len(seen_files) > MAX_FILES:
            raise LimitExceeded(f"the request holds more than {MAX_FILES} files")
        checked.append((parts, entry))

    root = os.fspath(dest)
    for parts in sorted(seen_dirs, key=len):
        os.mkdir(os.path.join(root, *parts), 0o755)
    for parts, entry in checked:
        mode = 0o755 if entry.executable else 0o644
        # O_EXCL|O_NOFOLLOW: we created every directory ourselves, but stay strict anyway.
        fd = os.open(os.path.join(root, *parts), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(entry.content)
    return total


def resolve_inside(root: Path, relative: str, what: str, must_exist: bool = True) -> Path:
    """Resolve a repository-relative path (app path, values file...) and refuse anything outside `root`.

    `what` names the path in errors, e.g. "source.path" or "helm valueFile".
    """
    if "\x00" in relative:
        raise InvalidSource(f"{what} contains a NUL byte")
    if "://" in relative:
        raise InvalidSource(f"{what} {relative!r} is a URL; only paths inside the repository are allowed")
    if relative.startswith("/"):
        raise InvalidSource(f"{what} {relative!r} is absolute; it must be relative to the repository root")
    normalized = posixpath.normpath(relative or ".")
    if normalized == ".." or normalized.startswith("../"):
        raise InvalidSource(f"{what} {relative!r} points outside the repository")
    candidate = root / normalized
    # The materialized tree holds no symlinks; realpath guards against future changes to that.
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if real != real_root and not real.startswith(real_root + os.sep):
        raise InvalidSource(f"{what} {relative!r} points outside the repository")
    if must_exist and not candidate.exists():
        raise PreconditionFailed(f"{what} {relative!r} does not exist in the repository")
    return candidate
