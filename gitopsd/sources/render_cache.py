"""The render cache under gitopsd.sources.render: what a render produced (RenderResult), the cache
entries and counters, and the reuse of an earlier commit's render when nothing it depends on changed.

TreeRenderer (gitopsd.sources.render_tree) and SourceRenderer (gitopsd.sources.render) build on
RenderCache and add the rendering itself.
"""

from __future__ import annotations

import collections
import json
import logging
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import SourceType
from gitopsd.sources.directory import check_object
from gitopsd.sources.errors import LimitExceededError, SourceError, SourceSpecError
from gitopsd.sources.gitauth import CredentialsLookup
from gitopsd.sources.gitcache import CommitInfo, RepoCache
from gitopsd.sources.jsonnet_source import JSONNET_RENDERER, is_jsonnet_ident, jsonnet_ident_of
from gitopsd.sources.render_inputs import is_under
from gitopsd.sources.renderer_client import RendererClient
from gitopsd.sources.repoaccess import RepoAccess
from gitopsd.sources.safety import DEFAULT_LIMITS, Limits, human_size

log = logging.getLogger("gitopsd.sources.render")

DIRECTORY_RENDERER = "gitopsd-directory/1"


class RendererRegistry(Protocol):
    """Which renderer serves a source (SidecarSupervisor implements it)."""

    def client_for(self, source_type: str, plugin_name: str = "", *, wait: bool = True) -> RendererClient: ...


@dataclass(frozen=True)
class RenderResult:
    manifests: list[dict[str, Any]]
    source_type: str
    # The commit SHA, the chart version for chart sources, "local" for uploaded files.
    revision: str
    commit: CommitInfo | None
    warnings: list[str]
    cache_hit: bool
    renderer: str = ""
    # Multi-source applications (gitopsd.sources.multisource): each source's resolved revision, in order.
    revisions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderCounters:
    """Monotonic counters for /metrics."""

    renders: int = 0
    cache_hits: int = 0
    # Cache hits that came from reusing an earlier commit's render (nothing relevant changed).
    path_reuses: int = 0
    errors: int = 0
    by_type: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CacheEntry:
    manifests_json: str
    source_type: str
    renderer: str
    sha: str
    warnings: tuple[str, ...]
    # Repository paths whose change invalidates this render for a later commit; None: any change.
    relevant: tuple[str, ...] | None


# Output bytes of the renders kept in memory: with one entry per application and commit, a count
# alone is either too small for 10,000 applications (every pass re-renders them all) or unbounded
# in memory for big ones.
DEFAULT_CACHE_MAX_BYTES = 256 * 1024 * 1024
DEFAULT_CACHE_SIZE = 50_000
# What an entry costs beside its strings: the entry, its key tuple, the two dicts' slots and the small
# tuples (traced with tracemalloc: ~800 bytes in all for a one-ConfigMap render of ~200 characters).
_ENTRY_OVERHEAD = 400


def footprint(key: tuple[str, ...], entry: CacheEntry) -> int:
    """The bytes an entry holds in memory: its output, the key's strings and the bookkeeping around
    them. The output's length alone undercounted small renders four times over, so a byte cap let
    the cache hold far more than it said. Entries that share their output (a reuse for a later
    commit) are each charged for it: on the safe side."""
    return sys.getsizeof(entry.manifests_json) + sum(sys.getsizeof(k) for k in key) + _ENTRY_OVERHEAD


