"""`gitopsd repocreds ...`: credential templates by URL prefix (as `argocd repocreds`): add, list, rm.

A repository without an entry of its own (`gitopsd repo add`) is fetched with the template of the
longest prefix its URL starts with. Credentials are sent once and never shown."""

from __future__ import annotations

import argparse

from gitopsd.api.gitopsd.v1 import repository_pb2 as repopb
from gitopsd.cli.client import Client
from gitopsd.cli.output import add_output_flag, dump, print_table
from gitopsd.cli.repo_cmd import credentials_from_flags
from gitopsd.protojson import to_document


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    creds = sub.add_parser("repocreds", help="manage credential templates (credentials by URL prefix)")
    csub = creds.add_subparsers(dest="repocreds_command", metavar="COMMAND", required=True)

    add = csub.add_parser("add", parents=[common], help="add a credential template for a URL prefix")
    add.add_argument("url", metavar="URL-PREFIX", help="e.g. https://github.com/my-org/")
    add.add_argument("--type", choices=["git", "helm"], default="git", help="default: git")
    add.add_argument("--username", default="", help="user name (prompted password without --password)")
    add.add_argument("--password", default="", help="prompted for when --username is given without it")
    add.add_argument("--ssh-private-key-path", help="private key file for ssh URLs")
    add.add_argument("--upsert", action="store_true", help="replace an existing template of the same prefix")
    add.set_defaults(func=cmd_add)

    lst = csub.add_parser("list", parents=[common], help="list credential templates")
    add_output_flag(lst, ["url", "json", "yaml"])
    lst.set_defaults(func=cmd_list)

    rm = csub.add_parser("rm", parents=[common], help="remove a credential template")
    rm.add_argument("url", metavar="URL-PREFIX")
    rm.set_defaults(func=cmd_rm)


def cmd_add(args: argparse.Namespace, client: Client) -> int:
    password, key = credentials_from_flags(args, key_replaces_password=True)
    creds = repopb.RepoCreds(
        url=args.url, type=args.type, username=args.username, password=password, ssh_private_key=key
    )
    added = client.repos.CreateCredentials(
        repopb.CreateRepoCredsRequest(creds=creds, upsert=args.upsert), timeout=client.timeout
    )
    print(f"Repository credentials for '{added.url}' added")
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    items = client.repos.ListCredentials(repopb.ListRepoCredsRequest(), timeout=client.timeout).items
    if args.output in ("json", "yaml"):
        dump([to_document(c) for c in items], args.output)
        return 0
    if args.output == "url":
        for c in items:
            print(c.url)
        return 0
    rows = [(c.url, c.type or "git", c.username, "set" if c.has_credentials else "none") for c in items]
    print_table(["URL PATTERN", "TYPE", "USERNAME", "CREDENTIALS"], rows)
    return 0


def cmd_rm(args: argparse.Namespace, client: Client) -> int:
    client.repos.DeleteCredentials(repopb.DeleteRepoCredsRequest(url=args.url), timeout=client.timeout)
    print(f"Repository credentials for '{args.url}' removed")
    return 0
