"""Rendering a tree on disk (a checkout, or uploaded files) by its source type: Directory sources
in-process (their Jsonnet files through the jsonnet sidecar), Kustomize, Helm and plugins through a
renderer sidecar, with Helm value files checked and rewritten relative to the chart first; and what
the render depends on, for reusing it on a later commit. A Kustomize or Helm sidecar is sent only the
files the render can read when that is known (gitopsd.sources.render_inputs, helm_deps); plugins,
and Jsonnet, get the whole repository.

Built on gitopsd.sources.render_cache (RenderCache: renderer clients, counters, checked output);
SourceRenderer (gitopsd.sources.render) resolves, caches and checks the tree out around it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import SourceType, detect_source_type
from gitopsd.sources.directory import render_directory
from gitopsd.sources.errors import SourceSpecError
from gitopsd.sources.helm_deps import dependency_credentials, helm_sent_paths
from gitopsd.sources.jsonnet_source import JSONNET_IDENT_PREFIX, render_jsonnet
from gitopsd.sources.render_cache import DIRECTORY_RENDERER, CacheEntry, RenderCache
from gitopsd.sources.render_inputs import (
    declared_paths,
    helm_inputs,
    kustomize_inputs,
    kustomize_sent_paths,
    relevant_paths,
)
from gitopsd.sources.renderer_client import build_render_request
from gitopsd.sources.safety import (
    Limits,
    RepoFile,
    check_symlinks,
    read_repo_files,
    resolve_app_path,
    resolve_value_file,
)


class TreeRenderer(RenderCache):
    """Renders a tree on disk; SourceRenderer decides which tree, and caches the result."""

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
        to_send, warnings = self._prepare_source(root, app_rel, source, source_type)
        # What the render reads (also what a later commit must change to need it again), and from
        # that what the sidecar is sent: in a monorepo, the app's few files instead of all of them.
        sent: set[str] | None = None  # None: the whole repository
        if source_type == SourceType.KUSTOMIZE:
            relevant = kustomize_inputs(root, app_rel)
            sent = kustomize_sent_paths(root, app_rel, relevant, source.kustomize.components)
        elif source_type == SourceType.HELM:
            relevant = helm_inputs(root, app_rel, to_send)
            sent = helm_sent_paths(root, app_rel, relevant)
        else:  # a plugin may read any file of the repository
            relevant = None if not declared else {app_rel}
        files = read_repo_files(root, self.limits, only=sent)
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
