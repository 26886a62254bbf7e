"""Prometheus metrics of the daemon, served at GET /metrics by gitopsd/server/http.py.

A dedicated registry (never the process-global one). State that the daemon already keeps
(applications' sync and health, git and render counters) is read at scrape time by a
collector, so nothing can drift out of step; events the daemon does not otherwise count
(webhook requests, sync operations, reconciliations) are counters and histograms fed by
observers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.kube.transport import request_counts
from gitopsd.sources.gitcache import RepoStats
from gitopsd.sources.render import RenderCounters

log = logging.getLogger("gitopsd.metrics")

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Every state is exported (0 or 1) so a query for one state needs no absent() tricks.
SYNC_STATUSES = ("Synced", "OutOfSync", "Unknown")
HEALTH_STATUSES = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")

# Syncs range from a second (a ConfigMap) to many minutes (waves waiting for health).
_SYNC_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass(frozen=True)
class Sources:
    """Where the scrape-time collector reads from (callables, so tests and wiring stay loose)."""

    apps: Callable[[], Iterable[apppb.Application]]
    git_stats: Callable[[], dict[str, RepoStats]]
    render_counters: Callable[[], RenderCounters]
    # Failed logins since the process started (the accounts service counts them).
    login_failures: Callable[[], int] = lambda: 0


class _StateCollector(Collector):
    def __init__(self, sources: Sources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "gitopsd_kube_requests",
            "Requests sent to the clusters' API servers, by HTTP method (retries included).",
            labels=["verb"],
        )
        for verb, count in sorted(request_counts().items()):
            requests.add_metric([verb], count)
        yield requests
        yield from self._apps()
        yield from self._git()
        yield from self._renders()
        yield CounterMetricFamily(
            "gitopsd_login_failures",
            "Failed login attempts (wrong password, unknown user, locked out, or not recordable).",
            value=self.sources.login_failures(),
        )

    def _apps(self) -> Iterator[Metric]:
        sync = GaugeMetricFamily(
            "gitopsd_app_sync_status",
            "Sync status of each application (1 for its current status, 0 for the others).",
            labels=["name", "project", "status"],
        )
        health = GaugeMetricFamily(
            "gitopsd_app_health_status",
            "Health status of each application (1 for its current status, 0 for the others).",
            labels=["name", "project", "status"],
        )
        try:
            apps = list(self.sources.apps())
        except Exception:  # a scrape during shutdown: report what we can, never a 500 storm
            log.debug("metrics: applications unavailable", exc_info=True)
            apps = []
        for app in apps:
            name, project = app.metadata.name, app.spec.project or "default"
            current_sync = app.status.sync.status or "Unknown"
            current_health = app.status.health.status or "Unknown"
            for status in (*SYNC_STATUSES, *([current_sync] if current_sync not in SYNC_STATUSES else [])):
                sync.add_metric([name, project, status], 1.0 if status == current_sync else 0.0)
            extra = [current_health] if current_health not in HEALTH_STATUSES else []
            for status in (*HEALTH_STATUSES, *extra):
                health.add_metric([name, project, status], 1.0 if status == current_health else 0.0)
        yield sync
        yield health

    def _git(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "gitopsd_git_requests",
            "Git requests to remote repositories by kind (ls-remote, fetch; a clone is also a fetch).",
            labels=["repo", "kind"],
        )
        for repo, stats in sorted(self.sources.git_stats().items()):
            family.add_metric([repo, "ls-remote"], stats.ls_remote)
            family.add_metric([repo, "fetch"], stats.fetches)
        yield family

    def _renders(self) -> Iterator[Metric]:
        c = self.sources.render_counters()
        yield CounterMetricFamily(
            "gitopsd_renders",
            "Manifests rendered (render cache misses: a checkout and a render).",
            value=c.renders,
        )
        yield CounterMetricFamily(
            "gitopsd_render_cache_hits", "Renders answered from the render cache.", value=c.cache_hits
        )
        yield CounterMetricFamily("gitopsd_render_errors", "Renders that failed.", value=c.errors)


class Metrics:
    """The daemon's registry with its event counters; `render()` is the /metrics body."""

    def __init__(self, sources: Sources | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.webhook_requests = Counter(
            "gitopsd_webhook_requests",
            "Webhook requests by provider and result (refreshed, ignored, unauthorized, malformed, ...).",
            ["provider", "result"],
            registry=self.registry,
        )
        self.sync_operations = Counter(
            "gitopsd_app_sync",
            "Sync operations finished, by application and final phase.",
            ["name", "phase"],
            registry=self.registry,
        )
        self.sync_duration = Histogram(
            "gitopsd_app_sync_duration_seconds",
            "Duration of sync operations by final phase.",
            ["phase"],
            buckets=_SYNC_BUCKETS,
            registry=self.registry,
        )
        self.reconcile_duration = Histogram(
            "gitopsd_app_reconcile_seconds",
            "Duration of application reconciliations (render and compare); _count is their number.",
            buckets=_RECONCILE_BUCKETS,
            registry=self.registry,
        )
        self.reconciliations = Counter(
            "gitopsd_app_reconcile",
            "Reconciliations (render and compare) by application.",
            ["name"],
            registry=self.registry,
        )
        if sources is not None:
            self.registry.register(_StateCollector(sources))

    # Observers, shaped for AppController.on_reconciled / on_operation_finished.

    def observe_reconcile(self, app: apppb.Application, seconds: float) -> None:
        self.reconciliations.labels(app.metadata.name).inc()
        self.reconcile_duration.observe(seconds)

    def observe_operation(self, name: str, phase: str, seconds: float) -> None:
        self.sync_operations.labels(name, phase or "Unknown").inc()
        self.sync_duration.labels(phase or "Unknown").observe(seconds)

    def webhook(self, provider: str, result: str) -> None:
        self.webhook_requests.labels(provider, result).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
