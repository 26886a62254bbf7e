"""One-call entry points the daemon uses: compare an app's manifests with a cluster, and sync them.

They only chain the pure steps (prepare → read live in bulk → compare → plan) with the I/O ones
(ClusterClient); the sync operation of issue 5 can call the steps one by one to wait between waves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.compare import CompareOptions, ComparisonResult, compare
from gitopsd.engine.desired import PreparedSet, prepare
from gitopsd.engine.live import LiveState, read_live_state
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.sync import ResourceResult, SyncOptions, SyncPlan, execute, plan_sync


@dataclass(frozen=True)
class Comparison:
    prepared: PreparedSet
    live: LiveState
    result: ComparisonResult


def compare_app(
    client: ClusterClient,
    manifests: Iterable[Any],
    *,
    app: str,
    namespace: str,
    tracked: Iterable[ResourceKey] = (),
    options: CompareOptions | None = None,
) -> Comparison:
    """Compare rendered manifests with the cluster. ``namespace``: the destination (default) namespace;
    ``tracked``: keys (with version) the app managed at its last comparison, to find objects to prune."""
    prepared = prepare(
        manifests,
        app=app,
        default_namespace=namespace,
        resolve_scope=lambda api_version, kind: client.resource_info(api_version, kind).namespaced,
    )
    live = read_live_state(client, prepared.objects, app=app, tracked=tracked, namespaces=[namespace])
    result = compare(prepared, live, app=app, client=client, options=options)
    return Comparison(prepared, live, result)


def sync_app(
    client: ClusterClient,
    comparison: ComparisonResult,
    options: SyncOptions,
    *,
    resources: set[ResourceKey] | None = None,
    phases: Sequence[str] = ("PreSync", "Sync", "PostSync"),
) -> tuple[SyncPlan, list[ResourceResult]]:
    """Plan and run a whole sync without waiting between waves (the sync operation adds the waits)."""
    plan = plan_sync(comparison, options, resources=resources)
    tasks = [t for t in plan.tasks if t.phase in phases]
    return plan, execute(tasks, client, options)
