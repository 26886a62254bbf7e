"""Render orchestration: source -> manifests, with the render cache.

The app service calls `SourceRenderer.render()` for each refresh. It resolves the target
revision through the repo cache, answers from the render cache when (repository, credential
scope, SHA, path, source parameters, renderer and version) was rendered before (the scope: a
render made with one project's repository credentials is never served to another project), reuses the previous
render when a new commit changed nothing the app depends on (its path, what its
kustomization/chart refers to, manifest-generate-paths), and otherwise checks the commit
out, applies the path-safety checks and renders: Directory sources in-process, the rest
through a renderer sidecar or plugin.

The cache itself (and RenderResult) is in gitopsd.sources.render_cache, what a render depends on
in gitopsd.sources.render_inputs.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import SourceType, detect_source_type, is_chart_source
from gitopsd.sources.directory import render_directory
from gitopsd.sources.errors import LimitExceededError, SourceError, SourceSpecError, UnsafePathError
from gitopsd.sources.giturl import redact_url
from gitopsd.sources.helm_deps import dependency_credentials, render_pulled_chart
from gitopsd.sources.jsonnet_source import JSONNET_IDENT_PREFIX, render_jsonnet
from gitopsd.sources.render_cache import (
    DIRECTORY_RENDERER,
    CacheEntry,
    RenderCache,
    RenderCounters,
    RendererRegistry,
    RenderResult,
)
from gitopsd.sources.render_inputs import (
    MANIFEST_GENERATE_PATHS,
    declared_paths,
    embeds_password,
    helm_inputs,
    kustomize_inputs,
    normalize_repo_url_lenient,
    params_hash,
    refs_hash,
    relevant_paths,
    urlish,
)
from gitopsd.sources.renderer_client import build_render_request, chart_reference
from gitopsd.sources.repoaccess import EMBEDDED_PASSWORD_HINT, scope_of
from gitopsd.sources.safety import (
    Limits,
    RepoFile,
    check_symlinks,
    clean_relative,
    human_size,
    read_repo_files,
    resolve_app_path,
    resolve_value_file,
)

log = logging.getLogger(__name__)

_EXACT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]*)?$")

# Names other modules import from here (they moved to render_cache and render_inputs).
__all__ = [
    "MANIFEST_GENERATE_PATHS",
    "RenderCounters",
    "RenderResult",
    "RendererRegistry",
    "SourceRenderer",
    "normalize_repo_url_lenient",
    "urlish",
]


class SourceRenderer(RenderCache):
    """Renders one application source (see the module docstring); the cache is RenderCache's."""

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
        ref_files: Sequence[RepoFile] = (),
    ) -> RenderResult:
        """Renders one source. Raises SourceError (with a message for the app's condition).

        hard: bypass the render cache (and ask the server for the revision again);
        refresh_revision: ask the server for the revision again (a user's "refresh"), the
        render cache still applies; otherwise this interval's ls-remote answer is used.
        annotations: the Application's, for manifest-generate-paths.
        local_files: uploaded files (path -> bytes, or objects with .path/.content) to render
        instead of the repository, with `local_path` the app path inside them.
        project: the application's project: which repository credentials it may use.
        ref_files: a multi-source application's "$ref/path" Helm value files (gitopsd.sources.multisource
        read them from the ref sources): sent to the renderer and part of the cache key.
        """
        try:
            if local_files is not None:
                return self._render_local(
                    app_name, source, namespace, local_files, local_path, kube_version, api_versions, project
                )
            if not source.repo_url:
                raise SourceSpecError("source has no repoURL")
            if is_chart_source(source):
                return self._render_chart(
                    app_name, source, namespace, revision_override, hard, kube_version, api_versions, project,
                    ref_files,
                )  # fmt: skip
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
                ref_files,
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
        ref_files: Sequence[RepoFile] = (),
    ) -> RenderResult:
        if self.repo_cache is None:
            raise SourceSpecError("no repository cache configured")
        # One lookup of the credentials for the whole render: clone, checkout and cache key agree.
        url = self.repo_cache.access(source.repo_url, project)
        app_rel = clean_relative(source.path, what="application path")
        commit = self.repo_cache.resolve(
            url, revision_override or source.target_revision or "HEAD", force=hard or refresh_revision
        )
        params = refs_hash(
            params_hash(source, app_name, namespace, kube_version, api_versions, annotations), ref_files
        )
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
                ref_files,
                project=project,
            )
        self._store(key, app_key, entry)
        return self._result(entry, commit, cache_hit=False)

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
        ref_files: Sequence[RepoFile] = (),
        project: str = "",
    ) -> CacheEntry:
        app_dir = resolve_app_path(root, app_rel)
        # Before anything looks into the tree (even detection's stat of a kustomization).
        if str(root) not in self._checked_roots:
            # A checkout's symlinks are known from its git tree: no walk of a 10,000-directory repository.
            check_symlinks(root, self.repo_cache.symlinks_in(root) if self.repo_cache is not None else None)
            with self._lock:
                if len(self._checked_roots) > 10000:
                    self._checked_roots.clear()
                self._checked_roots.add(str(root))
        source_type = detect_source_type(source, app_dir)
        self._count("renders")
        self._count(f"type:{source_type.value}")
        declared = declared_paths(annotations, app_rel)
        if source_type == SourceType.DIRECTORY:
            rendered = render_directory(
                root, app_dir, source.directory if source.HasField("directory") else None, self.limits
            )
            relevant: set[str] | None = {app_rel, *rendered.inputs}
            if rendered.jsonnet_files:
                # Jsonnet files: evaluated by the jsonnet sidecar (gitopsd.sources.jsonnet_source).
                evaluated = render_jsonnet(
                    self.renderers,
                    root,
                    app_rel,
                    source,
                    rendered.jsonnet_files,
                    app_name=app_name,
                    namespace=namespace,
                    kube_version=kube_version,
                    api_versions=api_versions,
                    revision=revision,
                    limits=self.limits,
                )
                return CacheEntry(
                    self._checked_json(rendered.manifests + evaluated.manifests, "jsonnet"),
                    source_type,
                    DIRECTORY_RENDERER + JSONNET_IDENT_PREFIX + evaluated.ident,
                    revision,
                    evaluated.warnings,
                    # Imports and libs may name any file of the repository.
                    relevant_paths(None, declared),
                )
            manifests_json = json.dumps(rendered.manifests, separators=(",", ":"))
            return CacheEntry(
                manifests_json,
                source_type,
                DIRECTORY_RENDERER,
                revision,
                (),
                relevant_paths(relevant, declared),
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
            ref_files=ref_files,
        )
        if source_type == SourceType.HELM:  # the sidecar builds chart dependencies with these
            request.dependency_credentials.extend(dependency_credentials(root, app_rel, self._lookup, project))
        manifests, more_warnings, _ = client.render(request, timeout=self.limits.render_timeout)
        manifests_json = self._checked_json(manifests, client.name)
        if source_type == SourceType.KUSTOMIZE:
            relevant = kustomize_inputs(root, app_rel)
        elif source_type == SourceType.HELM:
            relevant = helm_inputs(root, app_rel, to_send)
        else:
            relevant = None if not declared else {app_rel}
        return CacheEntry(
            manifests_json,
            source_type,
            info.ident,
            revision,
            tuple(warnings + more_warnings),
            relevant_paths(relevant, declared),
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
            if vf.startswith("$"):
                kept.append(vf)  # another source's file ("$ref/path"): sent in ref_files
                continue
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
        ref_files: Sequence[RepoFile] = (),
    ) -> RenderResult:
        if embeds_password(source.repo_url):
            # Stored by an older gitopsd: credentials belong in `repo add`, never in the spec.
            raise SourceSpecError(f"repoURL {redact_url(source.repo_url)}: {EMBEDDED_PASSWORD_HINT}")
        denial = self.repo_cache.protected.denial(source.repo_url) if self.repo_cache else None
        if denial:
            raise UnsafePathError(f"repoURL {redact_url(source.repo_url)}: {denial}")
        version = (revision_override or source.target_revision or "").strip()
        params = refs_hash(params_hash(source, app_name, namespace, kube_version, api_versions, {}), ref_files)
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
            ref_files=ref_files,
        )
        manifests, warnings, resolved = render_pulled_chart(
            client, request, self.limits.render_timeout, self._lookup, project
        )
        entry = CacheEntry(
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
        project: str = "",
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
                root,
                app_rel,
                local_source,
                app_name,
                namespace,
                "local",
                kube_version,
                api_versions,
                {},
                project=project,
            )
        return self._result(entry, None, cache_hit=False, revision="local")

    # ------------------------------------------------------------------ helpers
