"""Fixtures for tests/sources: a renderer plugin of our own served in-process or as a process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import tiny_renderer  # noqa: E402

from gitopsd.sources.gitcache import RepoCache  # noqa: E402
from gitopsd.sources.render import SourceRenderer  # noqa: E402
from gitopsd.sources.safety import Limits  # noqa: E402
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor  # noqa: E402

TINY_SCRIPT = Path(tiny_renderer.__file__)


@pytest.fixture
def cache(tmp_path: Path) -> RepoCache:
    """A repo cache of its own under the test's directory."""
    return RepoCache(tmp_path / "cache")


@pytest.fixture
def short_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A short directory for unix sockets (their paths are limited to ~107 bytes)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gsrc-", dir="/tmp") as d:  # noqa: S108
        yield Path(d)


@pytest.fixture(scope="module")
def builtin_sidecars() -> Iterator[SidecarSupervisor]:
    """The builtin sidecars (helm, jsonnet, kustomize) started and supervised, for one test module."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="gsrc-sc-", dir="/tmp") as d:  # noqa: S108
        sup = SidecarSupervisor(SidecarConfig(socket_dir=Path(d), ready_timeout=60, render_timeout=60))
        sup.start()
        try:
            yield sup
        finally:
            sup.stop()


@pytest.fixture
def tiny_target(short_tmp: Path) -> Iterator[str]:
    """The tiny renderer plugin served in this process on a unix socket."""
    target = f"unix://{short_tmp}/tiny.sock"
    server = tiny_renderer.serve(target)
    try:
        yield target
    finally:
        server.stop(grace=None)


@pytest.fixture
def tiny_registry(tiny_target: str, short_tmp: Path) -> Iterator[SidecarSupervisor]:
    """A registry with the tiny renderer as plugin "tiny" and standing in for kustomize and helm."""
    sup = SidecarSupervisor(
        SidecarConfig(
            socket_dir=short_tmp / "sc",
            endpoints={"kustomize": tiny_target, "helm": tiny_target},
            plugins={"tiny": tiny_target},
            manage_builtins=False,
            health_interval=0.2,
        )
    )
    sup.start()
    try:
        yield sup
    finally:
        sup.stop()


@pytest.fixture
def make_renderer(tmp_path: Path, tiny_registry: SidecarSupervisor):
    def make(limits: Limits = Limits(), **kw) -> SourceRenderer:  # noqa: B008
        return SourceRenderer(RepoCache(tmp_path / "cache"), tiny_registry, limits, **kw)

    return make
