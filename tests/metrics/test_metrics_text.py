"""The per-application families of /metrics, which gitopsd writes as text itself to keep a scrape of
10,000 applications small: the states come from every application once (a page of rows at a time),
and what a Prometheus server parses is what prometheus_client would have written."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from reconcile.apps import application

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.app_states import AppState, app_states
from gitopsd.app.applications import Applications
from gitopsd.protojson import parse_document
from gitopsd.server.metrics import Metrics, Sources
from gitopsd.server.metrics_apps import LabelledCounter, state_families
from gitopsd.sources.render import RenderCounters
from gitopsd.store import Store

ODD = 'a "quoted" back\\slash\nnewline'


def _app(name: str) -> apppb.Application:
    return parse_document(application(name, "https://example.com/repo.git", name, "web"), apppb.Application())


def _samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def test_every_application_is_read_once_across_pages(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    apps = Applications(store)
    names = [f"app-{i}" for i in range(7)]
    for name in names:
        apps.create(_app(name))
    status = apppb.ApplicationStatus()
    status.sync.status, status.health.status = "Synced", "Degraded"
    apps.set_status("app-3", status)
    states = list(app_states(store, page=3))  # pages of 3, 3 and 1
    store.close()
    assert [s.name for s in states] == sorted(names)
    assert states[3] == AppState("app-3", "default", "Synced", "Degraded")
    assert all(s.sync == "" and s.health == "" for s in states if s.name != "app-3")


def test_states_are_one_series_per_state_and_an_unknown_state_is_added() -> None:
    text = state_families(
        [
            AppState("web", "", "Synced", "Healthy"),
            AppState(ODD, "team", "Weird", ""),
            AppState("x", "p", "", ""),
        ]
    )
    samples = _samples(text)
    sync = {(s[1]["name"], s[1]["status"]): s[2] for s in samples if s[0] == "gitopsd_app_sync_status"}
    health = {(s[1]["name"], s[1]["status"]): s[2] for s in samples if s[0] == "gitopsd_app_health_status"}
    assert sync[("web", "Synced")] == 1 and sync[("web", "OutOfSync")] == 0
    assert sync[(ODD, "Weird")] == 1 and sync[(ODD, "Unknown")] == 0  # the label value survives the quoting
    assert sync[("x", "Unknown")] == 1 and health[("x", "Unknown")] == 1
    assert len([k for k in sync if k[0] == ODD]) == 4 and len([k for k in health if k[0] == "web"]) == 6
    projects = {s[1]["name"]: s[1]["project"] for s in samples}
    assert projects == {"web": "default", ODD: "team", "x": "p"}


def test_a_labelled_counter_reads_as_prometheus_clients_counter() -> None:
    ours = LabelledCounter("gitopsd_app_sync", "Syncs by application\\phase.", ("name", "phase"))
    registry = CollectorRegistry(auto_describe=False)
    theirs = Counter("gitopsd_app_sync", "Syncs by application\\phase.", ["name", "phase"], registry=registry)
    for name, phase in (("web", "Succeeded"), (ODD, "Failed"), ("web", "Succeeded"), ("web", "Error")):
        ours.inc(name, phase)
        theirs.labels(name, phase).inc()

    def totals(text: str) -> list[tuple[str, dict[str, str], float]]:
        return [s for s in _samples(text) if s[0] == "gitopsd_app_sync_total"]

    def created(text: str) -> list[dict[str, str]]:
        return [s[1] for s in _samples(text) if s[0] == "gitopsd_app_sync_created"]

    mine, reference = ours.text(), generate_latest(registry).decode()
    assert totals(mine) == totals(reference)
    assert created(mine) == created(reference)
    assert [line for line in mine.splitlines() if line.startswith("#")] == [
        line for line in reference.splitlines() if line.startswith("#")
    ]


def test_a_failing_state_source_still_gives_a_scrape() -> None:
    def broken() -> list[AppState]:
        raise RuntimeError("store closed")

    metrics = Metrics(Sources(broken, dict, RenderCounters))
    metrics.observe_operation("web", "Succeeded", 1.0)
    samples = _samples(metrics.render().decode())
    assert ("gitopsd_app_sync_total", {"name": "web", "phase": "Succeeded"}, 1.0) in samples
    assert not [s for s in samples if s[0] == "gitopsd_app_sync_status"]
