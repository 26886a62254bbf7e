"""Reading a commit's trees and files straight from the repo cache's clone, without a checkout.

A render of one Directory application of a 10,000-application repository needs that application's
files, not a work tree of all of them: its directory's tree objects and blobs, read through one
long-lived `git cat-file --batch-command` per clone (gitopsd.sources.git_batch), cost what the
application holds. The checks a checkout makes of the whole commit (its total size against
render.max_fetch_bytes, the symlinks the path-safety check looks at) come from a TreeSummary per
commit, worked out from the previous commit's summary and the diff between the two (`git
diff-tree`, which skips the subtrees they share), so that a push to one application costs what it
changed; only the first commit of a repository is listed whole (`git ls-tree -r`).

Built on gitopsd.sources.gitcache_commits (the clone, fetches); RepoCache (gitopsd.sources.gitcache)
uses the summaries for its checkouts too, and gitopsd.sources.render_objects renders from here.
Every command is local (no credentials) and runs in the clone of the caller's credential scope.
"""

from __future__ import annotations

import collections
import os
import posixpath
import subprocess
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from gitopsd.sources.errors import LimitExceededError, RepoError, RepoErrorKind
from gitopsd.sources.git_batch import DEFAULT_PROCESSES, BatchError, BatchProcesses, BatchReader
from gitopsd.sources.gitauth import local_environment
from gitopsd.sources.gitcache_commits import RepoCommits
from gitopsd.sources.gitcache_state import CachedRepo, TreeEntry, TreeSummary
from gitopsd.sources.gitclassify import classify_git_error
from gitopsd.sources.giturl import redact_url
from gitopsd.sources.repoaccess import RepoAccess

# Summaries kept per repository and scope: the commits being rendered now and the one before.
_SUMMARIES_KEPT = 8
_NO_SHA = "0" * 40
SYMLINK_MODE = "120000"
TREE_MODE = "040000"
SUBMODULE_MODE = "160000"
# Entries and trees one listing of an application's directory may hold, and the largest tree or
# commit object read (past them, the checkout renders it, or fails as it does).
MAX_ENTRIES = 100_000
MAX_OBJECT_BYTES = 16 * 1024 * 1024
# Parsed trees above application directories kept (a few commits' worth of apps/ and the root).
_TREES_KEPT = 6
# SHA-1 repositories (SHA-256 ones are refused by the clone's object format: git init's default).
_RAW_SHA_BYTES = 20
ATTRIBUTES_FILE = ".gitattributes"


def is_unusual(path: str) -> bool:
    """Whether git would refuse to check `path` out (so a render from objects must not read it):
    a ".git" component (as NTFS and HFS spell it too), an empty, "." or ".." one, a backslash."""
    for name in path.split("/"):
        if name in ("", ".", "..") or "\\" in name:
            return True
        folded = name.rstrip(" .").casefold()
        if folded in (".git", "git~1") or folded.startswith(".git:"):
            return True
    return False


