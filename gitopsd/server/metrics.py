"""Prometheus metrics of the daemon, served at GET /metrics by gitopsd/server/http.py.

A dedicated registry (never the process-global one). State that the daemon already keeps
(applications' sync and health, git and render counters) is read at scrape time by a
collector, so nothing can drift out of step; events the daemon does not otherwise count
(webhook requests, sync operations, reconciliations) are counters and histograms fed by
observers. The families with a series per application are written as text by
gitopsd/server/metrics_apps.py, so that a scrape of thousands costs little memory; an application's
counters are dropped when it is deleted (the event bus's DELETED event, which every deletion sends),
so applications created and deleted by the thousand do not stay in every scrape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.app_states import AppState
from gitopsd.kube.transport import request_counts
from gitopsd.logs import fields
from gitopsd.server.metrics_apps import LabelledCounter, state_families
from gitopsd.sources.gitcache import RepoStats
from gitopsd.sources.render import RenderCounters

log = logging.getLogger("gitopsd.metrics")

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Syncs range from a second (a ConfigMap) to many minutes (waves waiting for health).
_SYNC_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
_RECONCILE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass(frozen=True)
class Sources:
    """Where the scrape-time collector reads from (callables, so tests and wiring stay loose)."""

    # Each application's state, as the scrape goes (gitopsd.app.app_states: a page of rows at a time).
    apps: Callable[[], Iterable[AppState]]
    git_stats: Callable[[], dict[str, RepoStats]]
    render_counters: Callable[[], RenderCounters]
    # Failed logins since the process started (the accounts service counts them).
    login_failures: Callable[[], int] = lambda: 0
    # Seconds background work has waited for API calls in flight (gitopsd.app.foreground).
    background_wait: Callable[[], float] = lambda: 0.0


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
        yield from self._git()
        yield from self._renders()
        yield CounterMetricFamily(
            "gitopsd_login_failures",
            "Failed login attempts (wrong password, unknown user, locked out, or not recordable).",
            value=self.sources.login_failures(),
        )
        yield CounterMetricFamily(
            "gitopsd_background_wait_seconds",
            "Seconds background work (reconcile refreshes, sync operations) waited for API calls in"
            " flight to end before it started (API calls go first, for a bounded time).",
            value=self.sources.background_wait(),
        )

    def _git(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "gitopsd_git_requests",
            "Git requests to remote repositories by kind (ls-remote, fetch; a clone is also a fetch).",
            labels=["repo", "kind"],
        )
        # Not request kinds: a clone's fetch is already counted, and a diff asks no remote.
        clones = CounterMetricFamily(
            "gitopsd_git_clones",
            "Clones of remote repositories (each one's fetch is also in gitopsd_git_requests).",
            labels=["repo"],
        )
        diffs = CounterMetricFamily(
            "gitopsd_git_diffs",
            "Local `git diff` runs between two commits: what a new commit changed, to reuse a render"
            " (a pair already compared is answered from memory, not counted).",
            labels=["repo"],
        )
        for repo, stats in sorted(self.sources.git_stats().items()):
            family.add_metric([repo, "ls-remote"], stats.ls_remote)
            family.add_metric([repo, "fetch"], stats.fetches)
            clones.add_metric([repo], stats.clones)
            diffs.add_metric([repo], stats.diffs)
        yield family
        yield clones
        yield diffs

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

    def __init__(self, sources: Sources | None = None, app_exists: Callable[[str], bool] | None = None) -> None:
        """app_exists: whether an application is still there, so that a reconciliation or sync
        observed after its application was deleted does not bring its series back."""
        self.registry = CollectorRegistry(auto_describe=False)
        self.webhook_requests = Counter(
            "gitopsd_webhook_requests",
            "Webhook requests by provider and result (refreshed, ignored, unauthorized, malformed, ...).",
            ["provider", "result"],
            registry=self.registry,
        )
        # Per application: numbers, not prometheus_client children (gitopsd/server/metrics_apps.py).
        self.sync_operations = LabelledCounter(
            "gitopsd_app_sync", "Sync operations finished, by application and final phase.", ("name", "phase")
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
        self.reconciliations = LabelledCounter(
            "gitopsd_app_reconcile", "Reconciliations (render and compare) by application.", ("name",)
        )
        self.sources = sources
        self._app_exists = app_exists
        if sources is not None:
            self.registry.register(_StateCollector(sources))

    # Observers, shaped for AppController.on_reconciled / on_operation_finished.

    def observe_reconcile(self, app: apppb.Application, seconds: float) -> None:
        if self.reconciliations.inc(app.metadata.name):
            self._forget_if_deleted(app.metadata.name)
        self.reconcile_duration.observe(seconds)

    def observe_operation(self, name: str, phase: str, seconds: float) -> None:
        if self.sync_operations.inc(name, phase or "Unknown"):
            self._forget_if_deleted(name)
        self.sync_duration.labels(phase or "Unknown").observe(seconds)

    def observe_event(self, event: apppb.ApplicationEvent) -> None:
        """Shaped for EventBus.listeners: a deleted application's series go with it."""
        if event.type == "DELETED":
            self.forget(event.application.metadata.name)

    def forget(self, name: str) -> None:
        """Drops the per-application counters of `name`: /metrics stops naming it."""
        self.sync_operations.forget(name)
        self.reconciliations.forget(name)

    def _forget_if_deleted(self, name: str) -> None:
        """After a count that started a series: a sync stopped by the deletion ends after it, and a
        reconciliation may end just after, so a count can come after the DELETED event's forget()
        and would then be kept for good. Asked after the count: either the deletion came first and
        this sees it, or the series was there before the event's forget(), which drops it. Counts of
        a series already there need no asking (one store read per new series, not per count)."""
        if self._app_exists is None:
            return
        try:
            gone = not self._app_exists(name)
        except Exception:  # the store closed under a late observer (shutdown): keep the series
            log.debug("metrics: cannot tell whether the application exists", extra=fields(app=name), exc_info=True)
            return
        if gone:
            self.forget(name)

    def webhook(self, provider: str, result: str) -> None:
        self.webhook_requests.labels(provider, result).inc()

    def render(self) -> bytes:
        """The /metrics body: prometheus_client's families, then the per-application ones."""
        parts = [generate_latest(self.registry).decode()]
        parts += [self.sync_operations.text(), self.reconciliations.text()]
        if self.sources is not None:
            try:
                parts.append(state_families(self.sources.apps()))
            except Exception:  # a scrape during shutdown: report what we can, never a 500 storm
                log.debug("metrics: applications unavailable", exc_info=True)
                parts.append(state_families(()))
        return "".join(parts).encode()
