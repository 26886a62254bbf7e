"""How the CLI shows one application, as argocd does: the summary header (`app get`, `app sync`,
`app wait`), the resource table with health, and the operation block. Shared by app_cmd.py and
app_sync_cmd.py so every command prints the same words."""

from __future__ import annotations

import sys
from typing import Any, TextIO
from urllib.parse import quote

import grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.cli.client import Client
from gitopsd.cli.output import print_fields, print_table

RESOURCE_COLUMNS = ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH", "HOOK", "MESSAGE"]


def source_of(app: apppb.Application) -> apppb.ApplicationSource:
    return (
        app.spec.source
        if app.spec.HasField("source")
        else (app.spec.sources[0] if app.spec.sources else apppb.ApplicationSource())
    )


def cluster_of(app: apppb.Application) -> str:
    return app.spec.destination.server or app.spec.destination.name


def sync_policy_text(app: apppb.Application) -> str:
    auto = app.spec.sync_policy.automated
    if not app.spec.sync_policy.HasField("automated") or (auto.HasField("enabled") and not auto.enabled):
        return "Manual"
    extras = [n for n, on in (("Prune", auto.prune), ("SelfHeal", auto.self_heal)) if on]
    return f"Automated ({', '.join(extras)})" if extras else "Automated"


def sync_status_line(app: apppb.Application) -> str:
    """`Synced to main (abc1234)`, `OutOfSync from main (abc1234) (why)`, as argocd words it."""
    sync = app.status.sync
    status = sync.status or "Unknown"
    target = source_of(app).target_revision or "HEAD"
    line = status
    if sync.revision:
        line += f" {'to' if status == 'Synced' else 'from'} {target} ({sync.revision[:7]})"
    if sync.reason and status == "OutOfSync":
        line += f" ({sync.reason})"
    return line


def _source_text(s: apppb.ApplicationSource, revision: str) -> str:
    where = f"chart {s.chart}" if s.chart else (f"path {s.path}" if s.path else "")
    parts = ([f"{s.name}:"] if s.name else []) + [s.repo_url, f"target {s.target_revision or 'HEAD'}"]
    if where:
        parts.append(where)
    if s.ref:
        parts.append(f"ref {s.ref}")
    if revision:
        parts.append(f"({revision[:7]})")
    return " ".join(parts)


def health_line(app: apppb.Application) -> str:
    health = app.status.health
    return (health.status or "Unknown") + (f" ({health.message})" if health.message else "")


def _sync_window(client: Client | None, app: apppb.Application) -> str:
    """The SyncWindow line when sync windows of the app's project apply to it, as argocd prints it:
    Sync Allowed, Sync Denied or Manual Allowed, with the window that decides."""
    windows = app.status.sync_windows
    if not app.status.HasField("sync_windows") and client is not None:
        try:  # the server fills it in on Get (a Sync or List answer has none)
            fresh = client.apps.Get(apppb.GetApplicationRequest(name=app.metadata.name), timeout=client.timeout)
        except grpc.RpcError:
            return ""
        windows = fresh.status.sync_windows
    if not windows.assigned:
        return ""
    if windows.can_sync:
        word = "Sync Allowed"
    elif windows.can_sync_manually:
        word = "Manual Allowed"
    else:
        word = "Sync Denied"
    return word + (f" ({windows.message})" if windows.message else "")


def header_pairs(app: apppb.Application, client: Client | None = None) -> list[tuple[str, Any]]:
    src = source_of(app)
    pairs: list[tuple[str, Any]] = [
        ("Name", app.metadata.name),
        ("Project", app.spec.project or "default"),
        ("Server", cluster_of(app)),
        ("Namespace", app.spec.destination.namespace),
    ]
    for ref in app.metadata.owner_references:  # a child of an app of apps (or an ApplicationSet)
        pairs.append(("Owned By", f"{ref.kind} {ref.name}"))
    # As argocd: the application's page on the dashboard.
    dashboard = client.dashboard_url if client is not None else ""
    if dashboard:
        pairs.append(("URL", f"{dashboard}/applications/{quote(app.metadata.name, safe='')}"))
    url = app.metadata.annotations.get("link.argocd.argoproj.io/external-link", "")
    if url:
        pairs.append(("External URL", url))
    if len(app.spec.sources) > 1 and not app.spec.HasField("source"):
        # A multi-source application: every source, with the revision each was compared at.
        revisions = list(app.status.sync.revisions)
        for i, s in enumerate(app.spec.sources):
            pairs.append((f"Source {i + 1}", _source_text(s, revisions[i] if i < len(revisions) else "")))
    else:
        pairs += [
            ("Repo", src.repo_url),
            ("Target", src.target_revision or "HEAD"),
            ("Path", src.path) if not src.chart else ("Chart", src.chart),
        ]
        if src.name:
            pairs.append(("Source Name", src.name))
    # spec.info: the extra lines users attach to an application.
    pairs += [("Info", f"{i.name}: {i.value}") for i in app.spec.info]
    window = _sync_window(client, app)
    if window:
        pairs.append(("SyncWindow", window))
    pairs += [
        ("Sync Policy", sync_policy_text(app)),
        ("Sync Status", sync_status_line(app)),
        ("Health Status", health_line(app)),
    ]
    return pairs


def operation_pairs(app: apppb.Application) -> list[tuple[str, Any]]:
    op = app.status.operation_state
    if not op.phase:
        return []
    return [
        ("Operation", "Sync" + (" (dry run)" if op.operation.sync.dry_run else "")),
        ("Sync Revision", op.sync_result.revision),
        ("Phase", op.phase),
        ("Start", op.started_at),
        ("Finished", op.finished_at),
        ("Message", op.message),
    ]


def _key(group: str, kind: str, namespace: str, name: str) -> tuple[str, str, str, str]:
    return (group, kind, namespace, name)


def status_rows(app: apppb.Application) -> list[tuple[str, ...]]:
    """The application's resources: sync status and health of each."""
    return [
        (r.group, r.kind, r.namespace, r.name, r.status, r.health.status, r.hook, r.message)
        for r in app.status.resources
    ]


def operation_rows(app: apppb.Application) -> list[tuple[str, ...]]:
    """The last operation's results with each resource's health now; a hook shows its phase."""
    health = {_key(r.group, r.kind, r.namespace, r.name): r.health.status for r in app.status.resources}
    rows: list[tuple[str, ...]] = []
    for r in app.status.operation_state.sync_result.resources:
        status = r.hook_phase if r.hook_type else r.status
        rows.append(
            (
                r.group,
                r.kind,
                r.namespace,
                r.name,
                status,
                health.get(_key(r.group, r.kind, r.namespace, r.name), ""),
                r.hook_type,
                r.message,
            )
        )
    return rows


def print_app(
    app: apppb.Application,
    client: Client | None = None,
    *,
    operation: bool = True,
    rows: list[tuple[str, ...]] | None = None,
    out: TextIO = sys.stdout,
) -> None:
    """Header, operation block, conditions, then the resource table (rows, default: the app's own)."""
    pairs = header_pairs(app, client)
    if operation and app.status.operation_state.phase:
        pairs += [("", None), *operation_pairs(app)]
    print_fields(pairs, out=out)
    if app.status.conditions:
        out.write("\n")
        print_table(
            ["CONDITION", "MESSAGE", "LAST TRANSITION"],
            [(c.type, c.message, c.last_transition_time) for c in app.status.conditions],
            out=out,
        )
    table = status_rows(app) if rows is None else rows
    if table:
        out.write("\n")
        print_table(RESOURCE_COLUMNS, table, out=out)
