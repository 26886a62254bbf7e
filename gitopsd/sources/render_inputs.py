"""What a render depends on: the hash of a source's parameters, and the repository paths whose change
invalidates a render for a later commit (the app path, what its kustomization or chart refers to,
manifest-generate-paths).

Pure functions used by gitopsd.sources.render and gitopsd.sources.render_cache; nothing here reads
Git or talks to a renderer.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.detect import KUSTOMIZATION_FILES
from gitopsd.sources.giturl import normalize_repo_url, split_credentials
from gitopsd.sources.safety import RepoFile

MANIFEST_GENERATE_PATHS = ("gitopsd.io/manifest-generate-paths", "argocd.argoproj.io/manifest-generate-paths")


def normalize_repo_url_lenient(url: str) -> str:
    """Chart repository URLs (https://, oci://, host/path) as cache keys."""
    try:
        return normalize_repo_url(url)
    except ValueError:
        return url.strip().rstrip("/").lower()


def embeds_password(url: str) -> bool:
    try:
        return bool(split_credentials(url.strip())[2])
    except ValueError:
        return False


def urlish(value: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", value))


def params_hash(
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


def refs_hash(params: str, ref_files: Sequence[RepoFile]) -> str:
    """params extended with a multi-source application's "$ref/path" value files (names and contents):
    a change to another source's value file is a new render."""
    if not ref_files:
        return params
    h = hashlib.sha256(params.encode())
    for f in sorted(ref_files, key=lambda f: f.path):
        h.update(f.path.encode() + b"\0" + hashlib.sha256(f.content).digest())
    return h.hexdigest()[:32]


def declared_paths(annotations: Mapping[str, str], app_rel: str) -> set[str] | None:
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


def relevant_paths(computed: set[str] | None, declared: set[str] | None) -> tuple[str, ...] | None:
    if computed is None and declared is None:
        return None
    return tuple(sorted((computed or set()) | (declared or set())))


def is_under(path: str, prefix: str) -> bool:
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


def kustomize_inputs(root: Path, app_rel: str) -> set[str] | None:
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


def helm_inputs(root: Path, app_rel: str, sent: application_pb2.ApplicationSource) -> set[str] | None:
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


def kustomize_sent_paths(
    root: Path, app_rel: str, inputs: set[str] | None, components: Sequence[str]
) -> set[str] | None:
    """The repository paths a Kustomize render needs sent: None for the whole repository.

    `inputs` is kustomize_inputs(root, app_rel). Enough because kustomize runs with its root-only
    load restrictor: a kustomization reads files under its own directory only (whole in `inputs`),
    and any other directory it loads (resources, components, generators) it names by a path, which
    kustomize_inputs follows. Not followed there, so the whole repository: a directory reached
    through a symlink (its kustomization's `../` paths are taken from the link's place, unread).
    `components` are source.kustomize.components, which the renderer adds to the kustomization.
    """
    if inputs is None:
        return None
    out = set(inputs)
    for component in components:
        rel = _inside_rel(app_rel, component)
        if _is_remote(component) or rel is None:
            return None  # the renderer refuses it; with what it always had
        more = kustomize_inputs(root, rel)
        if more is None:
            return None
        out |= more
    if any(os.path.islink(root / p) and (root / p).is_dir() for p in out if p):
        return None
    return out
