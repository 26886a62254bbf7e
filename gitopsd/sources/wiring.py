"""One-call setup of the sources layer for the daemon: repo cache, sidecars, renderer.

`gitopsd serve` builds a `SourcesSettings` from its config (render.*, sidecars.*,
plugins) and calls `open_sources()`; it owns the returned `Sources` and calls `start()`
and `stop()` with the daemon. Nothing here knows about the config file format.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.sources.gitauth import CredentialsLookup
from gitopsd.sources.gitcache import GitTimeouts, RepoCache
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.render_cache import DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_SIZE
from gitopsd.sources.safety import Limits
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor


@dataclass(frozen=True)
class SourcesSettings:
    data_dir: Path
    # render.*
    render_timeout: float = 90.0
    max_repo_bytes: int = 10 * 1024 * 1024
    max_output_bytes: int = 10 * 1024 * 1024
    max_chart_bytes: int = 50 * 1024 * 1024
    # Memory limit of each render child process of the builtin sidecars (--max-memory-bytes).
    max_memory_bytes: int = 1024 * 1024 * 1024
    allow_remote_value_files: bool = False
    cache_size: int = DEFAULT_CACHE_SIZE
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES
    # sidecars.helm / sidecars.kustomize: endpoints run by someone else; empty = start our own.
    helm_endpoint: str = ""
    kustomize_endpoint: str = ""
    # plugins: name -> endpoint.
    plugins: Mapping[str, str] = field(default_factory=dict)
    # Where managed sidecars' sockets go; default <data_dir>/sockets (a /tmp dir if that is too long).
    socket_dir: Path | None = None
    # Seconds an ls-remote answer is reused at most (the scheduler also starts intervals).
    ls_remote_ttl: float = 60.0
    git_timeouts: GitTimeouts = field(default_factory=GitTimeouts)


@dataclass
class Sources:
    repo_cache: RepoCache
    supervisor: SidecarSupervisor
    renderer: SourceRenderer

    def start(self, *, wait: bool = True) -> None:
        self.supervisor.start(wait=wait)

    def stop(self) -> None:
        self.supervisor.stop()
        self.repo_cache.release_idle()


def open_sources(settings: SourcesSettings, credentials_lookup: CredentialsLookup | None = None) -> Sources:
    limits = Limits(
        max_repo_bytes=settings.max_repo_bytes,
        max_output_bytes=settings.max_output_bytes,
        max_chart_bytes=settings.max_chart_bytes,
        render_timeout=settings.render_timeout,
        value_file_url_schemes=("http", "https") if settings.allow_remote_value_files else (),
    )
    repo_cache = RepoCache(
        Path(settings.data_dir) / "repos",
        credentials_lookup,
        timeouts=settings.git_timeouts,
        ls_remote_ttl=settings.ls_remote_ttl,
    )
    socket_dir = settings.socket_dir or Path(settings.data_dir) / "sockets"
    endpoints = {
        name: target
        for name, target in (("helm", settings.helm_endpoint), ("kustomize", settings.kustomize_endpoint))
        if target
    }
    supervisor = SidecarSupervisor(
        SidecarConfig(
            socket_dir=socket_dir,
            endpoints=endpoints,
            plugins=dict(settings.plugins),
            render_timeout=settings.render_timeout,
            max_message_bytes=settings.max_repo_bytes + 4 * 1024 * 1024,
            max_memory_bytes=settings.max_memory_bytes,
        )
    )
    renderer = SourceRenderer(
        repo_cache,
        supervisor,
        limits,
        settings.cache_size,
        credentials_lookup=credentials_lookup,
        cache_max_bytes=settings.cache_max_bytes,
    )
    os.makedirs(settings.data_dir, exist_ok=True)
    return Sources(repo_cache, supervisor, renderer)
