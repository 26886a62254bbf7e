"""Render orchestration: source -> manifests, with the render cache.

The app service calls `SourceRenderer.render()` for each refresh. It resolves the target
revision through the repo cache, answers from the render cache when (repository, credential
scope, SHA, path, source parameters, renderer and version) was rendered before (the scope: a
render made with one project's repository credentials is never served to another project), reuses the previous
render when a new commit changed nothing the app depends on (its path, what its
kustomization/chart refers to, manifest-generate-paths), and otherwise checks the commit
out, applies the path-safety checks and renders: Directory sources in-process (plain ones from
the commit's git objects, without a checkout: gitopsd.sources.render_objects), the rest through a
renderer sidecar or plugin.

The tree itself is rendered by gitopsd.sources.render_tree (per source type), the cache (and
RenderResult) is in gitopsd.sources.render_cache, what a render depends on in
gitopsd.sources.render_inputs.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import SourceType, is_chart_source
from gitopsd.sources.errors import LimitExceededError, SourceError, SourceSpecError, UnsafePathError
from gitopsd.sources.giturl import redact_url
from gitopsd.sources.helm_deps import render_pulled_chart
from gitopsd.sources.render_cache import CacheEntry, RenderCounters, RendererRegistry, RenderResult
from gitopsd.sources.render_inputs import (
    MANIFEST_GENERATE_PATHS,
    embeds_password,
    normalize_repo_url_lenient,
    params_hash,
    refs_hash,
    urlish,
)
from gitopsd.sources.render_objects import ObjectsRenderer
from gitopsd.sources.renderer_client import build_render_request, chart_reference
from gitopsd.sources.repoaccess import EMBEDDED_PASSWORD_HINT, scope_of
from gitopsd.sources.safety import RepoFile, clean_relative, human_size

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


class SourceRenderer(ObjectsRenderer):
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
        # A plain Directory source is read from the commit's objects (what the application holds);
        # everything else, and whatever that declines, from a checkout (what the repository holds).
        entry = self._render_objects(url, commit.sha, app_rel, source, annotations)
        if entry is not None:
            self._store(key, app_key, entry)
            return self._result(entry, commit, cache_hit=False)
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
