"""Watches: chunked JSON lines through the official client's watch.Watch, resourceVersion semantics."""

from __future__ import annotations

import json
import threading

from kubernetes import client, watch
from sandbox_helpers import configmap


def _collect(core: client.CoreV1Api, out: list[tuple[str, str, str]], count: int, **kwargs) -> watch.Watch:
    w = watch.Watch()

    def run() -> None:
        for ev in w.stream(core.list_namespaced_config_map, "default", timeout_seconds=10, **kwargs):
            out.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("v", "")))
            if len(out) >= count:
                w.stop()
                return

    thread = threading.Thread(target=run)
    thread.start()
    w.thread = thread  # type: ignore[attr-defined]
    return w


def test_watch_from_list_resource_version_sees_changes(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("before", v="0"))
    listed = core.list_namespaced_config_map("default")
    events: list[tuple[str, str, str]] = []
    w = watch.Watch()
    stream = w.stream(
        core.list_namespaced_config_map,
        "default",
        resource_version=listed.metadata.resource_version,
        timeout_seconds=10,
    )
    core.create_namespaced_config_map("default", configmap("cm", v="1"))
    core.patch_namespaced_config_map("cm", "default", {"data": {"v": "2"}})
    core.delete_namespaced_config_map("cm", "default")
    for ev in stream:
        events.append((ev["type"], ev["object"].metadata.name, (ev["object"].data or {}).get("v", "")))
        if len(events) == 3:
            w.stop()
    assert events == [("ADDED", "cm", "1"), ("MODIFIED", "cm", "2"), ("DELETED", "cm", "2")]


def test_watch_without_resource_version_starts_with_current_objects(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("a", v="1"))
    events: list[tuple[str, str, str]] = []
    w = _collect(core, events, 2, label_selector="keep=yes")
    labelled = configmap("b", v="2")
    labelled["metadata"]["labels"] = {"keep": "yes"}
    core.create_namespaced_config_map("default", labelled)
    first = configmap("c", v="3")
    first["metadata"]["labels"] = {"keep": "yes"}
    core.create_namespaced_config_map("default", first)
    w.thread.join(timeout=10)  # type: ignore[attr-defined]
    assert events == [("ADDED", "b", "2"), ("ADDED", "c", "3")]


def test_watch_replays_history_and_old_versions_expire(raw, core: client.CoreV1Api) -> None:
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", configmap("x", v="1"))
    code, _, body = raw(
        "GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={start}&timeoutSeconds=1"
    )
    lines = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert code == 200 and [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "x")]
    code, _, body = raw("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=abc")
    assert code == 400


def test_watch_list_sends_initial_events_then_bookmark(raw, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("x", v="1"))
    code, _, body = raw(
        "GET",
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
        "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1",
    )
    events = [json.loads(line) for line in body.splitlines() if line.strip()]
    # x and kube-root-ca.crt (every namespace has it, as on a real cluster), then the bookmark.
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events[:2]] == [
        ("ADDED", "kube-root-ca.crt"),
        ("ADDED", "x"),
    ]
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_selector_watch_sees_objects_leave_and_enter(raw, core: client.CoreV1Api) -> None:
    start = core.list_namespaced_config_map("default").metadata.resource_version
    cm = configmap("x", v="1")
    cm["metadata"]["labels"] = {"team": "a"}
    core.create_namespaced_config_map("default", cm)
    core.patch_namespaced_config_map("x", "default", {"metadata": {"labels": {"team": "b"}}})
    core.patch_namespaced_config_map("x", "default", {"data": {"v": "2"}})
    core.patch_namespaced_config_map("x", "default", {"metadata": {"labels": {"team": "a"}}})
    code, _, body = raw(
        "GET",
        f"/api/v1/namespaces/default/configmaps?watch=true&labelSelector=team%3Da&resourceVersion={start}&timeoutSeconds=1",
    )
    events = [json.loads(line) for line in body.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["data"]["v"]) for e in events] == [
        ("ADDED", "1"),
        ("DELETED", "1"),
        ("ADDED", "2"),
    ]
