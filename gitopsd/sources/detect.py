"""Source type detection, as Argo CD does it.

An explicit helm/kustomize/directory/plugin block wins (two of them is an error); a chart
reference (source.chart) is Helm; otherwise the app directory decides: a kustomization
file means Kustomize, a Chart.yaml means Helm, anything else is a plain directory.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from pathlib import Path

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.errors import SourceSpecError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class SourceType(enum.StrEnum):
    HELM = "Helm"
    KUSTOMIZE = "Kustomize"
    DIRECTORY = "Directory"
    PLUGIN = "Plugin"


def explicit_type(source: application_pb2.ApplicationSource) -> SourceType | None:
    """The type named by the source's blocks, or None when it has none."""
    found = [
        kind
        for field, kind in (
            ("kustomize", SourceType.KUSTOMIZE),
            ("helm", SourceType.HELM),
            ("directory", SourceType.DIRECTORY),
            ("plugin", SourceType.PLUGIN),
        )
        if source.HasField(field)
    ]
    if len(found) > 1:
        raise SourceSpecError("multiple application sources defined: " + ", ".join(k.value for k in found))
    return found[0] if found else None


def is_chart_source(source: application_pb2.ApplicationSource) -> bool:
    """A chart from a Helm chart repository or an OCI registry (not from Git)."""
    return bool(source.chart)


def detect_source_type(source: application_pb2.ApplicationSource, app_dir: Path | None) -> SourceType:
    """The source type; `app_dir` is the checked-out app path (None for chart references)."""
    if is_chart_source(source):
        explicit = explicit_type(source)
        if explicit not in (None, SourceType.HELM):
            raise SourceSpecError(f"a chart source cannot use a {explicit.value} block")
        return SourceType.HELM
    explicit = explicit_type(source)
    if explicit is not None:
        return explicit
    if app_dir is None:
        return SourceType.DIRECTORY
    # lstat-free checks are fine: symlink safety was checked for the whole tree before.
    return _type_of_files(lambda name: (app_dir / name).is_file())


def detect_from_files(source: application_pb2.ApplicationSource, files: Collection[str]) -> SourceType:
    """detect_source_type for a git source whose app directory is known by the names of its files
    (regular files directly in it: a render from git objects, without a checkout)."""
    if is_chart_source(source):
        return detect_source_type(source, None)
    explicit = explicit_type(source)
    return explicit if explicit is not None else _type_of_files(files.__contains__)


def _type_of_files(is_file: Callable[[str], bool]) -> SourceType:
    if any(is_file(name) for name in KUSTOMIZATION_FILES):
        return SourceType.KUSTOMIZE
    if is_file("Chart.yaml"):
        return SourceType.HELM
    return SourceType.DIRECTORY
