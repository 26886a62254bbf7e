"""Path safety and size limits for untrusted repositories.

Everything the daemon reads from a checkout goes through here: the app path must stay
inside the repository, no symlink may point outside it (Argo CD refuses the whole
repository in that case too), value files must be inside the repository, and what is
read or rendered is capped. Messages name repository paths only, never content from
outside the repository.

The checkout's `.git` counts as outside: in a worktree it is a file `gitdir: <data dir>/git/...`
(and in a plain clone, a directory of objects and config), so a symlink into it would hand the data
dir's path, or another repository's objects, to a renderer and from there to error messages.
"""

from __future__ import annotations

import os
import posixpath
import stat
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.sources.errors import LimitExceededError, SourceSpecError, UnsafePathError

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Limits for one render (config keys under `sources.limits`)."""

    # Combined bytes of repository files read or sent to a renderer.
    max_repo_bytes: int = 10 * MiB
    # Combined bytes of rendered manifests (JSON).
    max_output_bytes: int = 10 * MiB
    # Bytes a chart archive may expand to (enforced by the Helm renderer).
    max_chart_bytes: int = 50 * MiB
    # Number of files read from one repository.
    max_files: int = 20000
    # Seconds before a render is abandoned.
    render_timeout: float = 90.0
    # URL schemes allowed for Helm valueFiles (none by default: files must be in the repo).
    value_file_url_schemes: tuple[str, ...] = field(default=())


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RepoFile:
    path: str  # relative to the repository root, "/"-separated
    content: bytes
    executable: bool


def _inside(root_real: str, candidate_real: str) -> bool:
    return candidate_real == root_real or candidate_real.startswith(root_real.rstrip("/") + "/")


def _in_git_dir(root_real: str, candidate_real: str) -> bool:
    """Whether a real path is the checkout's .git or inside it."""
    git = os.path.join(root_real, ".git")
    return candidate_real == git or candidate_real.startswith(git + "/")


def _escape(root_real: str, real: str) -> str | None:
    """How a real path leaves the repository's files, as an error's ending; None when it does not."""
    if not _inside(root_real, real):
        return "points outside the repository"
    if _in_git_dir(root_real, real):
        return "points into the repository's .git"
    return None


def clean_relative(path: str, *, what: str = "path") -> str:
    """A repository-relative path in canonical form ("" for the root); refuses escapes."""
    if "\x00" in path:
        raise UnsafePathError(f"{what} {path!r} is not a valid path")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise UnsafePathError(f"{what} {path!r} is absolute; it must be relative to the repository root")
    norm = posixpath.normpath(path or ".")
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        raise UnsafePathError(f"{what} {path!r} points outside the repository")
    return norm


def resolve_app_path(repo_root: Path, path: str) -> Path:
    """The app directory inside the checkout; refuses `..`, absolute paths and symlink escapes."""
    rel = clean_relative(path, what="application path")
    root_real = os.path.realpath(repo_root)
    target = os.path.join(root_real, rel) if rel else root_real
    real = os.path.realpath(target)
    escape = _escape(root_real, real)
    if escape is None and ".git" in rel.split("/"):
        escape = "is inside a .git directory"
    if escape is not None:
        raise UnsafePathError(f"application path {path!r} {escape}")
    if not os.path.isdir(real):
        raise SourceSpecError(f"application path {path!r} does not exist in the repository")
    return Path(target)


def check_inside(repo_root: Path, candidate: Path, *, shown_as: str) -> Path:
    """Real path of `candidate` if it is inside the repository; else UnsafePathError."""
    root_real = os.path.realpath(repo_root)
    real = os.path.realpath(candidate)
    escape = _escape(root_real, real)
    if escape is not None:
        raise UnsafePathError(f"{shown_as} {escape}")
    return Path(real)


def resolve_value_file(repo_root: Path, app_rel: str, value_file: str, limits: Limits) -> tuple[str, bool]:
    """Checks one Helm value file; returns (path relative to the app dir or the URL, exists).

    Relative paths are relative to the chart directory; absolute paths are relative to the
    repository root (as in Argo CD). URLs are refused unless their scheme is allowed.
    """
    parsed = urllib.parse.urlsplit(value_file)
    if parsed.scheme and len(parsed.scheme) > 1:
        if parsed.scheme.lower() in limits.value_file_url_schemes:
            return value_file, True
        raise UnsafePathError(
            f"value file {value_file!r} is a URL; URLs are not allowed for value files "
            "(allow the scheme in sources.limits.value_file_url_schemes)"
        )
    if value_file.startswith("/"):
        rel = clean_relative(value_file.lstrip("/"), what=f"value file {value_file!r}:")
    else:
        rel = clean_relative(posixpath.join(app_rel, value_file), what="value file")
    target = repo_root / rel
    if os.path.lexists(target):
        check_inside(repo_root, target, shown_as=f"value file {value_file!r}")
    exists = target.is_file()
    relative_to_app = posixpath.relpath(rel or ".", app_rel or ".")
    return relative_to_app, exists


