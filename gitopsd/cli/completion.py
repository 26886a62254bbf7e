"""`gitopsd completion bash|zsh|fish`, `gitopsd manpage` and the hidden `gitopsd __complete KIND`.

The scripts and the man page are generated from the command's own argparse parser, so they list
every command and flag there is: shell scripts by shtab (static: loading one costs the shell
milliseconds, not a Python start per Tab), the page by argparse-manpage. Names that only the
daemon knows (applications, projects, clusters) come from `gitopsd __complete KIND`, which the
scripts run when such a name is wanted: it asks the daemon the CLI would talk to (--server is not
read from the command line being completed; $GITOPSD_SERVER or the saved login is), prints one
name per line, and prints nothing, quickly and quietly, when the daemon cannot be asked.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

SHELLS = ("bash", "zsh", "fish")
KINDS = ("apps", "projects", "clusters")
# How long `__complete` waits for the daemon: a Tab press must not hang on a host that is down.
COMPLETE_TIMEOUT = 2.0

INSTALL = """\
install (the system-wide paths need root; restart the shell afterwards):
  bash   gitopsd completion bash > /usr/local/share/bash-completion/completions/gitopsd
         (read by the bash-completion package; yourself:
          ~/.local/share/bash-completion/completions/gitopsd, or
          `source <(gitopsd completion bash)` in ~/.bashrc)
  zsh    gitopsd completion zsh > /usr/local/share/zsh/site-functions/_gitopsd
         (yourself: a directory on $fpath before `compinit` in ~/.zshrc, e.g.
          fpath=(~/.zfunc $fpath) with the script as ~/.zfunc/_gitopsd)
  fish   gitopsd completion fish > /etc/fish/completions/gitopsd.fish
         (yourself: ~/.config/fish/completions/gitopsd.fish)
  man    gitopsd manpage > /usr/local/share/man/man1/gitopsd.1

Application, project and cluster names are completed from the daemon that `gitopsd` reaches
without flags ($GITOPSD_SERVER, else the last `gitopsd login`), with its saved session.
"""


def add_parsers(sub: Any) -> None:
    """`completion` and `manpage` (run locally: they read only the parser)."""
    comp = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh, fish)",
        description="Print the completion script of SHELL on stdout.",
        epilog=INSTALL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    comp.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    comp.set_defaults(local="completion")
    man = sub.add_parser(
        "manpage",
        help="print the manual page (roff)",
        description="Print gitopsd(1) in roff on stdout; read it with `man -l FILE`.",
        epilog="install: gitopsd manpage > /usr/local/share/man/man1/gitopsd.1",
    )
    man.set_defaults(local="manpage")


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.local == "manpage":
        sys.stdout.write(manpage(parser))
    else:
        sys.stdout.write(script(parser, args.shell))
    return 0


# -- scripts ------------------------------------------------------------------------------------


def _dynamic(kind: str) -> dict[str, Any]:
    import shtab

    # stderr too: anything printed during completion lands in the middle of the user's prompt.
    return shtab.cmd(f"gitopsd __complete {kind} 2>/dev/null")  # type: ignore[no-any-return]


# The first word of a command path decides what its NAME positional names; `create`/`add` make
# a new one, so nothing is offered there.
_NAME_OF = {"app": "apps", "proj": "projects", "cluster": "clusters"}
_BY_DEST = {"project": "projects", "cluster": "clusters", "dest_name": "clusters"}


def _kind_for(path: Sequence[str], action: argparse.Action) -> str | None:
    dest = action.dest
    if not action.option_strings and dest in ("name", "names"):
        if not path or path[-1] in ("create", "add"):
            return None
        return _NAME_OF.get(path[0])
    return _BY_DEST.get(dest)


def _annotate(parser: argparse.ArgumentParser, path: list[str], visit: Callable[..., None]) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                _annotate(child, [*path, name], visit)
        else:
            visit(path, action)


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of `shell` for `parser`, daemon-backed names included."""
    import shtab

    def visit(path: list[str], action: argparse.Action) -> None:
        kind = _kind_for(path, action)
        if kind is not None:
            action.complete = _dynamic(kind)  # type: ignore[attr-defined]

    _annotate(parser, [], visit)
    return str(shtab.complete(parser, shell))


