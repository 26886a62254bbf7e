"""Sidecar supervision with a renderer process of our own: readiness, crash, hang, recovery."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
import tiny_renderer
from srchelpers import src

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.errors import RendererUnavailableError
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

TINY = [sys.executable, str(Path(tiny_renderer.__file__))]


def config(sock_dir: Path, **kw) -> SidecarConfig:
    base = dict(
        socket_dir=sock_dir,
        manage_builtins=False,
        commands={"tiny": TINY},
        ready_timeout=20,
        restart_backoff_initial=0.1,
        restart_backoff_max=0.5,
        health_interval=0.2,
        health_timeout=0.5,
        stop_grace=3,
    )
    base.update(kw)
    return SidecarConfig(**base)


def pid_of(sup: SidecarSupervisor, name: str) -> int:
    status = next(s for s in sup.status() if s.name == name)
    assert status.pid is not None
    return status.pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not alive for our purposes.
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(")")[-1].split()[0] != "Z"


def wait_for(cond, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def repo_and_renderer(git_repos, tmp_path: Path):
    repo = git_repos.create()
    repo.commit({"p/hello.txt": "hi"})

    def make(sup: SidecarSupervisor) -> SourceRenderer:
        return SourceRenderer(RepoCache(tmp_path / "cache"), sup)

    return repo, make


def test_restart_after_kill_9(short_tmp: Path, repo_and_renderer) -> None:
    repo, make = repo_and_renderer
    plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
    # A 1 s backoff leaves the sidecar visibly down for a moment after the kill.
    with SidecarSupervisor(config(short_tmp, restart_backoff_initial=1.0)) as sup:
        assert [s.state for s in sup.status()] == ["ready"]
        r = make(sup)
        assert r.render("a", plugin, "n", hard=True).manifests[0]["data"]["text"] == "hi"
        first = pid_of(sup, "tiny")
        os.kill(first, signal.SIGKILL)
        assert wait_for(lambda: not alive(first))
        with pytest.raises(RendererUnavailableError) as err:
            r.render("a", plugin, "n", hard=True)
        assert str(err.value).startswith("renderer tiny unavailable: ")
        assert sup.wait_ready("tiny", 20)
        assert r.render("a", plugin, "n", hard=True).manifests[0]["data"]["text"] == "hi"
        status = sup.status()[0]
        assert status.restarts == 1 and status.pid != first
    assert not alive(status.pid)  # stopped on shutdown
    assert not (short_tmp / "tiny.sock").exists()


def test_hung_sidecar_is_killed_and_restarted(short_tmp: Path, repo_and_renderer) -> None:
    repo, make = repo_and_renderer
    with SidecarSupervisor(config(short_tmp, hung_after_failures=2)) as sup:
        first = pid_of(sup, "tiny")
        os.kill(first, signal.SIGSTOP)  # alive, but answers nothing
        assert wait_for(lambda: not alive(first))
        assert sup.wait_ready("tiny", 20)
        assert pid_of(sup, "tiny") != first
        plugin = src(repo.url, "p", plugin=apb.ApplicationSourcePlugin(name="tiny"))
        assert make(sup).render("a", plugin, "n").manifests


def test_missing_sidecar_command_is_a_clear_error(short_tmp: Path) -> None:
    cfg = config(short_tmp, commands={"ghost": ["/nonexistent/gitopsd-ghost"]})
    with SidecarSupervisor(cfg) as sup:
        with pytest.raises(RendererUnavailableError) as err:
            sup.client("ghost")
        assert str(err.value) == (
            "renderer ghost unavailable: cannot start /nonexistent/gitopsd-ghost: No such file or directory"
        )
        assert sup.status()[0].state == "down"


def test_external_endpoint_down_then_back(short_tmp: Path, repo_and_renderer) -> None:
    repo, make = repo_and_renderer
    target = f"unix://{short_tmp}/ext.sock"
    sup = SidecarSupervisor(config(short_tmp, commands={}, endpoints={"kustomize": target}))
    sup.start()
    try:
        r = make(sup)
        app = src(repo.url, "p", kustomize=apb.ApplicationSourceKustomize())
        with pytest.raises(RendererUnavailableError) as err:
            r.render("a", app, "n")
        assert str(err.value).startswith(
            f"renderer kustomize unavailable: not running (socket {short_tmp}/ext.sock)"
        )
        server = tiny_renderer.serve(target)  # systemd brings it back
        try:
            assert wait_for(lambda: sup.wait_ready("kustomize", 1))
            assert r.render("a", app, "n").manifests[0]["metadata"]["name"] == "hello"
        finally:
            server.stop(grace=None)
    finally:
        sup.stop()


def test_builtin_commands_resolve_next_to_the_interpreter(short_tmp: Path) -> None:
    sup = SidecarSupervisor(SidecarConfig(socket_dir=short_tmp))
    assert sup.names() == ["helm", "jsonnet", "kustomize"]
    managed = {m.name: m.argv for m in sup._managed.values()}  # noqa: SLF001 - what would run
    assert managed["kustomize"][0] == str(Path(sys.executable).parent / "gitopsd-kustomize")
    assert managed["helm"][0] == str(Path(sys.executable).parent / "gitopsd-helm")
    assert managed["jsonnet"][0] == str(Path(sys.executable).parent / "gitopsd-jsonnet")
    external = SidecarSupervisor(SidecarConfig(socket_dir=short_tmp, endpoints={"helm": "127.0.0.1:1"}))
    assert [m.name for m in external._managed.values()] == ["kustomize", "jsonnet"]  # noqa: SLF001


def test_stop_kills_a_sidecar_that_ignores_sigterm(short_tmp: Path, caplog: pytest.LogCaptureFixture) -> None:
    import shlex

    # SIG_IGN survives exec: this sidecar shrugs off SIGTERM.
    stubborn = ["sh", "-c", "trap '' TERM; exec " + shlex.join(TINY) + ' "$@"', "sh"]
    sup = SidecarSupervisor(config(short_tmp, commands={"tiny": stubborn}, stop_grace=0.5))
    sup.start()
    pid = pid_of(sup, "tiny")
    assert sup.status()[0].state == "ready"
    with caplog.at_level("WARNING", logger="gitopsd.sources.sidecars"):
        sup.stop()
    assert not alive(pid)
    assert sup.status()[0].state == "stopped"
    assert "renderer tiny did not stop within 0.5s of SIGTERM; sending SIGKILL" in caplog.text
