"""Entry point of the `gitopsd` command.

Client commands (app, version, ...) talk to the daemon over gRPC only. Two commands
run locally instead: `serve` (the daemon itself) and `sandbox` (the emulated API
server for tests and the demo); both are imported lazily, and so are their flags
(defined by the daemon's modules), so that client commands start fast.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import grpc

from gitopsd import __version__
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.cli import (
    app_cmd,
    apply_cmd,
    appset_cmd,
    auth_cmd,
    cluster_cmd,
    completion,
    context_cmd,
    proj_cmd,
    repo_cmd,
    repocreds_cmd,
)
from gitopsd.cli.client import Client, CLIError, connection_for, error_line, normalize_server, server_address
from gitopsd.cli.output import add_output_flag


def _common_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--server", help="daemon address HOST:PORT or unix:///path.sock (env GITOPSD_SERVER)")
    common.add_argument("--grpc-timeout", type=float, default=60.0, help=argparse.SUPPRESS)
    common.add_argument(
        "--auth-token", help="token to use instead of the saved session (env GITOPSD_AUTH_TOKEN)"
    )
    common.add_argument(
        "--server-ca", help="PEM file to verify the daemon's certificate (env GITOPSD_SERVER_CA)"
    )
    common.add_argument("--insecure", action="store_true", help="skip verifying the daemon's TLS certificate")
    common.add_argument("--plaintext", action="store_true", help="talk to a plaintext (non-TLS) listener")
    return common


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    from gitopsd.server.cli import add_arguments

    add_arguments(parser)


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        from gitopsd.sandbox.cli import add_arguments
    except ImportError:  # pragma: no cover - the sandbox package is part of every install
        return
    add_arguments(parser)


def build_parser(full: bool = False) -> argparse.ArgumentParser:
    """The whole command line. The flags of `serve` and `sandbox` are added only once one of them is
    parsed; `full` adds them now, for what reads every flag (completion scripts, the man page)."""
    common = _common_parser()
    parser = _Parser(
        prog="gitopsd",
        description="GitOps continuous delivery for Kubernetes: the daemon and its command-line client.",
    )
    parser.add_argument("--version", action="version", version=f"gitopsd v{__version__}")
    # Any: the subparsers are _Parser too (did-you-mean at every level); the command modules take them
    # as plain ArgumentParsers.
    sub: Any = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # The flags of the two local commands come from the daemon's own modules, which take most of a
    # second to import: they are added when the command itself is parsed (or `full`), not for every
    # client command.
    serve = sub.add_parser("serve", help="run the daemon")
    serve.set_defaults(local="serve")
    serve.defer_arguments(_serve_arguments)

    sandbox = sub.add_parser("sandbox", help="run an emulated Kubernetes API server (tests, demo)")
    sandbox.set_defaults(local="sandbox")
    sandbox.defer_arguments(_sandbox_arguments)

    app_cmd.add_parsers(sub, common)
    apply_cmd.add_parsers(sub, common)
    appset_cmd.add_parsers(sub, common)
    cluster_cmd.add_parsers(sub, common)
    repo_cmd.add_parsers(sub, common)
    repocreds_cmd.add_parsers(sub, common)
    proj_cmd.add_parsers(sub, common)
    auth_cmd.add_parsers(sub, common)
    context_cmd.add_parsers(sub)

    version = sub.add_parser("version", parents=[common], help="print the client and server versions")
    version.add_argument("--client", action="store_true", help="client version only")
    add_output_flag(version)
    version.set_defaults(func=cmd_version)
    completion.add_parsers(sub)
    if full:
        for child in sub.choices.values():
            child.load_deferred()
    return parser


def cmd_version(args: argparse.Namespace, client: Client) -> int:
    from gitopsd.cli.output import dump

    info: dict[str, object] = {"client": {"version": __version__}}
    if not args.client:
        try:
            server = client.version.Version(common_pb2.Empty(), timeout=client.timeout)
        except grpc.RpcError:
            # The client's own version is known whatever the daemon's state; then the error.
            if args.output == "wide":
                print(f"gitopsd: v{__version__}", flush=True)
            raise
        info["server"] = {
            "version": server.version,
            "apiVersion": server.api_version,
            "python": server.python_version,
            "platform": server.platform,
            "kubernetesClient": server.kubernetes_client_version,
            "renderers": dict(server.renderers),
        }
    if args.output in ("json", "yaml"):
        dump(info, args.output)
        return 0
    print(f"gitopsd: v{__version__}")
    if "server" in info:
        s = info["server"]
        assert isinstance(s, dict)
        print(f"gitopsd-server: v{s['version']} ({s['apiVersion']}, python {s['python']}, {s['platform']})")
        for name, ver in sorted(s["renderers"].items()):
            print(f"  renderer {name}: {ver}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with a "did you mean" for a mistyped command or subcommand, and arguments that may be
    added only when this (sub)parser is used."""

    _deferred: Callable[[argparse.ArgumentParser], None] | None = None

    def defer_arguments(self, add: Callable[[argparse.ArgumentParser], None]) -> None:
        self._deferred = add

    def load_deferred(self) -> None:
        add, self._deferred = self._deferred, None
        if add is not None:
            add(self)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # The parent parser hands a subcommand's words to it here: its flags are needed now (--help too).
        self.load_deferred()
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        if "invalid choice:" in message:
            choices = [a.choices for a in self._actions if isinstance(a, argparse._SubParsersAction)]
            given = message.split("invalid choice:", 1)[1].split("(", 1)[0].strip().strip("'\"")
            names = [str(n) for c in choices for n in (c or {})]
            close = difflib.get_close_matches(given, names, n=3, cutoff=0.6)
            if close:
                message = f"{message}\ndid you mean: {', '.join(close)}?"
        super().error(message)


def _quiet_broken_pipe() -> int:
    # A reader that went away (`gitopsd app list | head`): stop quietly, as other CLIs do. Point
    # stdout at /dev/null so the interpreter's final flush does not raise again.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141  # 128 + SIGPIPE, what a shell reports for a killed writer


def main(argv: Sequence[str] | None = None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # output to a pipe is buffered: a gone reader shows here
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["__complete"]:
        # What the completion scripts run at a Tab: hidden, and without building the whole parser.
        return completion.complete(words[1:])
    parser = build_parser()
    args = parser.parse_args(words)
    if getattr(args, "local", None) in ("completion", "manpage"):
        return completion.run(build_parser(full=True), args)
    if getattr(args, "local", None) == "serve":
        from gitopsd.server.cli import run as run_serve

        return run_serve(args)
    if getattr(args, "local", None) == "sandbox":
        from gitopsd.sandbox.cli import run as run_sandbox

        return run_sandbox(args)
    if getattr(args, "local", None) == "context":
        return context_cmd.run(args)
    if getattr(args, "local", None) == "admin-initial-password":
        return auth_cmd.run_initial_password(args)
    # `login SERVER` names its server; every other command finds it (flag, env, saved login).
    try:
        address = (
            normalize_server(args.address)
            if getattr(args, "connect_to", None) == "address"
            else server_address(args.server)
        )
        connection = connection_for(address, args.auth_token, args.server_ca, args.plaintext, args.insecure)
    except CLIError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code
    client = Client(address, timeout=args.grpc_timeout, connection=connection)
    try:
        return int(args.func(args, client))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        raise
    except Exception as exc:
        try:
            sys.stderr.write(error_line(exc, address) + "\n")
        except Exception:
            raise exc from None
        return getattr(exc, "code", 2) if isinstance(exc, CLIError) else 2
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