_ENVIRONMENT = (
    ("GITOPSD_SERVER", "the daemon to talk to (HOST:PORT or unix:///path.sock), as --server"),
    ("GITOPSD_AUTH_TOKEN", "the token to send instead of the saved session, as --auth-token"),
    ("GITOPSD_SERVER_CA", "PEM file to verify the daemon's certificate with, as --server-ca"),
    ("GITOPSD_PLAINTEXT, GITOPSD_INSECURE", "true: as --plaintext, --insecure"),
    ("GITOPSD_CONFIG_DIR", "where the CLI keeps its logins (default ~/.config/gitopsd)"),
    ("GITOPSD_CONFIG", "the daemon's YAML config file (serve, admin initial-password)"),
)


def _roff(text: str) -> str:
    """Plain text as roff: backslashes and hyphens escaped, no line taken for a request."""
    lines = text.replace("\\", "\\e").replace("-", "\\-").splitlines()
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in lines)


def manpage(parser: argparse.ArgumentParser) -> str:
    """gitopsd(1) in roff, every command and flag from `parser` (argparse-manpage)."""
    from argparse_manpage.manpage import Manpage

    from gitopsd import __version__

    for group in parser._action_groups:
        if any(isinstance(a, argparse._SubParsersAction) for a in group._group_actions):
            group.title = "commands"  # not argparse's "positional arguments"
    page = Manpage(
        parser,
        _data={
            "project_name": "gitopsd",
            "version": __version__,
            "manual_title": "gitopsd manual",
            "description": "GitOps continuous delivery for Kubernetes",
        },
        format="single-commands-section",
    )
    env = "".join(f".TP\n.B {_roff(name)}\n{_roff(what)}\n" for name, what in _ENVIRONMENT)
    page.add_section("environment", "=", env.rstrip("\n"))
    page.add_section("shell completion", "=", f".nf\n{_roff(INSTALL.rstrip())}\n.fi")
    page.add_section(
        "see also",
        "=",
        _roff("gitopsd-helm --help, gitopsd-kustomize --help; README.md and examples/gitopsd.yaml of the package."),
    )
    text = str(page)
    return text if text.endswith("\n") else text + "\n"


# -- names from the daemon ----------------------------------------------------------------------


def complete(argv: Sequence[str]) -> int:
    """`gitopsd __complete KIND`: the names the daemon knows, one a line; never an error."""
    # Whatever grpc or a broken config would print belongs nowhere near a prompt.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    if len(argv) != 1 or argv[0] not in KINDS:
        return 0
    try:
        names = _names(argv[0])
    except Exception:  # unreachable, not logged in, refused: offer nothing
        return 0
    sys.stdout.write("".join(f"{n}\n" for n in names))
    return 0


def _names(kind: str) -> list[str]:
    from gitopsd.api.gitopsd.v1 import application_pb2, cluster_pb2, project_pb2
    from gitopsd.cli.client import Client, connection_for, server_address

    address = server_address(None)
    client = Client(address, timeout=COMPLETE_TIMEOUT, connection=connection_for(address))
    try:
        if kind == "apps":
            apps = client.apps.List(application_pb2.ListApplicationsRequest(), timeout=COMPLETE_TIMEOUT)
            return sorted(a.metadata.name for a in apps.items)
        if kind == "projects":
            projects = client.projects.List(project_pb2.ListProjectsRequest(), timeout=COMPLETE_TIMEOUT)
            return sorted(p.metadata.name for p in projects.items)
        clusters = client.clusters.List(cluster_pb2.ListClustersRequest(), timeout=COMPLETE_TIMEOUT)
        return sorted(c.name for c in clusters.items if c.name)
    finally:
        client.close()
