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
    assert "did you mean: app," in top.stderr  # app first, then appset and apply
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


def test_every_flag_of_every_command_has_help() -> None:
    import argparse

    from gitopsd.cli.main import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
            elif action.option_strings and not action.help:
                missing.append(f"{' '.join(path)} {'/'.join(action.option_strings)}")

    walk(build_parser(full=True), [])
    assert missing == []


def test_server_may_be_given_as_an_https_url(cli: CLI) -> None:
    host, _, port = cli.address.rpartition(":")
    result = cli("version", "--server", f"https://{host}:{port}/")
    assert result.returncode == 0, result.stderr
    assert "gitopsd-server: v" in result.stdout
    plain_http = cli("version", "--server", f"http://{host}:{port}")
    assert plain_http.returncode == 2 and "not plain HTTP" in plain_http.stderr


def test_a_login_to_127_0_0_1_serves_localhost_too(daemon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Log in under one loopback name, trusting the certificate; then use the other name.
    port = daemon.address.rpartition(":")[2]
    env = {**os.environ, "GITOPSD_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("GITOPSD_AUTH_TOKEN", None)
    env.pop("GITOPSD_SERVER_CA", None)
    login = subprocess.run(
        [gitopsd_bin(), "login", f"127.0.0.1:{port}", "--username", "admin", "--password", daemon.initial_password(),
         "--server-ca", str(daemon.cert_path)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr
    other = subprocess.run(
        [gitopsd_bin(), "app", "list", "--server", f"localhost:{port}"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
