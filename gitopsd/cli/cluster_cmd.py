"""`gitopsd cluster ...`: add (from a kubeconfig context), list, get, rm.

`cluster add` reads the kubeconfig here, on the client, as argocd does, and sends
the credentials once; the daemon never returns them.
"""

from __future__ import annotations

import argparse
import re

from gitopsd.api.gitopsd.v1 import cluster_pb2 as clpb
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import add_output_flag, dump, print_fields, print_table
from gitopsd.protojson import to_document


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    cluster = sub.add_parser("cluster", help="manage clusters")
    csub = cluster.add_subparsers(dest="cluster_command", metavar="COMMAND", required=True)

    add = csub.add_parser("add", parents=[common], help="register the cluster of a kubeconfig context")
    add.add_argument("context", help="kubeconfig context")
    add.add_argument("--name", help="cluster name (default: the context name)")
    add.add_argument("--kubeconfig", help="kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
    add.add_argument("--namespace", action="append", default=[], help="limit the cluster to these namespaces")
    add.add_argument("--label", action="append", default=[], help="KEY=VALUE (repeatable)")
    add.add_argument("--upsert", action="store_true", help="replace an existing cluster")
    add.set_defaults(func=cmd_add)

    lst = csub.add_parser("list", parents=[common], help="list clusters with a fresh connection check")
    add_output_flag(lst, ["wide", "server", "json", "yaml"])
    lst.set_defaults(func=cmd_list)

    get = csub.add_parser("get", parents=[common], help="show a cluster (by name or server URL)")
    get.add_argument("cluster")
    add_output_flag(get)
    get.set_defaults(func=cmd_get)

    rm = csub.add_parser("rm", parents=[common], help="remove a cluster (by name or server URL)")
    rm.add_argument("cluster")
    rm.add_argument("--force", action="store_true", help="even if applications target it")
    rm.set_defaults(func=cmd_rm)


def _ref(value: str) -> clpb.GetClusterRequest:
    return (
        clpb.GetClusterRequest(server=value)
        if re.match(r"^https?://", value)
        else clpb.GetClusterRequest(name=value)
    )


def short_version(version: str) -> str:
    """`v1.30.2` -> `1.30`, as argocd prints it."""
    m = re.match(r"^v?(\d+)\.(\d+)", version)
    return f"{m.group(1)}.{m.group(2)}" if m else version


def cmd_add(args: argparse.Namespace, client: Client) -> int:
    from gitopsd.kube.credentials import KubeconfigError, from_kubeconfig

    try:
        creds = from_kubeconfig(args.kubeconfig, args.context)
    except KubeconfigError as exc:
        raise CLIError(str(exc)) from None
    cluster = clpb.Cluster(server=creds.server, name=args.name or args.context, namespaces=args.namespace)
    for label in args.label:
        key, sep, value = label.partition("=")
        if not sep:
            raise CLIError(f"--label {label!r}: expected KEY=VALUE")
        cluster.labels[key] = value
    cfg = cluster.config
    cfg.bearer_token = creds.bearer_token
    cfg.username = creds.username
    cfg.password = creds.password
    cfg.tls_client_config.ca_data = creds.ca_data
    cfg.tls_client_config.cert_data = creds.cert_data
    cfg.tls_client_config.key_data = creds.key_data
    cfg.tls_client_config.insecure = creds.insecure
    cfg.tls_client_config.server_name = creds.server_name
    created = client.clusters.Create(
        clpb.CreateClusterRequest(cluster=cluster, upsert=args.upsert), timeout=client.timeout
    )
    state = created.info.connection_state
    print(f"Cluster '{created.server}' added as '{created.name}'")
    if state.status == "Failed":
        print(f"warning: the cluster is not reachable yet: {state.message}")
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    items = client.clusters.List(clpb.ListClustersRequest(), timeout=client.timeout).items
    if args.output in ("json", "yaml"):
        dump([to_document(c) for c in items], args.output)
        return 0
    if args.output == "server":
        for c in items:
            print(c.server)
        return 0
    rows = [
        (
            c.server,
            c.name,
            short_version(c.info.server_version),
            c.info.connection_state.status or "Unknown",
            c.info.connection_state.message,
        )
        for c in items
    ]
    print_table(["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE"], rows)
    return 0


def cmd_get(args: argparse.Namespace, client: Client) -> int:
    c = client.clusters.Get(_ref(args.cluster), timeout=client.timeout)
    if args.output in ("json", "yaml"):
        dump(to_document(c), args.output)
        return 0
    auth = [
        n
        for n, on in (
            ("bearer token", c.config.has_bearer_token),
            ("client certificate", c.config.has_client_certificate),
        )
        if on
    ]
    print_fields(
        [
            ("Server", c.server),
            ("Name", c.name),
            ("Server Version", c.info.server_version),
            ("Status", c.info.connection_state.status or "Unknown"),
            ("Message", c.info.connection_state.message),
            ("Checked At", c.info.connection_state.attempted_at),
            ("Credentials", ", ".join(auth) or "none"),
            (
                "TLS",
                "insecure (not verified)"
                if c.config.tls_client_config.insecure
                else ("custom CA" if c.config.has_ca else "system CAs"),
            ),
            ("Namespaces", ", ".join(c.namespaces) or "all"),
            ("Applications", c.info.applications_count),
        ]
    )
    return 0


def cmd_rm(args: argparse.Namespace, client: Client) -> int:
    ref = _ref(args.cluster)
    client.clusters.Delete(
        clpb.DeleteClusterRequest(name=ref.name, server=ref.server, force=args.force), timeout=client.timeout
    )
    print(f"Cluster '{args.cluster}' removed")
    return 0
