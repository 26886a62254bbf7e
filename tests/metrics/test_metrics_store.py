"""/metrics over the real store: a deleted application's counters go with its DELETED event (the one
every deletion sends: the API, an ApplicationSet, an app of apps), a count that comes after the
deletion does not bring them back, and a scrape over a closed store (shutdown) still answers."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from reconcile.apps import application

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.app_states import app_states
from gitopsd.app.applications import Applications
from gitopsd.app.events import EventBus
from gitopsd.protojson import parse_document
from gitopsd.server.config import WebhookConfig
from gitopsd.server.http import HttpHandlers, HttpServer
from gitopsd.server.metrics import Metrics, Sources
from gitopsd.sources.render import RenderCounters
from gitopsd.store import Store, StoreError


def _app(name: str) -> apppb.Application:
    return parse_document(application(name, "https://example.com/repo.git", name, "web"), apppb.Application())


def _series(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    """(sample, name label, phase label) -> value, of the samples that name an application."""
    return {
        (s.name, s.labels["name"], s.labels.get("phase", "")): s.value
        for f in text_string_to_metric_families(metrics.render().decode())
        for s in f.samples
        if "name" in s.labels
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open_data_dir(tmp_path)


def _wired(store: Store) -> tuple[Applications, Metrics]:
    events = EventBus()
    apps = Applications(store, events)
    metrics = Metrics(Sources(lambda: app_states(store), dict, RenderCounters), app_exists=apps.exists)
    events.listeners.append(metrics.observe_event)  # as gitopsd/server/app_layer.py wires it
    return apps, metrics


def test_a_deleted_applications_counters_go_and_a_new_one_of_its_name_starts_from_zero(store: Store) -> None:
    apps, metrics = _wired(store)
    for name in ("web", "stays"):
        app = apps.create(_app(name))
        metrics.observe_reconcile(app, 0.1)
        metrics.observe_reconcile(app, 0.1)
        metrics.observe_operation(name, "Succeeded", 1.0)
    before = _series(metrics)
    assert before[("gitopsd_app_reconcile_total", "web", "")] == 2
    assert before[("gitopsd_app_sync_total", "web", "Succeeded")] == 1
    created = before[("gitopsd_app_reconcile_created", "web", "")]

    # What the API's Delete, an ApplicationSet and an app of apps all call.
    apps.delete("web")
    after = _series(metrics)
    assert not [k for k in after if k[1] == "web"]
    assert {k: v for k, v in after.items() if k[1] == "stays"} == {
        k: v for k, v in before.items() if k[1] == "stays"
    }

    # A sync stopped by the deletion ends after it: its count does not bring the series back.
    metrics.observe_operation("web", "Failed", 2.0)
    assert not [k for k in _series(metrics) if k[1] == "web"]

    again = apps.create(_app("web"))
    metrics.observe_reconcile(again, 0.1)
    fresh = _series(metrics)
    assert fresh[("gitopsd_app_reconcile_total", "web", "")] == 1
    assert fresh[("gitopsd_app_reconcile_created", "web", "")] >= created
    assert ("gitopsd_app_sync_total", "web", "Succeeded") not in fresh
    # The sync duration histogram is by phase only: it keeps every sync.
    assert "gitopsd_app_sync_duration_seconds_count" in metrics.render().decode()
    store.close()


def test_a_scrape_over_a_closed_store_answers_without_the_application_states(store: Store) -> None:
    apps, metrics = _wired(store)
    app = apps.create(_app("web"))
    metrics.observe_reconcile(app, 0.1)
    store.close()

    # The store's read fails with a clear error inside the scrape's try, as the pages are read.
    with pytest.raises(StoreError, match="is closed"):
        next(app_states(store))
    # A count that starts a series asks whether its application exists: over a closed store it keeps it.
    metrics.observe_operation("web", "Succeeded", 1.0)
    text = metrics.render().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["gitopsd_app_sync_status"].samples == []
    assert families["gitopsd_app_health_status"].samples == []
    assert [s.value for s in families["gitopsd_app_reconcile"].samples if s.name.endswith("_total")] == [1]
    assert [s.value for s in families["gitopsd_app_sync"].samples if s.name.endswith("_total")] == [1]

    server = HttpServer(
        "127.0.0.1:0", HttpHandlers(WebhookConfig(), metrics, lambda: [], lambda _name: None, lambda _a, _h: None)
    )
    server.start()
    try:
        host, _, port = server.address.rpartition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            assert resp.status == 200
            assert 'gitopsd_app_reconcile_total{name="web"} 1.0' in resp.read().decode()
        finally:
            conn.close()
    finally:
        server.stop()
