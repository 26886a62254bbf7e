"""Multi-source applications (Argo CD's ``spec.sources``): every source rendered with SourceRenderer and
the results merged into one desired set.

A source with ``ref`` and neither ``path`` nor ``chart`` is not rendered: it only serves its files to
the Helm sources' ``valueFiles: [$ref/path]`` (Argo CD's value files from another repository). Those
files are read here, from the ref source's checkout at its resolved commit, with the safety rules of
every other repository file (no ``..``, no absolute path, no symlink out of that checkout, the
repository size limit), and sent to the Helm renderer beside the chart (RenderRequest.ref_files).

Two sources that render the same object (group, kind, namespace, name) are an error naming both.
The merged RenderResult carries each source's resolved revision (``revisions``, in spec order; a
ref-only source's too, so a push to a values repository is a new target); its ``revision`` is the
first one.

Below gitopsd.app.controller_core, which calls ``render_sources`` for applications with spec.sources.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import is_chart_source
from gitopsd.sources.errors import LimitExceededError, SourceError, SourceSpecError, UnsafePathError
from gitopsd.sources.giturl import redact_url
from gitopsd.sources.render import RenderResult, SourceRenderer
from gitopsd.sources.safety import RepoFile, check_inside, clean_relative, human_size

# Argo CD's `$ref/path` form: the ref name, then a path inside that source's repository.
REF_VALUE_FILE = re.compile(r"^\$([A-Za-z0-9_-]+)/(.+)$")


def is_ref_only(source: application_pb2.ApplicationSource) -> bool:
    """A source that only lends its files to other sources' value files (not rendered itself)."""
    return bool(source.ref) and not source.path and not source.chart


def describe(index: int, source: application_pb2.ApplicationSource) -> str:
    where = f"chart {source.chart}" if source.chart else f"path {source.path or '.'}"
    return f"spec.sources[{index}] ({redact_url(source.repo_url)} {where})"


@dataclass(frozen=True)
class _Ref:
    index: int
    source: application_pb2.ApplicationSource
    sha: str


def render_sources(
    renderer: SourceRenderer,
    app_name: str,
    sources: Sequence[application_pb2.ApplicationSource],
    namespace: str,
    *,
    revisions: Sequence[str] = (),
    hard: bool = False,
    annotations: dict[str, str] | None = None,
    project: str = "",
    kube_version: str = "",
    api_versions: Sequence[str] = (),
) -> RenderResult:
    """Renders every source and merges them. revisions: one per source (a rollback's, an automated
    sync's), or empty for each source's targetRevision; kube_version / api_versions: the destination
    cluster's, for every source. Raises SourceError naming the source."""
    if revisions and len(revisions) != len(sources):
        raise SourceSpecError(f"{len(revisions)} revisions given for {len(sources)} sources")
    pinned = list(revisions) or [""] * len(sources)
    resolved = [""] * len(sources)
    refs: dict[str, _Ref] = {}
    for i, src in enumerate(sources):
        if not src.ref:
            continue
        if is_chart_source(src):
            raise SourceSpecError(f"{describe(i, src)}: ref: a chart repository cannot serve files to others")
        if renderer.repo_cache is None:
            raise SourceSpecError("no repository cache configured")
        try:
            url = renderer.repo_cache.access(src.repo_url, project)
            commit = renderer.repo_cache.resolve(url, pinned[i] or src.target_revision or "HEAD", force=hard)
        except SourceError as exc:
            raise SourceError(f"{describe(i, src)}: {exc}") from None
        refs[src.ref] = _Ref(i, src, commit.sha)
        resolved[i] = commit.sha
    merged: list[dict[str, Any]] = []
    owners: dict[tuple[str, str, str, str], int] = {}
    first: RenderResult | None = None
    warnings: list[str] = []
    types: list[str] = []
    all_hits = True
    for i, src in enumerate(sources):
        if is_ref_only(src):
            continue
        try:
            ref_files, to_render = _ref_files(renderer, i, src, refs, project)
            result = renderer.render(
                app_name,
                to_render,
                namespace,
                revision_override=pinned[i] or None,
                hard=hard,
                annotations=annotations or {},
                project=project,
                ref_files=ref_files,
                kube_version=kube_version,
                api_versions=api_versions,
            )
        except SourceError as exc:
            message = str(exc)
            raise SourceError(message if message.startswith("spec.sources[") else f"{describe(i, src)}: {exc}") from None
        resolved[i] = result.revision
        first = first or result
        all_hits = all_hits and result.cache_hit
        if result.source_type not in types:
            types.append(result.source_type)
        warnings += [f"{describe(i, src)}: {w}" for w in result.warnings]
        for obj in result.manifests:
            key = _key(obj, namespace)
            if key is not None:
                if key in owners:
                    other = owners[key]
                    raise SourceSpecError(
                        f"{_show(key)} is rendered by two sources: {describe(other, sources[other])} "
                        f"and {describe(i, src)}; each object must come from one source"
                    )
                owners[key] = i
            merged.append(obj)
    if first is None:
        raise SourceSpecError(
            "spec.sources: every source is a ref-only source (ref without path or chart): nothing to render"
        )
    return replace(
        first,
        manifests=merged,
        source_type=",".join(types),
        warnings=warnings,
        cache_hit=all_hits,
        revisions=tuple(resolved),
    )


