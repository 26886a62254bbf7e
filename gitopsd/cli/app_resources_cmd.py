"""`gitopsd app resources|logs|actions|patch|delete-resource`: the live resources of an application,
as argocd's commands of the same names (the resource tree, pod logs, resource actions, a patch of
the application, deleting one of its resources)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from gitopsd.api.gitopsd.v1 import resource_pb2 as respb
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump, print_table
from gitopsd.protojson import to_document


def _resource_flags(p: argparse.ArgumentParser, required: bool = True) -> None:
    p.add_argument("--kind", required=required, default="", help="the resource's kind, e.g. Deployment")
    p.add_argument(
        "--resource-name", "--name", dest="resource_name", required=required, default="",
        help="the resource's name",
    )
    p.add_argument("--group", default=None, help="the resource's API group (default: the kind's usual one)")
    p.add_argument("--namespace", default="", help="the resource's namespace")


def add_parsers(appsub: Any, common: argparse.ArgumentParser) -> None:
    res = appsub.add_parser("resources", parents=[common], help="the application's live resources, as a tree")
    res.add_argument("name", help="application name")
    res.add_argument(
        "-o", "--output", choices=["tree", "wide", "json", "yaml"], default="tree",
        help="tree (default: owners above what they own), wide (a table), json or yaml",
    )
    res.set_defaults(func=cmd_resources)

    logs = appsub.add_parser("logs", parents=[common], help="container logs of the application's pods")
    logs.add_argument("name", help="application name")
    _resource_flags(logs, required=False)
    logs.add_argument("--pod", default="", help="one pod's logs (default: every pod, or those of --kind/--name)")
    logs.add_argument("-c", "--container", default="", help="the container (needed for pods with several)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep streaming new lines")
    logs.add_argument("--tail", type=int, default=0, help="the last N lines of each log")
    logs.add_argument("--since-seconds", type=int, default=0, help="only lines newer than this many seconds")
    logs.add_argument("-p", "--previous", action="store_true", help="the previous (terminated) container's log")
    logs.set_defaults(func=cmd_logs)

    actions = appsub.add_parser("actions", help="resource actions (restart, create-job, ...)")
    asub = actions.add_subparsers(dest="actions_command", metavar="COMMAND", required=True)
    alist = asub.add_parser("list", parents=[common], help="the actions a resource offers")
    alist.add_argument("name", help="application name")
    _resource_flags(alist)
    add_output_flag(alist)
    alist.set_defaults(func=cmd_actions_list)
    arun = asub.add_parser("run", parents=[common], help="run an action on a resource")
    arun.add_argument("name", help="application name")
    arun.add_argument("action", help="the action, e.g. restart")
    _resource_flags(arun)
    arun.set_defaults(func=cmd_actions_run)

    patch = appsub.add_parser("patch", parents=[common], help="patch the application's document")
    patch.add_argument("name", help="application name")
    patch.add_argument("--patch", required=True, help='the patch, e.g. \'{"spec": {"source": {"path": "new"}}}\'')
    patch.add_argument("--type", choices=["json", "merge"], default="json", help="json (RFC 6902, default) or merge")
    patch.set_defaults(func=cmd_patch)

    delete = appsub.add_parser("delete-resource", parents=[common], help="delete one of the application's resources")
    delete.add_argument("name", help="application name")
    _resource_flags(delete)
    delete.add_argument("--force", action="store_true", help="delete at once (no grace period)")
    delete.add_argument("--orphan", action="store_true", help="leave what the resource owns")
    delete.set_defaults(func=cmd_delete_resource)


# The API group of the kinds users name most, so that `--kind Deployment` needs no --group.
_GROUPS = {
    "Deployment": "apps", "ReplicaSet": "apps", "StatefulSet": "apps", "DaemonSet": "apps",
    "Job": "batch", "CronJob": "batch", "Rollout": "argoproj.io", "Ingress": "networking.k8s.io",
}


def _group(args: argparse.Namespace) -> str:
    return str(args.group) if args.group is not None else _GROUPS.get(args.kind, "")


# -- resources --------------------------------------------------------------------------

def _key(group: str, kind: str, namespace: str, name: str) -> tuple[str, str, str, str]:
    return (group, kind, namespace, name)


def tree_rows(nodes: Sequence[respb.ResourceNode]) -> list[list[str]]:
    """Rows of the tree view: each node under its parent, drawn with ├─ └─ │ as argocd does."""
    keys = {_key(n.group, n.kind, n.namespace, n.name) for n in nodes}
    children: dict[tuple[str, str, str, str] | None, list[respb.ResourceNode]] = {}
    for n in nodes:
        parents = [p for p in n.parent_refs if _key(p.group, p.kind, p.namespace, p.name) in keys]
        parent = _key(parents[0].group, parents[0].kind, parents[0].namespace, parents[0].name) if parents else None
        children.setdefault(parent, []).append(n)
    rows: list[list[str]] = []

    def walk(parent: tuple[str, str, str, str] | None, prefix: str, seen: set[tuple[str, str, str, str]]) -> None:
        kids = children.get(parent, [])
        for i, n in enumerate(kids):
            key = _key(n.group, n.kind, n.namespace, n.name)
            if key in seen:
                continue
            last = i == len(kids) - 1
            branch = "" if parent is None else prefix + ("└─" if last else "├─")
            info = {i.name: i.value for i in n.info}
            rows.append([
                n.group, branch + n.kind, n.namespace, n.name, n.sync_status, n.health.status,
                info.get("Status Reason", info.get("Revision", "")),
            ])
            walk(key, "" if parent is None else prefix + ("  " if last else "│ "), seen | {key})

    walk(None, "", set())
    return rows


def cmd_resources(args: argparse.Namespace, client: Client) -> int:
    tree = client.apps.ResourceTree(respb.ResourcesQuery(application_name=args.name), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(to_document(tree), args.output)
        return 0
    headers = ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "REASON"]
    if args.output == "tree":
        print_table(headers, tree_rows(tree.nodes))
        return 0
    rows = [
        [n.group, n.kind, n.namespace, n.name, n.sync_status, n.health.status,
         ",".join(p.name for p in n.parent_refs)]
        for n in tree.nodes
    ]
    print_table([*headers[:-1], "PARENT"], rows)
    return 0


# -- logs -------------------------------------------------------------------------------

def cmd_logs(args: argparse.Namespace, client: Client) -> int:
    if args.tail < 0 or args.since_seconds < 0:
        raise CLIError("--tail and --since-seconds must not be negative", 2)
    query = respb.ApplicationPodLogsQuery(
        name=args.name,
        namespace=args.namespace,
        pod_name=args.pod,
        container=args.container,
        since_seconds=args.since_seconds,
        tail_lines=args.tail,
        follow=args.follow,
        kind=args.kind if args.resource_name else "",
        group=_group(args) if args.resource_name else "",
        resource_name=args.resource_name,
        previous=args.previous,
    )
    # A followed log has no end of its own: no deadline (Ctrl-C ends it).
    for entry in client.apps.PodLogs(query, timeout=None if args.follow else client.timeout):
        if entry.last:
            break
        sys.stdout.write(entry.content + "\n")
        sys.stdout.flush()
    return 0


# -- actions ----------------------------------------------------------------------------

def _resource_request(args: argparse.Namespace) -> respb.ApplicationResourceRequest:
    return respb.ApplicationResourceRequest(
        name=args.name, namespace=args.namespace, resource_name=args.resource_name, group=_group(args), kind=args.kind
    )


def cmd_actions_list(args: argparse.Namespace, client: Client) -> int:
    reply = client.apps.ListResourceActions(_resource_request(args), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(to_document(reply).get("actions", []), args.output)
        return 0
    rows = [[_group(args), args.kind, args.resource_name, a.name, str(a.disabled).lower()] for a in reply.actions]
    print_table(["GROUP", "KIND", "NAME", "ACTION", "DISABLED"], rows)
    return 0


def cmd_actions_run(args: argparse.Namespace, client: Client) -> int:
    client.apps.RunResourceAction(
        respb.ResourceActionRunRequest(
            name=args.name, namespace=args.namespace, resource_name=args.resource_name,
            group=_group(args), kind=args.kind, action=args.action,
        ),
        timeout=client.timeout,
    )
    print(f"action {args.action!r} run on {args.kind} {args.resource_name}")
    return 0


# -- patch and delete -------------------------------------------------------------------

def cmd_patch(args: argparse.Namespace, client: Client) -> int:
    try:
        json.loads(args.patch)
    except ValueError as exc:
        raise CLIError(f"--patch: not JSON ({exc})", 2) from None
    app = client.apps.Patch(
        respb.ApplicationPatchRequest(name=args.name, patch=args.patch, patch_type=args.type), timeout=client.timeout
    )
    print(f"application {app.metadata.name!r} patched")
    return 0


def cmd_delete_resource(args: argparse.Namespace, client: Client) -> int:
    client.apps.DeleteResource(
        respb.ApplicationResourceDeleteRequest(
            name=args.name, namespace=args.namespace, resource_name=args.resource_name,
            group=_group(args), kind=args.kind, force=args.force, orphan=args.orphan,
        ),
        timeout=client.timeout,
    )
    print(f"{args.kind} {args.resource_name} deleted")
    return 0