class RepoObjects(RepoCommits):
    """Tree listings, blobs and per-commit tree summaries of the cached clones."""

    def __init__(self, *args: Any, batch_processes: int = DEFAULT_PROCESSES, **kwargs: Any) -> None:
        """As RepoCacheBase's; batch_processes: the most cat-file processes open at once (one per clone)."""
        super().__init__(*args, **kwargs)
        self._batch = BatchProcesses(batch_processes)
        # Tree SHA -> its entries (name -> (mode, SHA)), for the trees above application directories:
        # apps/ of 10,000 applications is one tree every application's render walks through, parsed
        # once instead of 10,000 times (trees never change; the same SHA in every clone is the same tree).
        self._trees: collections.OrderedDict[str, dict[str, tuple[str, str]]] = collections.OrderedDict()
        self._trees_lock = threading.Lock()

    def _tree_index(self, reader: BatchReader, oid: str) -> dict[str, tuple[str, str]]:
        with self._trees_lock:
            known = self._trees.get(oid)
            if known is not None:
                self._trees.move_to_end(oid)
                return known
        index = {name: (mode, sha) for mode, name, sha in _tree_entries(_object(reader, oid, "tree"))}
        with self._trees_lock:
            self._trees[oid] = index
            while len(self._trees) > _TREES_KEPT:
                self._trees.popitem(last=False)
        return index

    # ------------------------------------------------------------------ public

    def list_tree(
        self, repo: str | RepoAccess, sha: str, path: str, *, recursive: bool, project: str = ""
    ) -> list[TreeEntry] | None:
        """The entries of directory `path` ("" the root) of commit `sha`, with their sizes: every file
        below it when recursive (no trees then), else its own entries (trees too). Empty when `path`
        is not a directory of the commit (a file, a symlink, or nothing); None when the listing is not
        taken on: more than MAX_ENTRIES entries and trees (a tree can name one subtree many times over),
        a tree object over MAX_OBJECT_BYTES, a malformed one."""
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        self.ensure_commit(acc, sha)
        if "\n" in path:
            return None  # not a name cat-file can be asked for
        with self._batch.use(state.path, self.timeouts.local) as reader:
            try:
                root = reader.info(f"{sha}^{{tree}}")
                if root is None:
                    raise BatchError(f"commit {sha[:12]} has no tree")
                oid = root[0]
                for name in path.split("/") if path else ():
                    found = self._tree_index(reader, oid).get(name)
                    if found is None or found[0] != TREE_MODE:
                        return []  # missing, a file, a symlink or a submodule: not a directory
                    oid = found[1]
                return _list(reader, oid, path, recursive)
            except _Declined:
                return None
            except BatchError as exc:
                raise RepoError(RepoErrorKind.FAILED, redact_url(acc.url), str(exc)) from None

    def read_blobs(
        self, repo: str | RepoAccess, shas: Sequence[str], *, max_bytes: int, project: str = ""
    ) -> dict[str, bytes]:
        """The content of each blob, by SHA. The caller bounds what it asks for (it knows the sizes
        from list_tree); a blob over `max_bytes` anyway is a LimitExceededError, a SHA that is no
        blob a RepoError."""
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        with self._batch.use(state.path, self.timeouts.local) as reader:
            try:
                return {sha: _object(reader, sha, "blob", max_bytes) for sha in dict.fromkeys(shas)}
            except _Declined:
                raise LimitExceededError(f"a file of the application is larger than {max_bytes} bytes") from None
            except BatchError as exc:
                raise RepoError(RepoErrorKind.FAILED, redact_url(acc.url), str(exc)) from None

    def tree_summary(self, repo: str | RepoAccess, sha: str, *, project: str = "") -> TreeSummary:
        """The whole-tree facts of commit `sha` the checks need (see TreeSummary), remembered."""
        acc = self._acc(repo, project)
        state = self._ensure_clone(acc)
        with state.lock:
            known = state.summaries.get(sha)
            if known is not None:
                state.summaries.move_to_end(sha)
                return known
            base = next(reversed(state.summaries.items()), None)
        self.ensure_commit(acc, sha)
        summary = self._summary_from(state, acc, base, sha) if base else self._full_summary(state, acc, sha)
        with state.lock:
            state.summaries[sha] = summary
            while len(state.summaries) > _SUMMARIES_KEPT:
                state.summaries.popitem(last=False)
        return summary

    # ------------------------------------------------------------------ the checkout's checks

    def _check_tree_size(self, repo: CachedRepo, acc: RepoAccess, sha: str) -> tuple[str, ...]:
        """Refuses a commit whose files add up to more than the limit, before writing any of them
        (a small pack can hold many well-compressed files). Returns the commit's symlinks: the
        path-safety check looks at those instead of walking the whole tree."""
        summary = self.tree_summary(acc, sha)
        if self.max_fetch_bytes > 0 and summary.total_bytes > self.max_fetch_bytes:
            raise RepoError(
                RepoErrorKind.TOO_LARGE,
                redact_url(acc.url),
                f"commit {sha[:12]} holds {summary.total_bytes} bytes of files, more than "
                f"render.max_fetch_bytes ({self.max_fetch_bytes})",
            )
        return tuple(sorted(summary.symlinks))

    # ------------------------------------------------------------------ summaries

    def _full_summary(self, repo: CachedRepo, acc: RepoAccess, sha: str) -> TreeSummary:
        sizes = self.max_fetch_bytes > 0  # -l costs a lookup of every blob: only when it is needed
        out = self._git_bytes(
            ["ls-tree", "-r", "-z", "--full-tree", *(["-l"] if sizes else []), sha],
            acc=acc,
            cwd=repo.path,
            timeout=self.timeouts.fetch,  # as long as the checkout it stands in for may take
        )
        total = 0
        symlinks, unusual, attributes = set(), set(), set()
        for entry in _ls_tree_entries(out):
            total += max(entry.size, 0)
            if entry.mode == SYMLINK_MODE:
                symlinks.add(entry.path)
            if is_unusual(entry.path):
                unusual.add(entry.path)
            if posixpath.basename(entry.path) == ATTRIBUTES_FILE:
                attributes.add(entry.path)
        return TreeSummary(total, frozenset(symlinks), frozenset(unusual), frozenset(attributes))

    def _summary_from(
        self, repo: CachedRepo, acc: RepoAccess, base: tuple[str, TreeSummary], sha: str
    ) -> TreeSummary:
        """`sha`'s summary from another commit's and the files that differ between the two."""
        old_sha, old = base
        out = self._git_bytes(
            ["diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", old_sha, sha], acc=acc, cwd=repo.path
        )
        fields = out.split(b"\x00")
        symlinks, unusual, attributes = set(old.symlinks), set(old.unusual), set(old.attributes)
        removed, added = [], []
        for meta_raw, path_raw in zip(fields[0::2], fields[1::2], strict=False):
            meta = meta_raw.decode("ascii", "replace").lstrip(":").split()
            if len(meta) < 5:
                continue
            old_mode, new_mode, old_blob, new_blob = meta[:4]
            path = os.fsdecode(path_raw)
            symlinks.discard(path)
            unusual.discard(path)
            attributes.discard(path)
            if new_blob != _NO_SHA:  # present in the new commit
                if new_mode == SYMLINK_MODE:
                    symlinks.add(path)
                if is_unusual(path):
                    unusual.add(path)
                if posixpath.basename(path) == ATTRIBUTES_FILE:
                    attributes.add(path)
            # Submodules (160000) have no size, as in ls-tree -l.
            if old_blob != _NO_SHA and old_mode != "160000":
                removed.append(old_blob)
            if new_blob != _NO_SHA and new_mode != "160000":
                added.append(new_blob)
        total = 0
        if self.max_fetch_bytes > 0:
            sizes = self._blob_sizes(repo, acc, [*removed, *added])
            total = old.total_bytes - sum(sizes[s] for s in removed) + sum(sizes[s] for s in added)
        return TreeSummary(total, frozenset(symlinks), frozenset(unusual), frozenset(attributes))

    def _blob_sizes(self, repo: CachedRepo, acc: RepoAccess, shas: Iterable[str]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        with self._batch.use(repo.path, self.timeouts.local) as reader:
            try:
                for sha in dict.fromkeys(shas):
                    info = reader.info(sha)
                    if info is None:
                        raise BatchError(f"object {sha[:12]} is missing")
                    sizes[sha] = info[2]
            except BatchError as exc:
                raise RepoError(RepoErrorKind.FAILED, redact_url(acc.url), str(exc)) from None
        return sizes

    # ------------------------------------------------------------------ running git

    def _git_bytes(self, args: list[str], *, acc: RepoAccess, cwd: Path, timeout: float = 0) -> bytes:
        """A local git command (never credentials) with bytes out: file names are not text. Messages
        are classified as _git's are. timeout: the local one unless given."""
        timeout = timeout or self.timeouts.local
        try:
            done = subprocess.run(  # noqa: S603 - a fixed git command, no shell
                ["git", *args],
                cwd=cwd,
                env={**os.environ, **local_environment()},
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RepoError(
                RepoErrorKind.UNREACHABLE, redact_url(acc.url), f"git timed out after {timeout:g}s"
            ) from None
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace")
            raise classify_git_error(err, redact_url(acc.url), network=False, timeout=timeout)
        return done.stdout


def _ls_tree_entries(out: bytes) -> list[TreeEntry]:
    """Entries of `git ls-tree -z` output, with or without -l."""
    entries = []
    for record in out.split(b"\x00"):
        meta_raw, tab, path_raw = record.partition(b"\t")
        if not tab:
            continue
        meta = meta_raw.decode("ascii", "replace").split()
        if len(meta) < 3:
            continue
        size = int(meta[3]) if len(meta) == 4 and meta[3].isdigit() else -1
        entries.append(TreeEntry(os.fsdecode(path_raw), meta[0], meta[1], meta[2], size))
    return entries


class _Declined(Exception):
    """A tree the listing does not take on (malformed, or too big): the checkout renders it, or says why not."""


def _object(reader: BatchReader, oid: str, kind: str, max_bytes: int = MAX_OBJECT_BYTES) -> bytes:
    """An object's content, its type and size checked before it is read."""
    info = reader.info(oid)
    if info is None or info[1] != kind:
        raise BatchError(f"object {oid[:12]} is not a {kind}")
    if info[2] > max_bytes:
        raise _Declined
    got = reader.contents(oid)
    if got is None or got[0] != kind:
        raise BatchError(f"object {oid[:12]} is not a {kind}")
    return got[1]


def _tree_entries(raw: bytes) -> Iterator[tuple[str, str, str]]:
    """(mode, name, SHA) of each entry of a raw tree object: "<mode> <name>\\0<binary SHA>", sorted."""
    pos, size = 0, len(raw)
    while pos < size:
        space, nul = raw.find(b" ", pos), raw.find(b"\x00", pos)
        end = nul + 1 + _RAW_SHA_BYTES
        if space < 0 or nul < space or end > size or not raw[pos:space].isdigit():
            raise _Declined  # git fsck would say what is wrong; the checkout says it to the user
        name = os.fsdecode(raw[space + 1 : nul])
        if "/" in name or name in ("", ".", ".."):
            raise _Declined
        yield raw[pos:space].decode("ascii").zfill(6), name, raw[nul + 1 : end].hex()
        pos = end


def _list(reader: BatchReader, tree: str, path: str, recursive: bool) -> list[TreeEntry]:
    out: list[TreeEntry] = []
    pending = [(tree, path)]
    trees = 0
    while pending:
        oid, base = pending.pop()
        trees += 1
        for mode, name, sha in _tree_entries(_object(reader, oid, "tree")):
            rel = f"{base}/{name}" if base else name
            if mode == TREE_MODE:
                if recursive:
                    pending.append((sha, rel))
                    continue
                out.append(TreeEntry(rel, mode, "tree", sha, -1))
            elif mode == SUBMODULE_MODE:
                out.append(TreeEntry(rel, mode, "commit", sha, -1))
            else:
                info = reader.info(sha)
                if info is None or info[1] != "blob":
                    raise BatchError(f"object {sha[:12]} is not a blob")
                out.append(TreeEntry(rel, mode, "blob", sha, info[2]))
        # Trees count too: one tree may be named many times over (each time listed again).
        if len(out) + trees > MAX_ENTRIES:
            raise _Declined
    return out
