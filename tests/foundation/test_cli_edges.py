"""Rough edges of the `gitopsd` command: --version, `version` with the daemon down, a reader that
goes away (`| head`), "did you mean", and a server-side UNAVAILABLE that is not "cannot reach"."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from fixtures.daemon import CLI, gitopsd_bin

from gitopsd import __version__


def _run(*args: str, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [gitopsd_bin(), *args],
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        env={**os.environ, "GITOPSD_CONFIG_DIR": os.devnull + "-none"},
    )


def test_version_flag() -> None:
    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"gitopsd v{__version__}"


def test_version_prints_the_client_when_the_daemon_is_down() -> None:
    result = _run("version", "--server", "127.0.0.1:1", "--grpc-timeout", "5")
    assert result.returncode == 2
    assert result.stdout == f"gitopsd: v{__version__}\n"
    assert "cannot reach the gitopsd daemon at 127.0.0.1:1" in result.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # as `| head` does once it has its lines
    try:
        result = _run("version", "--client", stdout=write_end)
    finally:
        os.close(write_end)
    assert result.stderr == ""  # no BrokenPipeError traceback
    assert result.returncode == 141


def test_mistyped_commands_get_a_suggestion() -> None:
    top = _run("apps", "list")
    assert top.returncode == 2
    assert "did you mean: app?" in top.stderr
    nested = _run("app", "lsit")
    assert nested.returncode == 2
    assert "did you mean: list?" in nested.stderr
    nothing_close = _run("app", "zzzz")
    assert nothing_close.returncode == 2 and "did you mean" not in nothing_close.stderr


def test_an_unavailable_renderer_is_not_an_unreachable_daemon(cli: CLI, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-repo.git"
    created = cli(
        "app", "create", "broken", "--repo", f"file://{missing}", "--path", "app",
        "--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "default",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    result = cli("app", "manifests", "broken")
    assert result.returncode == 2
    assert "UNAVAILABLE: rendering failed" in result.stderr, result.stderr
    assert "cannot reach the gitopsd daemon" not in result.stderr
