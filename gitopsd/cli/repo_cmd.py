"""`gitopsd repo ...`: add, list, get, rm repositories (credentials are sent once, never shown)."""

from __future__ import annotations

import argparse
import getpass
import sys

from gitopsd.api.gitopsd.v1 import repository_pb2 as repopb
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump, print_fields, print_table
from gitopsd.protojson import to_document


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    repo = sub.add_parser("repo", help="manage repository credentials")
    rsub = repo.add_subparsers(dest="repo_command", metavar="COMMAND", required=True)

    add = rsub.add_parser("add", parents=[common], help="add a repository (checks that it answers)")
    add.add_argument("url")
    add.add_argument("--type", choices=["git", "helm", "oci"], help="default: git (oci for oci:// URLs)")
    add.add_argument("--name", default="", help="a display name (Helm repositories)")
    add.add_argument("--username", help="user name for the repository (prompted password with --password -)")
    add.add_argument("--password", help="prompted for when --username is given without it")
    add.add_argument("--ssh-private-key-path", help="private key file for ssh URLs")
    add.add_argument(
        "--insecure-skip-server-verification", action="store_true", help="do not verify TLS certificates"
    )
    add.add_argument("--enable-oci", action="store_true", help="a Helm repository that is an OCI registry")
    add.add_argument(
        "--insecure-oci-force-http", action="store_true", help="talk plain HTTP to the OCI registry"
    )
    add.add_argument(
        "--project", default="", help="scope the credentials to this project (its applications only)"
    )
    add.add_argument("--upsert", action="store_true", help="replace an existing one of the same name")
    add.set_defaults(func=cmd_add)

    lst = rsub.add_parser("list", parents=[common], help="list repositories with a connection check")
    add_output_flag(lst, ["wide", "url", "json", "yaml"])
    lst.set_defaults(func=cmd_list)

    get = rsub.add_parser("get", parents=[common], help="show a repository")
    get.add_argument("url")
    add_output_flag(get)
    get.set_defaults(func=cmd_get)

    rm = rsub.add_parser("rm", parents=[common], help="remove a repository's entry")
    rm.add_argument("url")
    rm.set_defaults(func=cmd_rm)


def credentials_from_flags(
    args: argparse.Namespace, *, key_replaces_password: bool = False
) -> tuple[str, str]:
    """(password, ssh private key) of `repo add` / `repocreds add`: the password prompted for when
    --username comes without one (unless a key is given and may stand in for it), the key read from
    --ssh-private-key-path."""
    password = args.password or ""
    wants_password = args.username and not password
    if wants_password and not (key_replaces_password and args.ssh_private_key_path):
        if not sys.stdin.isatty():
            raise CLIError("--password is required with --username when not run from a terminal")
        password = getpass.getpass("Password: ")
    key = ""
    if args.ssh_private_key_path:
        try:
            with open(args.ssh_private_key_path, encoding="utf-8") as f:
                key = f.read()
        except OSError as exc:
            raise CLIError(f"cannot read {args.ssh_private_key_path}: {exc.strerror}") from None
    return password, key


def cmd_add(args: argparse.Namespace, client: Client) -> int:
    password, key = credentials_from_flags(args)
    repo = repopb.Repository(
        repo=args.url,
        type=args.type or "",
        name=args.name,
        project=args.project,
        username=args.username or "",
        password=password,
        ssh_private_key=key,
        insecure=args.insecure_skip_server_verification,
        enable_oci=args.enable_oci,
        insecure_oci_force_http=args.insecure_oci_force_http,
    )
    added = client.repos.Create(
        repopb.CreateRepositoryRequest(repo=repo, upsert=args.upsert), timeout=client.timeout
    )
    print(f"Repository '{added.repo}' added")
    if added.connection_state.status == "Failed":
        print(f"warning: {added.connection_state.message}")
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    items = client.repos.List(
        repopb.ListRepositoriesRequest(force_refresh=True), timeout=client.timeout
    ).items
    if args.output in ("json", "yaml"):
        dump([to_document(r) for r in items], args.output)
        return 0
    if args.output == "url":
        for r in items:
            print(r.repo)
        return 0
    rows = [
        (r.repo, r.type, r.name, r.connection_state.status or "Unknown", r.connection_state.message)
        for r in items
    ]
    print_table(["REPO", "TYPE", "NAME", "STATUS", "MESSAGE"], rows)
    return 0


def cmd_get(args: argparse.Namespace, client: Client) -> int:
    r = client.repos.Get(repopb.GetRepositoryRequest(repo=args.url), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(to_document(r), args.output)
        return 0
    print_fields(
        [
            ("Repo", r.repo),
            ("Type", r.type),
            ("Name", r.name),
            ("Username", r.username),
            ("Credentials", "set" if r.has_credentials else "none"),
            ("Insecure", r.insecure),
            ("Status", r.connection_state.status or "Unknown"),
            ("Message", r.connection_state.message),
        ]
    )
    return 0


def cmd_rm(args: argparse.Namespace, client: Client) -> int:
    client.repos.Delete(repopb.GetRepositoryRequest(repo=args.url), timeout=client.timeout)
    print(f"Repository '{args.url}' removed")
    return 0
