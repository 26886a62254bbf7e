"""`gitopsd proj add-source|remove-source|add-destination|remove-destination|windows list`: edit
a project's allowed sources and destinations in place (read, change, Update), as argocd's do, and
show its sync windows (kept and printed; gitopsd does not enforce them yet)."""

from __future__ import annotations

import argparse

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump, print_table
from gitopsd.protojson import to_document


def add_parsers(
    psub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    add_src = psub.add_parser("add-source", parents=[common], help="allow a source repository (URL or glob)")
    add_src.add_argument("project")
    add_src.add_argument("url")
    add_src.set_defaults(func=cmd_add_source)

    rm_src = psub.add_parser("remove-source", parents=[common], help="disallow a source repository")
    rm_src.add_argument("project")
    rm_src.add_argument("url")
    rm_src.set_defaults(func=cmd_remove_source)

    for verb, func, help_text in (
        ("add-destination", cmd_add_destination, "allow a destination cluster and namespace"),
        ("remove-destination", cmd_remove_destination, "disallow a destination"),
    ):
        dest = psub.add_parser(verb, parents=[common], help=help_text)
        dest.add_argument("project")
        dest.add_argument(
            "dest_server", metavar="SERVER", help="cluster URL (or its name with --name; globs allowed)"
        )
        dest.add_argument("namespace", metavar="NAMESPACE", help="namespace (globs allowed)")
        dest.add_argument(
            "--name", dest="by_name", action="store_true", help="SERVER is a cluster name, not its URL"
        )
        dest.set_defaults(func=func)

    windows = psub.add_parser("windows", help="a project's sync windows")
    wsub = windows.add_subparsers(dest="windows_command", metavar="COMMAND", required=True)
    wlist = wsub.add_parser("list", parents=[common], help="list a project's sync windows and whether each is active now")
    wlist.add_argument("project")
    add_output_flag(wlist)
    wlist.set_defaults(func=cmd_windows_list)


def _project(client: Client, name: str) -> projpb.AppProject:
    return client.projects.Get(common_pb2.NameRequest(name=name), timeout=client.timeout)


def _save(client: Client, project: projpb.AppProject) -> None:
    client.projects.Update(projpb.UpdateProjectRequest(project=project), timeout=client.timeout)


def cmd_add_source(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    if args.url in project.spec.source_repos:
        print(f"source repository '{args.url}' already allowed in project '{args.project}'")
        return 0
    project.spec.source_repos.append(args.url)
    _save(client, project)
    print(f"source repository '{args.url}' added to project '{args.project}'")
    return 0


def cmd_remove_source(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    if args.url not in project.spec.source_repos:
        print(f"source repository '{args.url}' is not allowed in project '{args.project}': nothing to remove")
        return 0
    kept = [s for s in project.spec.source_repos if s != args.url]
    del project.spec.source_repos[:]
    project.spec.source_repos.extend(kept)
    _save(client, project)
    print(f"source repository '{args.url}' removed from project '{args.project}'")
    return 0


def _same(d: object, args: argparse.Namespace) -> bool:
    where = d.name if args.by_name else d.server  # type: ignore[attr-defined]
    return bool(where == args.dest_server and d.namespace == args.namespace)  # type: ignore[attr-defined]


def _dest_text(args: argparse.Namespace) -> str:
    return (
        f"{'cluster ' + args.dest_server if args.by_name else args.dest_server}, namespace {args.namespace}"
    )


def cmd_add_destination(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    if any(_same(d, args) for d in project.spec.destinations):
        raise CLIError(f"destination {_dest_text(args)} is already allowed in project '{args.project}'")
    dest = project.spec.destinations.add(namespace=args.namespace)
    if args.by_name:
        dest.name = args.dest_server
    else:
        dest.server = args.dest_server
    _save(client, project)
    print(f"destination {_dest_text(args)} added to project '{args.project}'")
    return 0


def cmd_remove_destination(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    kept = [d for d in project.spec.destinations if not _same(d, args)]
    if len(kept) == len(project.spec.destinations):
        raise CLIError(f"destination {_dest_text(args)} is not in project '{args.project}'")
    del project.spec.destinations[:]
    project.spec.destinations.extend(kept)
    _save(client, project)
    print(f"destination {_dest_text(args)} removed from project '{args.project}'")
    return 0


def cmd_windows_list(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    windows = project.spec.sync_windows
    if args.output in ("json", "yaml"):
        dump([to_document(w) for w in windows], args.output)
        return 0
    states = {s.index: s for s in project.status.sync_windows}
    rows = [
        (
            str(i),
            _window_status(states.get(i)),
            w.kind,
            w.schedule,
            w.duration,
            ",".join(w.applications) or "-",
            ",".join(w.namespaces) or "-",
            ",".join(w.clusters) or "-",
            "Enabled" if w.manual_sync else "Disabled",
            w.time_zone or "UTC",
        )
        for i, w in enumerate(windows)
    ]
    print_table(
        ["ID", "STATUS", "KIND", "SCHEDULE", "DURATION", "APPLICATIONS", "NAMESPACES", "CLUSTERS", "MANUALSYNC", "TIMEZONE"],
        rows,
    )
    return 0


def _window_status(state: projpb.SyncWindowState | None) -> str:
    """Active (until when) or Inactive (next start), as the server computed it."""
    if state is None:
        return "Unknown"
    if state.active:
        return f"Active (until {state.active_until})"
    return f"Inactive (next {state.next_start})"