class RenderCache:
    """The cache state and lookups of SourceRenderer, and its renderer and output checks."""

    def __init__(
        self,
        repo_cache: RepoCache | None,
        renderers: RendererRegistry | None,
        limits: Limits = DEFAULT_LIMITS,
        cache_size: int = DEFAULT_CACHE_SIZE,
        credentials_lookup: CredentialsLookup | None = None,
        cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES,
    ) -> None:
        """cache_size / cache_max_bytes: renders kept, by count and by the bytes of their output;
        the least recently used go first when either is exceeded."""
        self.repo_cache = repo_cache
        self.renderers = renderers
        self.limits = limits
        self.cache_size = cache_size
        self.cache_max_bytes = cache_max_bytes
        self._cache_bytes = 0
        self._lookup: CredentialsLookup = credentials_lookup or (lambda _url, _project: None)
        self._cache: collections.OrderedDict[tuple[str, ...], CacheEntry] = collections.OrderedDict()
        # (repo, path, params) -> the latest entry: the candidate for path-based reuse; and back, so
        # that an entry evicted for the bytes it holds is not still held here.
        self._latest: dict[tuple[str, ...], CacheEntry] = {}
        self._latest_of: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()
        # Checkouts are read-only and named by commit: one symlink check per checkout is enough.
        self._checked_roots: set[str] = set()

    # ------------------------------------------------------------------ public

    def counters(self) -> RenderCounters:
        with self._lock:
            c = self._counts
            by_type = {k.removeprefix("type:"): v for k, v in c.items() if k.startswith("type:")}
            return RenderCounters(c["renders"], c["cache_hits"], c["path_reuses"], c["errors"], by_type)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()
            self._cache_bytes = 0
            self._latest.clear()
            self._latest_of.clear()

    def _lookup_cached(
        self, key: tuple[str, ...], source: application_pb2.ApplicationSource
    ) -> CacheEntry | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
        if entry is None or not self._same_renderer(entry, source):
            return None
        return entry

    def _same_renderer(self, entry: CacheEntry, source: application_pb2.ApplicationSource) -> bool:
        if entry.source_type == SourceType.DIRECTORY and not is_jsonnet_ident(entry.renderer):
            return entry.renderer == DIRECTORY_RENDERER
        if self.renderers is None:
            return False
        try:
            if entry.source_type == SourceType.DIRECTORY:
                client = self.renderers.client_for(JSONNET_RENDERER, wait=False)
                return client.capabilities().ident == jsonnet_ident_of(entry.renderer)
            client = self.renderers.client_for(entry.source_type, source.plugin.name, wait=False)
            return client.capabilities().ident == entry.renderer
        except SourceError:
            # The renderer is down and its version unknown: the earlier render of this exact
            # commit is still the best answer (it was produced by the last renderer seen).
            return True

    def _try_reuse(
        self,
        url: RepoAccess,
        app_key: tuple[str, ...],
        key: tuple[str, ...],
        sha: str,
        source: application_pb2.ApplicationSource,
    ) -> CacheEntry | None:
        assert self.repo_cache is not None
        with self._lock:
            prev = self._latest.get(app_key)
        if prev is None or prev.relevant is None or prev.sha == sha or not self._same_renderer(prev, source):
            return None
        try:
            changed = self.repo_cache.changed_paths(url, prev.sha, sha)
        except SourceError as exc:
            log.debug("no render reuse for %s: %s", url.key, exc)
            return None
        if any(is_under(p, r) for p in changed for r in prev.relevant):
            return None
        entry = CacheEntry(
            prev.manifests_json, prev.source_type, prev.renderer, sha, prev.warnings, prev.relevant
        )
        self._store(key, app_key, entry)
        self._count("cache_hits")
        self._count("path_reuses")
        return entry

    def _client(self, source_type: SourceType, source: application_pb2.ApplicationSource) -> RendererClient:
        if self.renderers is None:
            raise SourceSpecError(f"no renderer configured for {source_type.value} sources")
        return self.renderers.client_for(source_type.value, source.plugin.name)

    def _checked_json(self, manifests: list[dict[str, Any]], renderer: str) -> str:
        # A plugin is untrusted too: what it returns must be Kubernetes objects.
        for index, obj in enumerate(manifests):
            check_object(f"renderer {renderer} returned manifest #{index + 1}", obj)
        text = json.dumps(manifests, separators=(",", ":"))
        if len(text) > self.limits.max_output_bytes:
            raise LimitExceededError(
                f"rendered output exceeds the size limit of {human_size(self.limits.max_output_bytes)}"
            )
        return text

    def _store(self, key: tuple[str, ...], app_key: tuple[str, ...] | None, entry: CacheEntry) -> None:
        with self._lock:
            old = self._cache.pop(key, None)
            self._cache_bytes -= footprint(key, old) if old is not None else 0
            self._cache[key] = entry
            self._cache_bytes += footprint(key, entry)
            if app_key is not None:
                self._latest[app_key] = entry
                self._latest_of[key] = app_key
                while len(self._latest) > self.cache_size:
                    self._latest.pop(next(iter(self._latest)))
            while len(self._cache) > 1 and (
                len(self._cache) > self.cache_size or self._cache_bytes > self.cache_max_bytes
            ):
                evicted_key, evicted = self._cache.popitem(last=False)
                self._cache_bytes -= footprint(evicted_key, evicted)
                latest_key = self._latest_of.pop(evicted_key, None)
                if latest_key is not None and self._latest.get(latest_key) is evicted:
                    del self._latest[latest_key]  # gone from the cache: not kept here either

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    @staticmethod
    def _result(
        entry: CacheEntry, commit: CommitInfo | None, *, cache_hit: bool, revision: str | None = None
    ) -> RenderResult:
        # Every caller gets its own copy: the engine may normalize objects in place.
        return RenderResult(
            manifests=json.loads(entry.manifests_json),
            source_type=entry.source_type,
            revision=revision or (commit.sha if commit else entry.sha),
            commit=commit,
            warnings=list(entry.warnings),
            cache_hit=cache_hit,
            renderer=entry.renderer,
        )
