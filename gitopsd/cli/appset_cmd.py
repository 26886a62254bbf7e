"""`gitopsd appset ...`: ApplicationSets from Argo CD YAML (create, get, list, delete, generate),
with the argocd CLI's output: `get` shows the template and the conditions, `list` one row per set."""

from __future__ import annotations

import argparse
import json
import sys

import grpc

from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.cli.app_cmd import read_documents
from gitopsd.cli.client import Client, CLIError, error_line
from gitopsd.cli.output import add_output_flag, dump, print_fields, print_table
from gitopsd.protojson import to_document


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    appset = sub.add_parser("appset", help="manage ApplicationSets")
    asub = appset.add_subparsers(dest="appset_command", metavar="COMMAND", required=True)

    create = asub.add_parser("create", parents=[common], help="create ApplicationSets from YAML")
    create.add_argument(
        "-f",
        "--file",
        required=True,
        help="ApplicationSet YAML/JSON (several documents allowed; - for stdin)",
    )
    create.add_argument("--upsert", action="store_true", help="replace an existing one of the same name")
    create.set_defaults(func=cmd_create)

    get = asub.add_parser("get", parents=[common], help="show an ApplicationSet")
    get.add_argument("name")
    add_output_flag(get)
    get.set_defaults(func=cmd_get)

    lst = asub.add_parser("list", parents=[common], help="list ApplicationSets")
    lst.add_argument("-p", "--project", action="append", default=[], help="only these projects")
    lst.add_argument("-l", "--selector", default="", help="label selector")
    add_output_flag(lst, ["wide", "name", "json", "yaml"])
    lst.set_defaults(func=cmd_list)

    delete = asub.add_parser(
        "delete", parents=[common], help="delete ApplicationSets and the applications they generated"
    )
    delete.add_argument("names", nargs="+", metavar="NAME")
    delete.set_defaults(func=cmd_delete)

    generate = asub.add_parser(
        "generate", parents=[common], help="show the applications an ApplicationSet file would generate"
    )
    generate.add_argument("-f", "--file", required=True, help="one ApplicationSet YAML/JSON (- for stdin)")
    add_output_flag(generate)
    generate.set_defaults(func=cmd_generate)


def _template_source(s: aspb.ApplicationSet) -> tuple[str, str, str]:
    spec = s.spec.template.spec
    src = spec.source if spec.HasField("source") else (spec.sources[0] if spec.sources else None)
    if src is None:
        return "", "", ""
    return src.repo_url, src.path or src.chart, src.target_revision


def _sync_policy(s: aspb.ApplicationSet) -> str:
    return s.spec.sync_policy.applications_sync or "<none>"


def _print_set(s: aspb.ApplicationSet) -> None:
    repo, path, target = _template_source(s)
    dest = s.spec.template.spec.destination
    print_fields(
        [
            ("Name", s.metadata.name),
            ("Project", s.spec.template.spec.project or "default"),
            ("Server", dest.server or dest.name),
            ("Namespace", dest.namespace),
            ("Repo", repo),
            ("Target", target),
            ("Path", path),
            ("SyncPolicy", _sync_policy(s)),
        ]
    )
    if s.status.conditions:
        print()
        print_table(
            ["CONDITION", "STATUS", "MESSAGE", "LAST TRANSITION"],
            [(c.type, c.status, c.message, c.last_transition_time) for c in s.status.conditions],
        )
    if s.status.resources:
        print()
        print_table(
            ["APPLICATION", "PROJECT", "STATUS", "HEALTH"],
            [(r.name, r.project, r.status, r.health.status) for r in s.status.resources],
        )


def _failed(s: aspb.ApplicationSet) -> str:
    for c in s.status.conditions:
        if c.type == "ErrorOccurred" and c.status == "True":
            return c.message
    return ""


def cmd_create(args: argparse.Namespace, client: Client) -> int:
    failures = 0
    for i, doc in enumerate(read_documents(args.file)):
        try:
            created = client.appsets.Create(
                aspb.CreateApplicationSetRequest(manifest=json.dumps(doc, default=str), upsert=args.upsert),
                timeout=client.timeout,
            )
        except (grpc.RpcError, CLIError) as exc:
            sys.stderr.write(f"{args.file} document {i + 1}: {error_line(exc, client.address)}\n")
            failures += 1
            continue
        print(f"ApplicationSet '{created.metadata.name}' {'updated' if args.upsert else 'created'}")
        _print_set(created)
        problem = _failed(created)
        if problem:
            # Stored, but it could not generate (all) its applications: say so, as a failure.
            sys.stderr.write(f"applicationset '{created.metadata.name}': {problem}\n")
            failures += 1
    return 2 if failures else 0


def cmd_get(args: argparse.Namespace, client: Client) -> int:
    s = client.appsets.Get(aspb.GetApplicationSetRequest(name=args.name), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(to_document(s), args.output)
        return 0
    _print_set(s)
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    items = client.appsets.List(
        aspb.ListApplicationSetsRequest(projects=args.project, selector=args.selector), timeout=client.timeout
    ).items
    if args.output in ("json", "yaml"):
        dump([to_document(s) for s in items], args.output)
        return 0
    if args.output == "name":
        for s in items:
            print(s.metadata.name)
        return 0
    rows = []
    for s in items:
        repo, path, target = _template_source(s)
        conditions = ",".join(f"{c.type}={c.status}" for c in s.status.conditions) or "<none>"
        rows.append(
            (
                s.metadata.name,
                s.spec.template.spec.project or "default",
                _sync_policy(s),
                conditions,
                repo,
                path,
                target,
            )
        )
    print_table(["NAME", "PROJECT", "SYNCPOLICY", "CONDITIONS", "REPO", "PATH", "TARGET"], rows)
    return 0


def cmd_delete(args: argparse.Namespace, client: Client) -> int:
    for name in args.names:
        client.appsets.Delete(aspb.DeleteApplicationSetRequest(name=name), timeout=client.timeout)
        print(f"applicationset '{name}' deleted")
    return 0


def cmd_generate(args: argparse.Namespace, client: Client) -> int:
    docs = read_documents(args.file)
    if len(docs) != 1:
        raise CLIError(f"{args.file}: expected one ApplicationSet document, got {len(docs)}")
    reply = client.appsets.Generate(
        aspb.GenerateApplicationSetRequest(manifest=json.dumps(docs[0], default=str)), timeout=client.timeout
    )
    if args.output in ("json", "yaml"):
        dump([to_document(a) for a in reply.applications], args.output)
        return 0
    rows = []
    for a in reply.applications:
        src = a.spec.source if a.spec.HasField("source") else (a.spec.sources[0] if a.spec.sources else None)
        dest = a.spec.destination
        rows.append(
            (
                a.metadata.name,
                a.spec.project,
                dest.server or dest.name,
                dest.namespace,
                src.repo_url if src else "",
                (src.path or src.chart) if src else "",
            )
        )
    print_table(["NAME", "PROJECT", "SERVER", "NAMESPACE", "REPO", "PATH"], rows)
    return 0
