"""Render orchestration: source -> manifests, with the render cache.

The app service calls `SourceRenderer.render()` for each refresh. It resolves the target
revision through the repo cache, answers from the render cache when (repository, credential
scope, SHA, path, source parameters, renderer and version) was rendered before (the scope: a
render made with one project's repository credentials is never served to another project), reuses the previous
render when a new commit changed nothing the app depends on (its path, what its
kustomization/chart refers to, manifest-generate-paths), and otherwise checks the commit
out, applies the path-safety checks and renders: Directory sources in-process, the rest
through a renderer sidecar or plugin.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import os
import posixpath
import re
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import KUSTOMIZATION_FILES, SourceType, detect_source_type, is_chart_source
from gitopsd.sources.directory import check_object, render_directory
from gitopsd.sources.errors import LimitExceededError, SourceError, SourceSpecError, UnsafePathError
from gitopsd.sources.gitauth import CredentialsLookup
from gitopsd.sources.gitcache import CommitInfo, RepoCache
from gitopsd.sources.giturl import normalize_repo_url, redact_url, split_credentials
from gitopsd.sources.renderer_client import RendererClient, build_render_request, chart_reference
from gitopsd.sources.repoaccess import EMBEDDED_PASSWORD_HINT, RepoAccess, scope_of
from gitopsd.sources.safety import (
    DEFAULT_LIMITS,
    Limits,
    check_symlinks,
    clean_relative,
    human_size,
    read_repo_files,
    resolve_app_path,
    resolve_value_file,
)

log = logging.getLogger(__name__)

MANIFEST_GENERATE_PATHS = ("gitopsd.io/manifest-generate-paths", "argocd.argoproj.io/manifest-generate-paths")
DIRECTORY_RENDERER = "gitopsd-directory/1"
_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$")


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
class _Entry:
    manifests_json: str
    source_type: str
    renderer: str
    sha: str
    warnings: tuple[str, ...]
    # Repository paths whose change invalidates this render for a later commit; None: any change.
    relevant: tuple[str, ...] | None


class SourceRenderer:
    def __init__(
        self,
        repo_cache: RepoCache | None,
        renderers: RendererRegistry | None,
        limits: Limits = DEFAULT_LIMITS,
        cache_size: int = 512,
        credentials_lookup: CredentialsLookup | None = None,
    ) -> None:
        self.repo_cache = repo_cache
        self.renderers = renderers
        self.limits = limits
        self.cache_size = cache_size
        self._lookup: CredentialsLookup = credentials_lookup or (lambda _url, _project: None)
        self._cache: collections.OrderedDict[tuple[str, ...], _Entry] = collections.OrderedDict()
        # (repo, path, params) -> the latest entry: the candidate for path-based reuse.
        self._latest: dict[tuple[str, ...], _Entry] = {}
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
            self._latest.clear()

    def render(
        self,
        app_name: str,
        source: application_pb2.ApplicationSource,
        namespace: str,
        revision_override: str | None = None,
        hard: bool = False,
        local_files: Mapping[str, bytes] | Sequence[Any] | None = None,
        *,
        local_path: str = ".",
        annotations: Mapping[str, str] | None = None,
        kube_version: str = "",
        api_versions: Sequence[str] = (),
        refresh_revision: bool = False,
        project: str = "",
    ) -> RenderResult:
        """Renders one source. Raises SourceError (with a message for the app's condition).

        hard: bypass the render cache (and ask the server for the revision again);
        refresh_revision: ask the server for the revision again (a user's "refresh"), the
        render cache still applies; otherwise this interval's ls-remote answer is used.
        annotations: the Application's, for manifest-generate-paths.
        local_files: uploaded files (path -> bytes, or objects with .path/.content) to render
        instead of the repository, with `local_path` the app path inside them.
        project: the application's project: which repository credentials it may use.
        """
        try:
            if local_files is not None:
                return self._render_local(
                    app_name, source, namespace, local_files, local_path, kube_version, api_versions
                )
            if not source.repo_url:
                raise SourceSpecError("source has no repoURL")
            if is_chart_source(source):
                return self._render_chart(
                    app_name, source, namespace, revision_override, hard, kube_version, api_versions, project
                )
            return self._render_git(
                app_name,
                source,
                namespace,
                revision_override,
                hard,
                annotations or {},
                kube_version,
                api_versions,
                refresh_revision,
                project,
            )
        except SourceError:
            self._count("errors")
            raise
        except OSError as exc:
            # Reading the checkout failed (permissions, a vanished file): still this app's error.
            self._count("errors")
            raise SourceError(f"cannot read the source: {exc.strerror or type(exc).__name__}") from None

    # ------------------------------------------------------------------ git sources

    def _render_git(
        self,
        app_name: str,
        source: application_pb2.ApplicationSource,
        namespace: str,
        revision_override: str | None,
        hard: bool,
        annotations: Mapping[str, str],
        kube_version: str,
        api_versions: Sequence[str],
        refresh_revision: bool,
        project: str,
    ) -> RenderResult:
        if self.repo_cache is None:
            raise SourceSpecError("no repository cache configured")
        # One lookup of the credentials for the whole render: clone, checkout and cache key agree.
        url = self.repo_cache.access(source.repo_url, project)
        app_rel = clean_relative(source.path, what="application path")
        commit = self.repo_cache.resolve(
            url, revision_override or source.target_revision or "HEAD", force=hard or refresh_revision
        )
        params = _params_hash(source, app_name, namespace, kube_version, api_versions, annotations)
        app_key = (url.key, url.scope, app_rel, params)
        key = (*app_key, commit.sha)
        if not hard:
            hit = self._lookup_cached(key, source)
            if hit is not None:
                self._count("cache_hits")
                return self._result(hit, commit, cache_hit=True)
            reused = self._try_reuse(url, app_key, key, commit.sha, source)
            if reused is not None:
                return self._result(reused, commit, cache_hit=True)
        with self.repo_cache.checkout(url, commit.sha) as root:
            entry = self._render_tree(
                root,
                app_rel,
                source,
                app_name,
                namespace,
                commit.sha,
                kube_version,
                api_versions,
                annotations,
            )
        self._store(key, app_key, entry)
        return self._result(entry, commit, cache_hit=False)

    def _lookup_cached(
        self, key: tuple[str, ...], source: application_pb2.ApplicationSource
    ) -> _Entry | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
        if entry is None or not self._same_renderer(entry, source):
            return None
        return entry

    def _same_renderer(self, entry: _Entry, source: application_pb2.ApplicationSource) -> bool:
        if entry.source_type == SourceType.DIRECTORY:
            return entry.renderer == DIRECTORY_RENDERER
        if self.renderers is None:
            return False
        try:
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
    ) -> _Entry | None:
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
        if any(_is_under(p, r) for p in changed for r in prev.relevant):
            return None
        entry = _Entry(
            prev.manifests_json, prev.source_type, prev.renderer, sha, prev.warnings, prev.relevant
        )
        self._store(key, app_key, entry)
        self._count("cache_hits")
        self._count("path_reuses")
        return entry

    def _render_tree(
        self,
        root: Path,
        app_rel: str,
        source: application_pb2.ApplicationSource,
        app_name: str,
        namespace: str,
        revision: str,
        kube_version: str,
        api_versions: Sequence[str],
        annotations: Mapping[str, str],
    ) -> _Entry:
        app_dir = resolve_app_path(root, app_rel)
        # Before anything looks into the tree (even detection's stat of a kustomization).
        if str(root) not in self._checked_roots:
            check_symlinks(root)
            with self._lock:
                if len(self._checked_roots) > 10000:
                    self._checked_roots.clear()
                self._checked_roots.add(str(root))
        source_type = detect_source_type(source, app_dir)
        self._count("renders")
        self._count(f"type:{source_type.value}")
        declared = _declared_paths(annotations, app_rel)
        if source_type == SourceType.DIRECTORY:
            rendered = render_directory(
                root, app_dir, source.directory if source.HasField("directory") else None, self.limits
            )
            relevant: set[str] | None = {app_rel, *rendered.inputs}
            manifests_json = json.dumps(rendered.manifests, separators=(",", ":"))
            return _Entry(
                manifests_json, source_type, DIRECTORY_RENDERER, revision, (), _relevant(relevant, declared)
            )
        client = self._client(source_type, source)
        info = client.capabilities()
        files = read_repo_files(root, self.limits)
        to_send, warnings = self._prepare_source(root, app_rel, source, source_type)
        request = build_render_request(
            source_type=source_type.value,
            source=to_send,
            files=files,
            app_name=app_name,
            namespace=namespace,
            kube_version=kube_version,
            api_versions=api_versions,
            revision=revision,
            limits=self.limits,
        )
        manifests, more_warnings, _ = client.render(request, timeout=self.limits.render_timeout)
        manifests_json = self._checked_json(manifests, client.name)
        if source_type == SourceType.KUSTOMIZE:
            relevant = _kustomize_inputs(root, app_rel)
        elif source_type == SourceType.HELM:
            relevant = _helm_inputs(root, app_rel, to_send)
        else:
            relevant = None if not declared else {app_rel}
        return _Entry(
            manifests_json,
            source_type,
            info.ident,
            revision,
            tuple(warnings + more_warnings),
            _relevant(relevant, declared),
        )

    def _prepare_source(
        self, root: Path, app_rel: str, source: application_pb2.ApplicationSource, source_type: SourceType
    ) -> tuple[application_pb2.ApplicationSource, list[str]]:
        """The source as sent: value files checked and rewritten relative to the chart dir."""
        out = application_pb2.ApplicationSource()
        out.CopyFrom(source)
        out.path = app_rel or "."
        warnings: list[str] = []
        if source_type != SourceType.HELM or not source.HasField("helm"):
            return out, warnings
        kept: list[str] = []
        for vf in source.helm.value_files:
            rel, exists = resolve_value_file(root, app_rel, vf, self.limits)
            if not exists:
                if source.helm.ignore_missing_value_files:
                    warnings.append(f"value file {vf!r} not found; ignored")
                    continue
                raise SourceSpecError(f"value file {vf!r} not found in the repository")
            kept.append(rel)
        del out.helm.value_files[:]
        out.helm.value_files.extend(kept)
        for fp in out.helm.file_parameters:
            rel, exists = resolve_value_file(root, app_rel, fp.path, Limits())
            if not exists:
                raise SourceSpecError(f"file parameter {fp.name!r}: {fp.path!r} not found in the repository")
            fp.path = rel
        return out, warnings

    # ------------------------------------------------------------------ chart sources

    def _render_chart(
        self,
        app_name: str,
        source: application_pb2.ApplicationSource,
        namespace: str,
        revision_override: str | None,
        hard: bool,
        kube_version: str,
        api_versions: Sequence[str],
        project: str,
    ) -> RenderResult:
        if _embeds_password(source.repo_url):
            # Stored by an older gitopsd: credentials belong in `repo add`, never in the spec.
            raise SourceSpecError(f"repoURL {redact_url(source.repo_url)}: {EMBEDDED_PASSWORD_HINT}")
        denial = self.repo_cache.protected.denial(source.repo_url) if self.repo_cache else None
        if denial:
            raise UnsafePathError(f"repoURL {redact_url(source.repo_url)}: {denial}")
        version = (revision_override or source.target_revision or "").strip()
        params = _params_hash(source, app_name, namespace, kube_version, api_versions, {})
        repo_key = normalize_repo_url_lenient(source.repo_url)
        creds = self._lookup(repo_key, project)
        key = ("chart", repo_key, scope_of(creds), source.chart, params, version)
        # A range ("^1.2", "*", "") may resolve to a newer chart any time: not cached.
        cacheable = bool(_EXACT_VERSION.match(version))
        if cacheable and not hard:
            hit = self._lookup_cached(key, source)
            if hit is not None:
                self._count("cache_hits")
                return self._result(hit, None, cache_hit=True)
        client = self._client(SourceType.HELM, source)
        info = client.capabilities()
        self._count("renders")
        self._count(f"type:{SourceType.HELM.value}")
        if source.HasField("helm") and any(
            urlish(vf) and not any(vf.lower().startswith(s + ":") for s in self.limits.value_file_url_schemes)
            for vf in source.helm.value_files
        ):
            raise UnsafePathError(
                "value files given as URLs are not allowed (sources.limits.value_file_url_schemes)"
            )
        request = build_render_request(
            source_type=SourceType.HELM.value,
            source=source,
            chart=chart_reference(source, version, creds),
            app_name=app_name,
            namespace=namespace,
            kube_version=kube_version,
            api_versions=api_versions,
            revision=version,
            limits=self.limits,
        )
        manifests, warnings, resolved = client.render(request, timeout=self.limits.render_timeout)
        entry = _Entry(
            self._checked_json(manifests, client.name),
            SourceType.HELM,
            info.ident,
            resolved or version,
            tuple(warnings),
            None,
        )
        if cacheable:
            self._store(key, None, entry)
        return self._result(entry, None, cache_hit=False)

    # ------------------------------------------------------------------ local files

    def _render_local(
        self,
        app_name: str,
        source: application_pb2.ApplicationSource,
        namespace: str,
        local_files: Mapping[str, bytes] | Sequence[Any],
        local_path: str,
        kube_version: str,
        api_versions: Sequence[str],
    ) -> RenderResult:
        items = (
            local_files.items()
            if isinstance(local_files, Mapping)
            else [(f.path, f.content) for f in local_files]
        )
        local_source = application_pb2.ApplicationSource()
        local_source.CopyFrom(source)
        local_source.ClearField("chart")
        with tempfile.TemporaryDirectory(prefix="gitopsd-local-") as tmp:
            root = Path(tmp)
            total = 0
            for path, content in items:
                rel = clean_relative(str(path), what="uploaded file")
                if not rel:
                    raise UnsafePathError("uploaded file with an empty path")
                total += len(content)
                if total > self.limits.max_repo_bytes:
                    raise LimitExceededError(
                        f"uploaded files exceed the size limit of {human_size(self.limits.max_repo_bytes)}"
                    )
                target = root / rel
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(bytes(content))
                except (OSError, TypeError) as exc:
                    # e.g. both "a" and "a/b" uploaded: a file where a directory must be.
                    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not bytes"
                    raise SourceSpecError(f"uploaded file {rel!r} cannot be used: {why}") from None
            app_rel = clean_relative(local_path or ".", what="local path")
            entry = self._render_tree(
                root, app_rel, local_source, app_name, namespace, "local", kube_version, api_versions, {}
            )
        return self._result(entry, None, cache_hit=False, revision="local")

    # ------------------------------------------------------------------ helpers

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

    def _store(self, key: tuple[str, ...], app_key: tuple[str, ...] | None, entry: _Entry) -> None:
        with self._lock:
            self._cache[key] = entry
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
            if app_key is not None:
                self._latest[app_key] = entry
                while len(self._latest) > self.cache_size:
                    self._latest.pop(next(iter(self._latest)))

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    @staticmethod
    def _result(
        entry: _Entry, commit: CommitInfo | None, *, cache_hit: bool, revision: str | None = None
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


def normalize_repo_url_lenient(url: str) -> str:
    """Chart repository URLs (https://, oci://, host/path) as cache keys."""
    try:
        return normalize_repo_url(url)
    except ValueError:
        return url.strip().rstrip("/").lower()


def _embeds_password(url: str) -> bool:
    try:
        return bool(split_credentials(url.strip())[2])
    except ValueError:
        return False


def urlish(value: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", value))


def _params_hash(
    source: application_pb2.ApplicationSource,
    app_name: str,
    namespace: str,
    kube_version: str,
    api_versions: Sequence[str],
    annotations: Mapping[str, str],
) -> str:
    h = hashlib.sha256()
    for name in ("helm", "kustomize", "directory", "plugin"):
        h.update(name.encode() + b"\0")
        if source.HasField(name):
            h.update(getattr(source, name).SerializeToString(deterministic=True))
        h.update(b"\1")
    for part in (source.chart, app_name, namespace, kube_version, *api_versions):
        h.update(part.encode() + b"\0")
    for key in MANIFEST_GENERATE_PATHS:
        h.update(annotations.get(key, "").encode() + b"\0")
    return h.hexdigest()[:32]


def _declared_paths(annotations: Mapping[str, str], app_rel: str) -> set[str] | None:
    """manifest-generate-paths: ";"-separated, relative to the app path or absolute from the root."""
    raw = next((annotations[k] for k in MANIFEST_GENERATE_PATHS if annotations.get(k)), "")
    if not raw.strip():
        return None
    out: set[str] = set()
    for item in raw.split(";"):
        item = item.strip()
        if not item:
            continue
        joined = item.lstrip("/") if item.startswith("/") else posixpath.join(app_rel, item)
        norm = posixpath.normpath(joined or ".")
        if norm == ".." or norm.startswith("../"):
            continue  # outside the repository: nothing there can change
        out.add("" if norm == "." else norm)
    return out


def _relevant(computed: set[str] | None, declared: set[str] | None) -> tuple[str, ...] | None:
    if computed is None and declared is None:
        return None
    return tuple(sorted((computed or set()) | (declared or set())))


def _is_under(path: str, prefix: str) -> bool:
    return prefix == "" or path == prefix or path.startswith(prefix + "/")


def _inside_rel(base: str, ref: str) -> str | None:
    norm = posixpath.normpath(posixpath.join(base, ref))
    if norm == ".." or norm.startswith("../") or ref.startswith("/"):
        return None
    return "" if norm == "." else norm


# Distinct strings of an app's kustomizations looked at as possible paths; more are not what a person
# writes (the render is then redone on any change rather than analysed).
_MAX_KUSTOMIZATION_STRINGS = 10_000


def _strings(doc: Any) -> set[str] | None:
    """The distinct strings of a parsed document; None past _MAX_KUSTOMIZATION_STRINGS.

    Each dict or list is visited once (by identity): YAML aliases make the loader share one object
    at every use, so an alias bomb costs as many steps as its text has nodes, not its expansion.
    """
    out: set[str] = set()
    visited: set[int] = set()
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.add(item)
            if len(out) > _MAX_KUSTOMIZATION_STRINGS:
                return None
        elif isinstance(item, dict | list) and id(item) not in visited:
            visited.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)
    return out


def _is_remote(ref: str) -> bool:
    return "://" in ref or "?ref=" in ref or ref.startswith(("github.com/", "gitlab.com/", "git@", "ssh:"))


def _kustomize_inputs(root: Path, app_rel: str) -> set[str] | None:
    """What a kustomization reads: its dir plus every local path it names, recursively.

    None (re-render on any change) when it refers to something remote or cannot be read.
    """
    out: set[str] = set()
    stack = [app_rel]
    seen: set[str] = set()
    examined = 0  # strings looked up on disk, over all kustomizations: each costs a stat
    while stack:
        d = stack.pop()
        if d in seen:
            continue
        seen.add(d)
        out.add(d)
        kfile = next((root / d / n for n in KUSTOMIZATION_FILES if (root / d / n).is_file()), None)
        if kfile is None:
            continue
        try:
            doc = yaml.safe_load(kfile.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        if doc.get("helmCharts") or doc.get("helmChartInflationGenerator"):
            return None
        for field_name in ("resources", "bases", "components"):
            refs = doc.get(field_name) or []
            if isinstance(refs, list) and any(isinstance(r, str) and _is_remote(r) for r in refs):
                return None
        strings = _strings(doc)
        examined += len(strings) if strings is not None else 0
        if strings is None or examined > _MAX_KUSTOMIZATION_STRINGS:
            return None
        for s in sorted(strings):
            if not s or "\n" in s or len(s) > 1024:
                continue
            rel = _inside_rel(d, s)
            if rel is None or rel in out:
                continue
            p = root / rel
            if p.is_dir() and not os.path.islink(p):
                stack.append(rel)
            elif p.exists():
                out.add(rel)
    return out


def _helm_inputs(root: Path, app_rel: str, sent: application_pb2.ApplicationSource) -> set[str] | None:
    out = {app_rel}
    for vf in sent.helm.value_files:
        if urlish(vf):
            return None
        rel = _inside_rel(app_rel, vf)
        if rel is not None:
            out.add(rel)
    for fp in sent.helm.file_parameters:
        rel = _inside_rel(app_rel, fp.path)
        if rel is not None:
            out.add(rel)
    with contextlib.suppress(OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        chart = yaml.safe_load((root / app_rel / "Chart.yaml").read_text("utf-8"))
        deps = chart.get("dependencies") if isinstance(chart, dict) else None
        for dep in deps or []:
            repo = dep.get("repository", "") if isinstance(dep, dict) else ""
            if isinstance(repo, str) and repo.startswith("file://"):
                rel = _inside_rel(app_rel, repo.removeprefix("file://"))
                if rel is not None:
                    out.add(rel)
    return out
