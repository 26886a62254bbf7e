"""What a client command imports: building the parser and running a client command load nothing of the
daemon (server, sources, app, sandbox, store), while `serve` and `sandbox` still get every flag of theirs,
in their --help, their parsing, the completion scripts and the man page."""

from __future__ import annotations

import os
import subprocess
import sys

from fixtures.daemon import gitopsd_bin

DAEMON_PACKAGES = ("gitopsd.server", "gitopsd.sources", "gitopsd.app", "gitopsd.sandbox", "gitopsd.store")
_LOADED = f"print(sorted(m for m in sys.modules if m.startswith({DAEMON_PACKAGES!r})))"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
        env={**os.environ, "GITOPSD_CONFIG_DIR": os.devnull + "-none"},
    )  # fmt: skip


def _gitopsd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [gitopsd_bin(), *args], capture_output=True, text=True, timeout=60,
        env={**os.environ, "GITOPSD_CONFIG_DIR": os.devnull + "-none"},
    )  # fmt: skip


def test_building_the_parser_imports_nothing_of_the_daemon() -> None:
    result = _python(f"import sys; from gitopsd.cli.main import build_parser; build_parser(); {_LOADED}")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_a_client_command_imports_nothing_of_the_daemon() -> None:
    # `version --client` parses and runs a client command to its end (no daemon needed for it).
    code = f"import sys; from gitopsd.cli.main import main; main(['version', '--client']); {_LOADED}"
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]", result.stdout


def test_the_full_parser_for_completion_has_the_daemon_flags() -> None:
    # The control for the two tests above: the check does see the daemon's modules once they are loaded.
    code = f"import sys; from gitopsd.cli.main import build_parser; build_parser(full=True); {_LOADED}"
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert "gitopsd.server.cli" in result.stdout and "gitopsd.sandbox.cli" in result.stdout


def test_serve_and_sandbox_have_their_flags_when_used() -> None:
    serve = _gitopsd("serve", "--help")
    assert serve.returncode == 0, serve.stderr
    for flag in ("--config", "--data-dir", "--listen", "--http-listen", "--log-level", "--log-format", "--plaintext"):
        assert flag in serve.stdout, flag
    sandbox = _gitopsd("sandbox", "--help")
    assert sandbox.returncode == 0, sandbox.stderr
    for flag in ("--listen HOST:PORT", "--kubeconfig-out FILE", "--ready-delay", "--watch-cache-size N"):
        assert flag in sandbox.stdout, flag
    # The flags' own checks run at parse time: the sandbox's address type, the daemon's choices.
    bad_listen = _gitopsd("sandbox", "--listen", "nowhere")
    assert bad_listen.returncode == 2 and "expected HOST:PORT, got 'nowhere'" in bad_listen.stderr
    bad_level = _gitopsd("serve", "--log-level", "loud")
    assert bad_level.returncode == 2 and "argument --log-level: invalid choice: 'loud'" in bad_level.stderr
    mistyped = _gitopsd("serv")
    assert mistyped.returncode == 2 and "did you mean: serve?" in mistyped.stderr


def test_completion_scripts_and_man_page_list_the_daemon_flags() -> None:
    for shell in ("bash", "zsh", "fish"):
        script = _gitopsd("completion", shell)
        assert script.returncode == 0, script.stderr
        assert "data-dir" in script.stdout and "kubeconfig-out" in script.stdout, shell
    page = _gitopsd("manpage")
    assert page.returncode == 0, page.stderr
    assert "data\\-dir" in page.stdout and "kubeconfig\\-out" in page.stdout
