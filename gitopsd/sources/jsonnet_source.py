"""Jsonnet files of Directory sources: sent to the gitopsd-jsonnet sidecar for evaluation.

gitopsd.sources.directory selects a Directory source's files as Argo CD does and reads the YAML and
JSON ones in the daemon; the `.jsonnet` ones are evaluated here, through the Renderer contract, by
the `jsonnet` sidecar (Jsonnet has no limits of its own: the sidecar evaluates in a child process
under the render memory limit and time-out). The whole checkout is sent, since imports and `libs`
may name any file of the repository; the sidecar refuses any import outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2
from gitopsd.sources.errors import SourceSpecError
from gitopsd.sources.renderer_client import build_render_request
from gitopsd.sources.safety import Limits, read_repo_files

# The registry name of the sidecar (gitopsd.sources.sidecar_config.BUILTIN_COMMANDS).
JSONNET_RENDERER = "Jsonnet"
# Marks a Directory render that used the sidecar; the rest of the cache key is its ident.
JSONNET_IDENT_PREFIX = "+jsonnet:"


@dataclass(frozen=True)
class JsonnetRender:
    manifests: list[dict[str, Any]]
    # The sidecar's ident (a new go-jsonnet or gitopsd version invalidates cached renders).
    ident: str
    warnings: tuple[str, ...]


def render_jsonnet(
    renderers: Any,
    root: Path,
    app_rel: str,
    source: application_pb2.ApplicationSource,
    jsonnet_files: Sequence[str],
    *,
    app_name: str,
    namespace: str,
    kube_version: str,
    api_versions: Sequence[str],
    revision: str,
    limits: Limits,
) -> JsonnetRender:
    """Evaluates `jsonnet_files` (repository paths) of a Directory source; raises SourceError."""
    if renderers is None:
        raise SourceSpecError("no renderer configured for Jsonnet files")
    client = renderers.client_for(JSONNET_RENDERER)
    info = client.capabilities()
    to_send = application_pb2.ApplicationSource()
    to_send.CopyFrom(source)
    to_send.path = app_rel or "."
    request = build_render_request(
        source_type="Directory",
        source=to_send,
        files=read_repo_files(root, limits),
        app_name=app_name,
        namespace=namespace,
        kube_version=kube_version,
        api_versions=api_versions,
        revision=revision,
        limits=limits,
    )
    request.entry_files.extend(jsonnet_files)
    manifests, warnings, _ = client.render(request, timeout=limits.render_timeout)
    return JsonnetRender(manifests, info.ident, tuple(warnings))


def is_jsonnet_ident(renderer: str) -> bool:
    return JSONNET_IDENT_PREFIX in renderer


def jsonnet_ident_of(renderer: str) -> str:
    return renderer.split(JSONNET_IDENT_PREFIX, 1)[1]
