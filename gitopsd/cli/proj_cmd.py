"""`gitopsd proj ...`: AppProjects from Argo CD YAML (create, get, list, delete); roles in
proj_role_cmd.py, sources, destinations and windows in proj_edit_cmd.py."""

from __future__ import annotations

import argparse
import json
import sys

import grpc

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.cli import proj_edit_cmd, proj_role_cmd
from gitopsd.cli.app_cmd import read_documents
from gitopsd.cli.client import Client, CLIError, error_line
from gitopsd.cli.output import add_output_flag, dump, print_fields, print_table
from gitopsd.protojson import to_document


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    proj = sub.add_parser("proj", help="manage projects")
    psub = proj.add_subparsers(dest="proj_command", metavar="COMMAND", required=True)

    create = psub.add_parser("create", parents=[common], help="create projects from AppProject YAML")
    create.add_argument(
        "-f", "--file", required=True, help="AppProject YAML/JSON (several documents allowed; - for stdin)"
    )
    create.add_argument("--upsert", action="store_true", help="replace an existing one of the same name")
    create.set_defaults(func=cmd_create)

    get = psub.add_parser("get", parents=[common], help="show a project")
    get.add_argument("name")
    add_output_flag(get)
    get.set_defaults(func=cmd_get)

    lst = psub.add_parser("list", parents=[common], help="list projects")
    add_output_flag(lst, ["wide", "name", "json", "yaml"])
    lst.set_defaults(func=cmd_list)

    delete = psub.add_parser(
        "delete", parents=[common], help="delete a project (refused while applications use it)"
    )
    delete.add_argument("name")
    delete.set_defaults(func=cmd_delete)
    proj_role_cmd.add_parsers(psub, common)
    proj_edit_cmd.add_parsers(psub, common)


def cmd_create(args: argparse.Namespace, client: Client) -> int:
    failures = 0
    for i, doc in enumerate(read_documents(args.file)):
        try:
            created = client.projects.Create(
                projpb.CreateProjectRequest(manifest=json.dumps(doc, default=str), upsert=args.upsert),
                timeout=client.timeout,
            )
        except (grpc.RpcError, CLIError) as exc:
            sys.stderr.write(f"{args.file} document {i + 1}: {error_line(exc, client.address)}\n")
            failures += 1
            continue
        print(f"project '{created.metadata.name}' {'updated' if args.upsert else 'created'}")
    return 2 if failures else 0


def _gks(items: object) -> str:
    return ", ".join(f"{gk.group or 'core'}/{gk.kind}" for gk in items) or "<none>"  # type: ignore[attr-defined]


def cmd_get(args: argparse.Namespace, client: Client) -> int:
    p = client.projects.Get(common_pb2.NameRequest(name=args.name), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(to_document(p), args.output)
        return 0
    spec = p.spec
    print_fields(
        [
            ("Name", p.metadata.name),
            ("Description", spec.description),
            (
                "Destinations",
                ", ".join(f"{d.server or d.name},{d.namespace or '*'}" for d in spec.destinations)
                or "<none>",
            ),
            ("Repositories", ", ".join(spec.source_repos) or "<none>"),
            ("Allowed Cluster Resources", _gks(spec.cluster_resource_whitelist)),
            ("Denied Cluster Resources", _gks(spec.cluster_resource_blacklist)),
            (
                "Allowed Namespaced Resources",
                _gks(spec.namespace_resource_whitelist)
                if len(spec.namespace_resource_whitelist)
                else "<all>",
            ),
            ("Denied Namespaced Resources", _gks(spec.namespace_resource_blacklist)),
            ("Roles", ", ".join(r.name for r in spec.roles) or "<none>"),
        ]
    )
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    items = client.projects.List(projpb.ListProjectsRequest(), timeout=client.timeout).items
    if args.output in ("json", "yaml"):
        dump([to_document(p) for p in items], args.output)
        return 0
    if args.output == "name":
        for p in items:
            print(p.metadata.name)
        return 0
    rows = [
        (
            p.metadata.name,
            p.spec.description,
            ",".join(f"{d.server or d.name},{d.namespace or '*'}" for d in p.spec.destinations),
            ",".join(p.spec.source_repos),
            _gks(p.spec.cluster_resource_whitelist),
            _gks(p.spec.namespace_resource_blacklist),
        )
        for p in items
    ]
    print_table(
        [
            "NAME",
            "DESCRIPTION",
            "DESTINATIONS",
            "SOURCES",
            "CLUSTER-RESOURCE-WHITELIST",
            "NAMESPACE-RESOURCE-BLACKLIST",
        ],
        rows,
    )
    return 0


def cmd_delete(args: argparse.Namespace, client: Client) -> int:
    client.projects.Delete(common_pb2.NameRequest(name=args.name), timeout=client.timeout)
    print(f"project '{args.name}' deleted")
    return 0