def check_symlinks(repo_root: Path, symlinks: Iterable[str] | None = None) -> None:
    """Refuses the repository if any symlink in it points outside it.

    symlinks: every symlink the tree can hold (repository-relative), when known (a git checkout's,
    from its tree listing): only those are looked at, instead of a walk of the whole tree."""
    root_real = os.path.realpath(repo_root)
    if symlinks is not None:
        for rel in sorted(symlinks):
            full = os.path.join(repo_root, rel)
            if os.path.islink(full):
                escape = _escape(root_real, os.path.realpath(full))
                if escape is not None:
                    raise UnsafePathError(f"symlink {rel!r} {escape}")
        return
    for dirpath, dirnames, filenames in os.walk(repo_root):
        if dirpath == str(repo_root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            filenames = [f for f in filenames if f != ".git"]
        for name in (*dirnames, *filenames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                escape = _escape(root_real, os.path.realpath(full))
                if escape is not None:
                    rel = os.path.relpath(full, repo_root)
                    raise UnsafePathError(f"symlink {rel!r} {escape}")


def read_repo_files(
    repo_root: Path, limits: Limits, *, skip: Iterable[str] = (".git",), only: Iterable[str] | None = None
) -> list[RepoFile]:
    """Every regular file of the checkout (minus .git), symlinks inside resolved to content.

    only: repository-relative paths (directories or files; "" is the root) to read instead of the
    whole checkout: only those subtrees are walked, and a path through a symlink is resolved and
    checked at each step as the whole walk would. The result is what the whole walk returns for
    those paths, in the same order; missing paths give nothing.

    Refuses escaping symlinks and enforces the combined size and file-count limits (on what is
    read). Special files (fifos, devices) are left out: reading one could hang.
    """
    root = Path(repo_root)
    root_real = os.path.realpath(root)
    skip_set = set(skip)
    out: list[RepoFile] = []
    total = 0

    def real_of(full: str, rel: str, is_link: bool) -> str | None:
        """Where an entry's content is; refuses a symlink out of the repository; None if dangling."""
        if not is_link:
            return full
        real = os.path.realpath(full)
        escape = _escape(root_real, real)
        if escape is not None:
            raise UnsafePathError(f"symlink {rel!r} {escape}")
        return real if os.path.exists(real) else None  # dangling: the renderer reports it if used

    def visit(full: str, rel: str, is_link: bool, chain: frozenset[str]) -> None:
        nonlocal total
        real = real_of(full, rel, is_link)
        if real is None:
            return
        try:
            st = os.stat(real)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode):
            if real in chain:
                return  # a symlink loop inside the repository
            walk(real, rel, chain | {real})
        elif stat.S_ISREG(st.st_mode):
            if len(out) >= limits.max_files:
                raise LimitExceededError(
                    f"the repository has more than {limits.max_files} files (limit sources.limits.max_files)"
                )
            total += st.st_size
            if total > limits.max_repo_bytes:
                raise LimitExceededError(
                    f"repository files exceed the size limit of {_human(limits.max_repo_bytes)} "
                    f"(reached at {rel!r})"
                )
            with open(real, "rb") as fh:
                content = fh.read(st.st_size + 1)
            if len(content) > st.st_size:
                raise LimitExceededError(f"file {rel!r} grew while being read")
            out.append(RepoFile(rel, content, bool(st.st_mode & 0o111)))

    def walk(real_dir: str, rel_dir: str, chain: frozenset[str]) -> None:
        try:
            with os.scandir(real_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise UnsafePathError(f"cannot read directory {rel_dir or '.'!r}: {exc.strerror}") from None
        for entry in entries:
            if entry.name not in skip_set:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                visit(os.path.join(real_dir, entry.name), rel, entry.is_symlink(), chain)

    def descend(parts: tuple[str, ...]) -> None:
        """Visit one path of `only`, following its directories one name at a time as walk would."""
        real_dir, chain = root_real, frozenset({root_real})
        for i, name in enumerate(parts):
            if name in skip_set:
                return
            full = os.path.join(real_dir, name)
            rel = "/".join(parts[: i + 1])
            if i == len(parts) - 1:
                visit(full, rel, os.path.islink(full), chain)
                return
            real = real_of(full, rel, os.path.islink(full))
            if real is None or not os.path.isdir(real) or real in chain:
                return
            real_dir, chain = real, chain | {real}

    chosen = None if only is None else _outermost(only)
    if chosen is None or () in chosen:
        walk(root_real, "", frozenset({root_real}))
    else:
        for parts in chosen:
            descend(parts)
    return out


def _outermost(paths: Iterable[str]) -> list[tuple[str, ...]]:
    """The paths as name tuples in walk order, minus those inside another one; () is the root."""
    kept: list[tuple[str, ...]] = []
    for parts in sorted({tuple(p.split("/")) if p else () for p in map(clean_relative, paths)}):
        # Sorted, a path's descendants directly follow it: comparing with the last kept is enough.
        if not kept or parts[: len(kept[-1])] != kept[-1]:
            kept.append(parts)
    return kept


def _human(n: int) -> str:
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


human_size = _human
