"""`gitopsd context [NAME]`: list the daemons saved by `login` and switch between them (argocd's
context). Local only: it reads and writes the user's config file (userconfig.py), no daemon."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gitopsd.cli import userconfig
from gitopsd.cli.client import normalize_server
from gitopsd.cli.errors import CLIError
from gitopsd.cli.output import print_table


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ctx = sub.add_parser(
        "context", help="list the daemons you logged in to, or switch to one (later commands use it)"
    )
    ctx.add_argument(
        "name", nargs="?", metavar="NAME", help="the server to use from now on (as `login` saved it)"
    )
    ctx.add_argument("--delete", action="store_true", help="forget the saved login NAME instead")
    ctx.set_defaults(local="context")


def _servers(data: dict[str, Any]) -> dict[str, Any]:
    servers = data.get("servers")
    return servers if isinstance(servers, dict) else {}


def _saved_name(data: dict[str, Any], name: str) -> str:
    servers = _servers(data)
    if name in servers:
        return name
    # https://host:port or a loopback alias name the same saved login.
    try:
        address = normalize_server(name)
    except CLIError:
        address = name
    entry = userconfig.server_entry(data, address)
    for saved, value in servers.items():
        if value is entry and entry:
            return str(saved)
    known = ", ".join(sorted(servers)) or "none (log in with `gitopsd login SERVER`)"
    raise CLIError(f"no saved login for {name!r}; saved: {known}")


def run(args: argparse.Namespace) -> int:
    try:
        data = userconfig.load()
        current = data.get("current-server") or ""
        if args.name is None:
            if args.delete:
                raise CLIError("--delete needs the NAME of a saved login")
            rows = [
                (
                    "*" if name == current else "",
                    name,
                    str(entry.get("username", "")) if isinstance(entry, dict) else "",
                )
                for name, entry in sorted(_servers(data).items())
            ]
            print_table(["CURRENT", "NAME", "USER"], rows)
            return 0
        name = _saved_name(data, args.name)
        if args.delete:
            del data["servers"][name]
            if current == name:
                data.pop("current-server", None)
            userconfig.save(data)
            print(f"context '{name}' deleted")
            return 0
        data["current-server"] = name
        userconfig.save(data)
        print(f"switched to context '{name}'")
        return 0
    except CLIError as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code
