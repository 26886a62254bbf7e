"""gitopsd.app.eventlog against a real SQLite store: order, limits, trimming, changed fields."""

from __future__ import annotations

from pathlib import Path

from gitopsd.app.eventlog import MAX_PER_APP, WARNING, EventLog, changed_fields
from gitopsd.store import Store


def test_events_are_listed_oldest_first_per_application_and_trimmed(tmp_path: Path) -> None:
    log = EventLog(Store.open_data_dir(tmp_path))
    for index in range(MAX_PER_APP + 30):
        log.record("web", "ResourceUpdated", f"change {index}")
    log.record("api", "OperationCompleted", "sync to abc failed:\n  line one\n  line two", WARNING)

    web = log.list("web")
    assert len(web) == MAX_PER_APP  # the oldest 30 are gone
    assert [e.message for e in web[:2]] == ["change 30", "change 31"]
    assert web[-1].message == f"change {MAX_PER_APP + 29}"
    assert [e.message for e in log.list("web", limit=2)] == [
        f"change {MAX_PER_APP + 28}",
        f"change {MAX_PER_APP + 29}",
    ]
    (api,) = log.list("api")
    assert (api.type, api.reason, api.message) == (
        "Warning",
        "OperationCompleted",
        "sync to abc failed: line one line two",
    )
    assert api.timestamp
    assert log.list("nobody") == []


def test_long_messages_are_cut(tmp_path: Path) -> None:
    log = EventLog(Store.open_data_dir(tmp_path))
    log.record("web", "ResourceUpdated", "x" * 5000)
    (event,) = log.list("web")
    assert len(event.message) == 1000 and event.message.endswith("…")


def test_changed_fields_name_the_paths_that_differ() -> None:
    old = {
        "spec": {
            "source": {"targetRevision": "main", "helm": {"parameters": [{"name": "a"}]}},
            "project": "x",
        }
    }
    new = {"spec": {"source": {"targetRevision": "v2", "helm": {"parameters": []}}, "project": "x"}}
    assert changed_fields(old, new) == ["spec.source.helm.parameters", "spec.source.targetRevision"]
    assert changed_fields(old, old) == []
    assert changed_fields({"metadata": {}}, {"metadata": {"labels": {"a": "b"}}}) == ["metadata.labels.a"]
    assert changed_fields({"source": {}}, {"source": {"kustomize": {"images": ["x:1"]}}}) == [
        "source.kustomize.images"
    ]
    assert changed_fields({"source": {"kustomize": {"images": ["x:1"]}}}, {"source": {}}) == [
        "source.kustomize.images"
    ]
    many_old = {f"k{i}": i for i in range(10)}
    assert len(changed_fields(many_old, {})) == 5