def _ref_files(
    renderer: SourceRenderer,
    index: int,
    source: application_pb2.ApplicationSource,
    refs: dict[str, _Ref],
    project: str,
) -> tuple[list[RepoFile], application_pb2.ApplicationSource]:
    """The "$ref/path" value files of one Helm source, read from their ref sources' checkouts, and the
    source to render (without the missing ones that ignoreMissingValueFiles drops)."""
    if not any(vf.startswith("$") for vf in source.helm.value_files):
        return [], source
    out: list[RepoFile] = []
    kept: list[str] = []
    total = 0
    for j, value_file in enumerate(source.helm.value_files):
        if not value_file.startswith("$"):
            kept.append(value_file)
            continue
        where = f"{describe(index, source)}: helm.valueFiles[{j}] {value_file!r}"
        match = REF_VALUE_FILE.match(value_file)
        if match is None:
            raise SourceSpecError(f"{where}: must look like $ref/path/in/that/repository")
        ref = refs.get(match.group(1))
        if ref is None:
            raise SourceSpecError(f"{where}: no source has ref: {match.group(1)}")
        rel = clean_relative(match.group(2), what=f"{where}:")
        if not rel or ".git" in rel.split("/"):
            raise UnsafePathError(f"{where}: must name a file of the repository (not its root or .git)")
        assert renderer.repo_cache is not None  # resolved above
        with renderer.repo_cache.checkout(ref.source.repo_url, ref.sha, project=project) as root:
            target = root / rel
            if not os.path.lexists(target):
                if source.helm.ignore_missing_value_files:
                    continue  # the renderer's own missing-file rule would refuse it: drop it here
                raise SourceSpecError(f"{where}: not found in {describe(ref.index, ref.source)}")
            check_inside(root, target, shown_as=where)
            if not target.is_file():
                raise SourceSpecError(f"{where}: not a file in {describe(ref.index, ref.source)}")
            content = target.read_bytes()
        total += len(content)
        if total > renderer.limits.max_repo_bytes:
            raise LimitExceededError(
                f"{where}: value files of ref sources exceed {human_size(renderer.limits.max_repo_bytes)}"
            )
        out.append(RepoFile(value_file, content, False))
        kept.append(value_file)
    to_render = application_pb2.ApplicationSource()
    to_render.CopyFrom(source)
    del to_render.helm.value_files[:]
    to_render.helm.value_files.extend(kept)
    return out, to_render


def _key(obj: dict[str, Any], namespace: str) -> tuple[str, str, str, str] | None:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if not isinstance(meta, dict) or not meta.get("name"):
        return None  # generateName hooks are distinct objects
    api = str(obj.get("apiVersion") or "")
    group = api.split("/", 1)[0] if "/" in api else ""
    return group, str(obj.get("kind") or ""), str(meta.get("namespace") or namespace), str(meta["name"])


def _show(key: tuple[str, str, str, str]) -> str:
    group, kind, namespace, name = key
    return f"{kind}{'.' + group if group else ''} {namespace + '/' if namespace else ''}{name}"
