"""Shell completion and the man page, as a user installs and uses them: `gitopsd completion bash`
loaded into a real bash and asked as bash asks at a Tab (COMP_WORDS/COMP_CWORD), names that come
from a running daemon, zsh and fish scripts checked by their shells, the man page rendered by man."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fixtures.daemon import CLI, GitOpsEnv, gitopsd_bin

BIN_DIR = str(Path(gitopsd_bin()).parent)

# Calls the function the script registered for gitopsd the way bash does, and prints what it offers.
BASH_DRIVER = r"""
source "$1"
ask() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
  fn=$(complete -p gitopsd | sed -E 's/.*-F ([^ ]+).*/\1/')
  "$fn" gitopsd "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}" | sort -u | paste -sd' '
}
ask gitopsd ''
ask gitopsd app s
ask gitopsd app get ''
ask gitopsd app sync --prune gu
ask gitopsd app create x --project ''
ask gitopsd cluster get ''
ask gitopsd serve --log-format ''
"""


def _env(extra: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN_DIR}:{os.environ.get('PATH', '')}", **extra}


def _script(shell: str, tmp_path: Path) -> Path:
    result = subprocess.run([gitopsd_bin(), "completion", shell], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    path = tmp_path / f"gitopsd.{shell}"
    path.write_text(result.stdout)
    return path


def _bash_offers(script: Path, env: dict[str, str]) -> list[set[str]]:
    run = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "bash", str(script)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""  # nothing may land in the user's prompt
    return [set(line.split()) for line in run.stdout.splitlines()]


def _create_apps(cli: CLI, *names: str) -> None:
    for name in names:
        created = cli(
            "app", "create", name, "--repo", f"file://{cli.cwd}/no-such-repo.git", "--path", "app",
            "--dest-server", "https://kubernetes.default.svc", "--dest-namespace", "default",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr


def test_bash_completes_commands_flags_and_names_from_the_daemon(gitops_env: GitOpsEnv, tmp_path: Path) -> None:
    cli = gitops_env.cli  # a daemon whose in-cluster cluster is the sandbox
    _create_apps(cli, "guestbook", "guest-two", "web")
    script = _script("bash", tmp_path)
    assert subprocess.run(["bash", "-n", str(script)], timeout=30).returncode == 0
    env = _env({**cli.auth_env(), "GITOPSD_SERVER": cli.address})
    top, app_s, app_get, app_sync, project, cluster, log_format = _bash_offers(script, env)
    assert {"app", "cluster", "proj", "repo", "login", "serve", "version", "completion", "manpage"} <= top
    assert not [w for w in top if w.startswith("_")]  # the hidden helper stays hidden
    assert app_s == {"set", "sync"}
    assert app_get == {"guestbook", "guest-two", "web"}
    assert app_sync == {"guestbook", "guest-two"}
    assert project == {"default"}
    assert cluster == {"in-cluster"}
    assert log_format == {"logfmt", "json"}


def test_names_are_quietly_absent_when_the_daemon_is_unreachable(tmp_path: Path) -> None:
    script = _script("bash", tmp_path)
    env = _env({"GITOPSD_SERVER": "127.0.0.1:1", "GITOPSD_CONFIG_DIR": str(tmp_path / "cfg")})
    env.pop("GITOPSD_AUTH_TOKEN", None)
    top, app_s, app_get, *_ = _bash_offers(script, env)
    assert "app" in top and app_s == {"set", "sync"}
    assert app_get == set()
    direct = subprocess.run(
        [gitopsd_bin(), "__complete", "apps"], capture_output=True, text=True, timeout=60, env=env
    )
    assert (direct.returncode, direct.stdout, direct.stderr) == (0, "", "")


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed (scripts/setup.sh installs it)")
def test_fish_completes_commands_and_names_from_the_daemon(cli: CLI, tmp_path: Path) -> None:
    _create_apps(cli, "guestbook", "web")
    script = _script("fish", tmp_path)
    assert subprocess.run(["fish", "--no-execute", str(script)], timeout=30).returncode == 0
    env = _env({**cli.auth_env(), "GITOPSD_SERVER": cli.address, "HOME": str(tmp_path)})

    def offers(line: str) -> set[str]:
        run = subprocess.run(
            ["fish", "--no-config", "-c", f"source {script}; complete -C '{line}'"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
        assert run.returncode == 0 and run.stderr == "", run.stderr
        return {row.split("\t")[0] for row in run.stdout.splitlines()}

    assert {"app", "cluster", "completion"} <= offers("gitopsd ")
    assert offers("gitopsd app get ") == {"guestbook", "web"}


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (scripts/setup.sh installs it)")
def test_zsh_script_loads_into_the_completion_system(tmp_path: Path) -> None:
    script = _script("zsh", tmp_path)
    assert subprocess.run(["zsh", "-n", str(script)], timeout=30).returncode == 0
    # Installed as `completion --help` says: a file named _gitopsd in a directory on $fpath.
    functions = tmp_path / "zfunc"
    functions.mkdir()
    shutil.copy(script, functions / "_gitopsd")
    load = subprocess.run(
        ["zsh", "-f", "-c", f"fpath=({functions} $fpath); autoload -U compinit && compinit -u -D && "
         "print -r -- $_comps[gitopsd] && autoload +X _gitopsd && whence -w _gitopsd"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert load.returncode == 0 and load.stderr == "", load.stderr
    assert load.stdout.split() == ["_gitopsd", "_gitopsd:", "function"]
    assert "gitopsd __complete apps" in script.read_text()


def test_every_command_is_in_the_completion_scripts() -> None:
    """shtab lists a subcommand only if it has help=: a command without it would be missing."""
    import argparse

    from gitopsd.cli.main import build_parser

    missing: list[str] = []

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {a.dest for a in action._choices_actions}
                for name, sub in action.choices.items():
                    if name not in helped:
                        missing.append(" ".join([*path, name]))
                    walk(sub, [*path, name])

    walk(build_parser(full=True), [])
    assert missing == []


def test_the_man_page_renders(tmp_path: Path) -> None:
    result = subprocess.run([gitopsd_bin(), "manpage"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    page = tmp_path / "gitopsd.1"
    page.write_text(result.stdout)
    if shutil.which("man"):
        render = ["man", "--warnings", "-l", str(page)]
    elif shutil.which("groff"):
        render = ["groff", "-man", "-Tutf8", "-ww", str(page)]
    else:
        pytest.skip("neither man nor groff is installed")
    shown = subprocess.run(
        render, capture_output=True, text=True, timeout=60,
        env={**os.environ, "MANWIDTH": "100", "MANPAGER": "cat", "PAGER": "cat"},
    )  # fmt: skip
    assert shown.returncode == 0 and shown.stderr == "", shown.stderr
    text = shown.stdout
    for heading in ("NAME", "SYNOPSIS", "COMMANDS", "ENVIRONMENT", "SHELL COMPLETION"):
        assert f"\n{heading}\n" in text, heading
    for command in ("gitopsd app sync", "gitopsd proj role create-token", "gitopsd completion", "gitopsd serve"):
        assert command in text
    assert "--log-format" in text and "GITOPSD_SERVER" in text
