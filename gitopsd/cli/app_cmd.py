"""`gitopsd app ...`: create, get, list, delete applications."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from typing import Any

import grpc
import yaml

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.cli import app_ops_cmd, app_resources_cmd, app_sync_cmd
from gitopsd.cli.app_sync_cmd import add_selection, selected_names
from gitopsd.cli.app_view import cluster_of, print_app, source_of, sync_policy_text
from gitopsd.cli.client import Client, CLIError, error_line
from gitopsd.cli.output import add_output_flag, dump, print_table
from gitopsd.cli.yamlload import load_all
from gitopsd.protojson import to_document

IN_CLUSTER = "https://kubernetes.default.svc"


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    app = sub.add_parser("app", help="manage applications")
    appsub = app.add_subparsers(dest="app_command", metavar="COMMAND", required=True)

    create = appsub.add_parser(
        "create", parents=[common], help="create applications from flags or Argo CD YAML"
    )
    create.add_argument("name", nargs="?", help="application name (with flags; omit with -f)")
    create.add_argument(
        "-f", "--file", help="Application YAML/JSON file (several documents allowed; - for stdin)"
    )
    create.add_argument("--upsert", action="store_true", help="replace the spec of an existing application")
    app_ops_cmd.add_validate_flag(create)
    create.add_argument("--repo", help="repository URL")
    create.add_argument("--path", help="path inside the repository")
    create.add_argument(
        "--revision", default="", help="target revision: branch, tag or commit (default HEAD)"
    )
    create.add_argument("--helm-chart", help="chart name, for a Helm repository or OCI registry source")
    create.add_argument("--dest-server", help="destination cluster URL")
    create.add_argument("--dest-name", help="destination cluster name")
    create.add_argument("--dest-namespace", default="", help="destination namespace")
    create.add_argument(
        "--project", default="default", help="project the application belongs to (default: default)"
    )
    create.add_argument(
        "--sync-policy", choices=["automated", "auto", "none", "manual"], help="automated or none"
    )
    create.add_argument("--self-heal", action="store_true", help="with automated sync: undo live drift")
    create.add_argument(
        "--auto-prune", action="store_true", help="with automated sync: delete what Git no longer has"
    )
    create.add_argument(
        "--sync-option", action="append", default=[], help="e.g. CreateNamespace=true (repeatable)"
    )
    create.add_argument(
        "--label", action="append", default=[], help="KEY=VALUE label on the application (repeatable)"
    )
    create.set_defaults(func=cmd_create)

    get = appsub.add_parser("get", parents=[common], help="show applications")
    add_selection(get, "show")
    add_output_flag(get)
    get.add_argument("--show-yaml", action="store_true", help="print the application as Argo CD-style YAML")
    get.add_argument("--refresh", action="store_true", help="compare again before showing")
    get.add_argument(
        "--hard-refresh", action="store_true", help="render again (bypass the cache) and compare"
    )
    get.set_defaults(func=cmd_get)

    lst = appsub.add_parser("list", parents=[common], help="list applications")
    add_output_flag(lst, ["wide", "name", "json", "yaml"])
    lst.add_argument("-p", "--project", action="append", default=[], help="only these projects (repeatable)")
    lst.add_argument("-l", "--selector", default="", help="label selector, e.g. team=web")
    lst.add_argument("-r", "--repo", default="", help="only applications from this repository")
    lst.set_defaults(func=cmd_list)

    delete = appsub.add_parser("delete", parents=[common], help="delete applications")
    add_selection(delete, "delete")
    delete.add_argument(
        "--cascade",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also delete the application's live resources (the default, as argocd; --no-cascade keeps them)",
    )
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=cmd_delete)

    app_sync_cmd.add_parsers(appsub, common)
    app_ops_cmd.add_parsers(appsub, common)
    app_resources_cmd.add_parsers(appsub, common)  # resources, logs, actions, patch, delete-resource


# -- create ----------------------------------------------------------------------------


def read_documents(path: str) -> list[Any]:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return [d for d in load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise CLIError(f"{path}: not valid YAML: {exc}") from None


def _app_from_flags(args: argparse.Namespace) -> apppb.Application:
    if not args.name:
        raise CLIError("app create: give NAME with flags, or -f FILE")
    app = apppb.Application(api_version="argoproj.io/v1alpha1", kind="Application")
    app.metadata.name = args.name
    for label in args.label:
        key, sep, value = label.partition("=")
        if not sep:
            raise CLIError(f"--label {label!r}: expected KEY=VALUE")
        app.metadata.labels[key] = value
    spec = app.spec
    spec.project = args.project
    spec.source.repo_url = args.repo or ""
    spec.source.path = args.path or ""
    spec.source.chart = args.helm_chart or ""
    spec.source.target_revision = args.revision
    spec.destination.server = args.dest_server or ""
    spec.destination.name = args.dest_name or ""
    spec.destination.namespace = args.dest_namespace
    if args.sync_policy in ("automated", "auto"):
        spec.sync_policy.automated.self_heal = args.self_heal
        spec.sync_policy.automated.prune = args.auto_prune
    elif args.self_heal or args.auto_prune:
        raise CLIError("--self-heal and --auto-prune need --sync-policy automated")
    if args.sync_option:
        spec.sync_policy.sync_options.extend(args.sync_option)
    return app


# Documents per BatchCreate call of `app create -f` (the daemon takes up to 1,000).
BATCH = 500


def cmd_create(args: argparse.Namespace, client: Client) -> int:
    if args.file:
        if args.name or args.repo:
            raise CLIError("app create: use either -f FILE or NAME with flags, not both")
        docs = read_documents(args.file)
        if not docs:
            raise CLIError(f"{args.file}: no documents")
        failures = 0
        for start in range(0, len(docs), BATCH):
            failures += _create_documents(args, client, docs[start : start + BATCH], start)
        return 2 if failures else 0
    created = client.apps.Create(
        apppb.CreateApplicationRequest(
            application=_app_from_flags(args), upsert=args.upsert, validate=args.validate
        ),
        timeout=client.timeout,
    )
    print(f"application '{created.metadata.name}' {'updated' if args.upsert else 'created'}")
    return 0


def _create_documents(args: argparse.Namespace, client: Client, docs: list[Any], offset: int) -> int:
    """Creates `docs` (documents offset+1... of the file) in one BatchCreate; when it is refused (one
    bad document refuses all, or an older daemon), one Create each, so that every failure is
    reported with its document and the others are created. Returns the number of failures."""
    verb = "updated" if args.upsert else "created"
    requests = [
        apppb.CreateApplicationRequest(
            manifest=json.dumps(doc, default=str), upsert=args.upsert, validate=args.validate
        )
        for doc in docs
    ]
    if len(requests) > 1:
        try:
            reply = client.apps.BatchCreate(
                apppb.BatchCreateApplicationsRequest(requests=requests), timeout=client.timeout
            )
        except grpc.RpcError:
            pass  # each document again, alone: the reason is then reported per document
        else:
            for app in reply.applications:
                print(f"application '{app.metadata.name}' {verb}")
            return 0
    failures = 0
    for i, (doc, request) in enumerate(zip(docs, requests, strict=True)):
        try:
            created = client.apps.Create(request, timeout=client.timeout)
        except (grpc.RpcError, CLIError) as exc:  # report this document and go on with the others
            meta = doc.get("metadata") if isinstance(doc, dict) else None
            label = meta.get("name") if isinstance(meta, dict) else None
            where = f"{args.file} document {offset + i + 1}" + (f" ({label})" if label else "")
            sys.stderr.write(f"{where}: {error_line(exc, client.address)}\n")
            failures += 1
            continue
        print(f"application '{created.metadata.name}' {verb}")
    return failures


# -- get / list -----------------------------------------------------------------------


def cmd_get(args: argparse.Namespace, client: Client) -> int:
    refresh = "hard" if args.hard_refresh else ("normal" if args.refresh else "")
    apps = [
        client.apps.Get(apppb.GetApplicationRequest(name=name, refresh=refresh), timeout=client.timeout)
        for name in selected_names(args, client)
    ]
    if args.output in ("json", "yaml") or args.show_yaml:
        docs = [to_document(a) for a in apps]
        # One named application prints as an object (as before); a selection as a list.
        single = len(args.names) == 1 and not (args.selector or args.project)
        dump(docs[0] if single else docs, "yaml" if args.show_yaml else args.output)
        return 0
    for i, app in enumerate(apps):
        if i:
            print()
        print_app(app, client)
    return 0


# What the table of `app list` prints (list_rows), asked of the daemon instead of whole applications
# (ListApplicationsRequest.fields): at 10,000 applications ~1.4 MB instead of ~10 MB to receive and parse.
LIST_FIELDS = [
    "metadata.name",
    "spec.project",
    "spec.destination",
    "spec.source",
    "spec.sources",
    "spec.syncPolicy.automated",
    "status.sync.status",
    "status.health.status",
    "status.conditions.type",
]
LIST_HEADERS = [
    "NAME",
    "CLUSTER",
    "NAMESPACE",
    "PROJECT",
    "STATUS",
    "HEALTH",
    "SYNCPOLICY",
    "CONDITIONS",
    "REPO",
    "PATH",
    "TARGET",
]


def list_rows(apps: Iterable[apppb.Application]) -> list[tuple[str, ...]]:
    """The rows of `app list`'s table (LIST_HEADERS); reads nothing outside LIST_FIELDS."""
    rows: list[tuple[str, ...]] = []
    for app in apps:
        spec, status = app.spec, app.status
        src = source_of(app)
        conditions = ",".join(sorted({c.type for c in status.conditions})) or "<none>"
        manual = sync_policy_text(app) == "Manual"
        rows.append(
            (
                app.metadata.name,
                cluster_of(app),
                spec.destination.namespace,
                spec.project,
                status.sync.status or "Unknown",
                status.health.status or "Unknown",
                "Manual" if manual else ("Auto-Prune" if spec.sync_policy.automated.prune else "Auto"),
                conditions,
                src.repo_url,
                src.path or src.chart,
                src.target_revision or "HEAD",
            )
        )
    return rows


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    # json/yaml print whole applications; the table (wide is the same table) and names need less.
    fields = {"json": [], "yaml": [], "name": ["metadata.name"]}.get(args.output, LIST_FIELDS)
    reply = client.apps.List(
        apppb.ListApplicationsRequest(
            projects=args.project, selector=args.selector, repo=args.repo, fields=fields
        ),
        timeout=client.timeout,
    )
    if args.output in ("json", "yaml"):
        dump([to_document(a) for a in reply.items], args.output)
        return 0
    if args.output == "name":
        for app in reply.items:
            print(app.metadata.name)
        return 0
    print_table(LIST_HEADERS, list_rows(reply.items))
    return 0


def cmd_delete(args: argparse.Namespace, client: Client) -> int:
    for name in selected_names(args, client):
        if not args.yes and sys.stdin.isatty():
            what = "and all its resources " if args.cascade else ""
            answer = input(f"Are you sure you want to delete '{name}' {what}? [y/n] ")
            if answer.strip().lower() not in ("y", "yes"):
                print(f"application '{name}' not deleted")
                continue
        client.apps.Delete(
            apppb.DeleteApplicationRequest(name=name, cascade=args.cascade), timeout=client.timeout
        )
        print(f"application '{name}' deleted")
    return 0
