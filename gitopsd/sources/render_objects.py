"""Rendering a plain Directory source from the commit's git objects instead of a checkout.

A checkout of a commit costs what the whole repository holds (the work tree written or compared
file by file, cleaned directory by directory): in a repository of 10,000 applications, a push to one
of them made its first render cost hundreds of milliseconds. Here the render costs what the
application holds: its directory's listing and blobs (gitopsd.sources.gitcache_objects), read and
parsed by gitopsd.sources.directory_objects like a checkout's files.

The checkout's checks of the whole commit still hold, from its tree summary: a commit over
render.max_fetch_bytes, one holding any symlink (the checkout path refuses the repository when one
points outside it, and resolves those inside), one git would refuse to check out, and an application
a .gitattributes file may apply to (a checkout converts what it says) all go to the checkout, as do Kustomize, Helm and plugin sources, Jsonnet files and missing paths: every case
declined here renders, or fails, exactly as before.

SourceRenderer (gitopsd.sources.render) tries this before its checkout; built on TreeRenderer.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import SourceType, detect_from_files, explicit_type
from gitopsd.sources.directory_objects import render_directory_objects
from gitopsd.sources.errors import SourceError
from gitopsd.sources.gitcache_objects import is_unusual
from gitopsd.sources.render_cache import DIRECTORY_RENDERER, CacheEntry
from gitopsd.sources.render_inputs import declared_paths, is_under, relevant_paths
from gitopsd.sources.render_tree import TreeRenderer
from gitopsd.sources.repoaccess import RepoAccess


class ObjectsRenderer(TreeRenderer):
    """TreeRenderer plus the render of a Directory source from git objects."""

    # False: always check out (bench/push_render.py measures both ways in one run).
    read_objects = True

    def _render_objects(
        self,
        url: RepoAccess,
        sha: str,
        app_rel: str,
        source: application_pb2.ApplicationSource,
        annotations: Mapping[str, str],
    ) -> CacheEntry | None:
        """The render of the source at `sha` from git objects; None when the checkout must do it."""
        cache = self.repo_cache
        if cache is None or not self.read_objects or (app_rel and is_unusual(app_rel)):
            return None
        try:
            if explicit_type(source) not in (None, SourceType.DIRECTORY):
                return None
        except SourceError:
            return None  # e.g. two source blocks: the checkout path says so
        summary = cache.tree_summary(url, sha)
        if summary.symlinks or summary.unusual:
            return None
        if cache.max_fetch_bytes > 0 and summary.total_bytes > cache.max_fetch_bytes:
            return None  # the checkout refuses it, with its message
        if any(_may_apply(posixpath.dirname(a), app_rel) for a in summary.attributes):
            return None  # a checkout would apply them to the files (eol, ident, encodings)
        directory = source.directory if source.HasField("directory") else None
        entries = cache.list_tree(url, sha, app_rel, recursive=bool(directory and directory.recurse))
        if not entries:
            return None  # not a directory of the commit: the checkout path's error
        start = len(app_rel) + 1 if app_rel else 0
        top_files = {e.path[start:] for e in entries if e.kind == "blob" and "/" not in e.path[start:]}
        if detect_from_files(source, top_files) != SourceType.DIRECTORY:
            return None  # a kustomization or a chart: rendered from a checkout
        rendered = render_directory_objects(
            app_rel, entries, directory, lambda shas: cache.read_blobs(url, shas, max_bytes=self.limits.max_repo_bytes), self.limits
        )
        if rendered is None:
            return None
        self._count("renders")
        self._count(f"type:{SourceType.DIRECTORY.value}")
        return CacheEntry(
            json.dumps(rendered.manifests, separators=(",", ":")),
            SourceType.DIRECTORY,
            DIRECTORY_RENDERER,
            sha,
            (),
            relevant_paths({app_rel, *rendered.inputs}, declared_paths(annotations, app_rel)),
        )


def _may_apply(attributes_dir: str, app_rel: str) -> bool:
    """Whether a .gitattributes file in `attributes_dir` can apply to files of the app directory: it is
    in the directory, above it, or below it ("" is the root)."""
    return is_under(app_rel, attributes_dir) or is_under(attributes_dir, app_rel)
