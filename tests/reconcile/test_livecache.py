"""The watch-fed live-state cache against the sandbox cluster over HTTPS: comparisons read it instead of
listing, it follows changes made by others, it knows at once what gitopsd itself wrote, and it falls back
to listing when it cannot watch a kind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.engine import SyncOptions, compare_app, sync_app
from gitopsd.engine.tracking import TRACKING_ANNOTATION
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import from_kubeconfig

NS = "shop"


def cm(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": dict(data) or {"k": "v"},
    }


def eventually(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
def client(sandbox_kubeconfig: Path, tmp_path: Path) -> Iterator[CachedKubeClient]:
    creds = from_kubeconfig(sandbox_kubeconfig, "sandbox")
    with CachedKubeClient(creds, tmp_path / "cache", timeout=5) as c:
        yield c


def sync(client: CachedKubeClient, app: str, manifests: list[dict[str, Any]], **opts: Any):  # type: ignore[no-untyped-def]
    comparison = compare_app(client, manifests, app=app, namespace=NS)
    _, results = sync_app(client, comparison.result, SyncOptions(create_namespace=True, namespace=NS, **opts))
    assert not [r for r in results if r.failed], results
    return comparison


def test_compares_read_the_cache_and_see_their_own_writes_at_once(client: CachedKubeClient) -> None:
    first = sync(client, "a", [cm("one"), cm("two")])
    assert first.result.status == "OutOfSync"
    # Right after the sync, without waiting for any watch event, the comparison sees what was applied.
    again = compare_app(client, [cm("one"), cm("two")], app="a", namespace=NS)
    assert again.result.status == "Synced", again.result.reason
    assert again.live.requests == 0  # no list: answered from memory
    stats = client.cache.stats()
    assert stats.lists == 1 and stats.lookups >= 2


def test_changes_by_others_are_seen_and_reported_to_listeners(client: CachedKubeClient, kubectl) -> None:
    sync(client, "a", [cm("one", color="blue")])
    seen: list[tuple[str, str]] = []
    got = threading.Event()

    def listener(server: str, event_type: str, obj: dict[str, Any]) -> None:
        # Only this test's object: the new namespace also gets its kube-root-ca.crt from the cluster's
        # own controller, whenever that lands (a real change by someone else, not this test's).
        if obj["metadata"]["name"] != "one":
            return
        seen.append((event_type, obj["metadata"]["name"]))
        got.set()

    client.cache.add_listener(listener)
    # gitopsd's own write is not reported back as a change.
    sync(client, "a", [cm("one", color="green")])
    time.sleep(0.5)
    assert seen == []

    done = kubectl("-n", NS, "patch", "configmap", "one", "-p", '{"data":{"color":"red"}}')
    assert done.returncode == 0, done.stderr
    assert got.wait(10)
    assert seen[0] == ("MODIFIED", "one")
    drift = eventually(
        lambda: (
            (c := compare_app(client, [cm("one", color="green")], app="a", namespace=NS)).result.status
            == "OutOfSync"
            and c
        )
    )
    assert drift.result.resources[0].message == "data.color red → green"
    assert drift.live.requests == 0

    assert kubectl("-n", NS, "delete", "configmap", "one").returncode == 0
    missing = eventually(
        lambda: (
            (c := compare_app(client, [cm("one", color="green")], app="a", namespace=NS))
            .result.resources[0]
            .status
            == "Missing"
            and c
        )
    )
    assert missing.live.requests == 0
    assert ("DELETED", "one") in seen


def test_objects_of_an_app_found_by_tracking_id_for_pruning(client: CachedKubeClient) -> None:
    sync(client, "a", [cm("keep"), cm("old")])
    sync(client, "b", [cm("theirs")])
    comparison = compare_app(client, [cm("keep")], app="a", namespace=NS)
    by_name = {r.key.name: r.status for r in comparison.result.resources}
    assert by_name == {"keep": "Synced", "old": "Extraneous"}  # b's object is not a's business
    sync(client, "a", [cm("keep")], prune=True)
    after = compare_app(client, [cm("keep")], app="a", namespace=NS)
    assert {r.key.name for r in after.result.resources} == {"keep"}
    live = client.get("v1", "ConfigMap", "theirs", NS)
    assert live["metadata"]["annotations"][TRACKING_ANNOTATION].startswith("b:")


def test_an_expired_watch_lists_again_and_reports_what_changed_meanwhile(
    client: CachedKubeClient, sandbox
) -> None:
    sync(client, "a", [cm("one", color="blue")])
    events: list[tuple[str, str]] = []
    client.cache.add_listener(lambda server, t, obj: events.append((t, obj["metadata"]["name"])))
    # The next watch requests answer 410 Expired: the cache must list again to catch up.
    sandbox.faults.add(
        path_contains="watch=true", status=410, message="too old resource version", times=2, method="GET"
    )
    sandbox.store.close_watchers()  # the API server ends the running watch
    patched = cm("one", color="red")
    patched["metadata"]["namespace"] = NS
    KubeClient.server_side_apply(client, patched, field_manager="someone-else", force=True)
    eventually(lambda: client.cache.stats().lists >= 2)
    comparison = eventually(
        lambda: (
            (c := compare_app(client, [cm("one", color="blue")], app="a", namespace=NS)).result.status
            == "OutOfSync"
            and c
        )
    )
    assert comparison.live.requests == 0
    eventually(lambda: ("MODIFIED", "one") in events)


def test_a_kind_that_cannot_be_watched_falls_back_to_listing(client: CachedKubeClient, sandbox) -> None:
    sync(client, "a", [cm("one")])
    sandbox.faults.add(
        path_contains="/secrets", status=403, message="secrets is forbidden", times=None, method="GET"
    )
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"k": "v"}}
    comparison = compare_app(client, [cm("one"), secret], app="a", namespace=NS)
    by_kind = {r.key.kind: r for r in comparison.result.resources}
    assert by_kind["ConfigMap"].status == "Synced"
    # The error a user needs to see still reaches the comparison, from the fallback list.
    assert by_kind["Secret"].status == "Unknown" and "forbidden" in (by_kind["Secret"].error or "")
    assert comparison.live.requests == 1


def test_a_watch_that_falls_behind_the_servers_window_lists_again(tmp_path: Path) -> None:
    """No injected 410: the sandbox keeps a small event window, as a real watch cache does; a watch
    that reconnects after more changes than that gets the ERROR event and the cache lists again."""
    from gitopsd.sandbox import SandboxCluster

    with SandboxCluster(ready_delay=0.2, watch_cache_size=10) as sb:
        creds = from_kubeconfig(sb.write_kubeconfig(tmp_path / "kubeconfig"), "sandbox")
        with CachedKubeClient(creds, tmp_path / "cache", timeout=5) as c:
            sync(c, "a", [cm("one", color="blue")])
            events: list[tuple[str, str]] = []
            c.cache.add_listener(lambda server, t, obj: events.append((t, obj["metadata"]["name"])))
            lists = c.cache.stats().lists
            # Hold the next watch request while more than the window changes.
            fault = sb.faults.add(path_contains="watch=true", status=None, delay=2.0, times=1, method="GET")
            sb.store.close_watchers()
            eventually(lambda: fault.times == 0)
            patched = cm("one", color="red")
            patched["metadata"]["namespace"] = NS
            KubeClient.server_side_apply(c, patched, field_manager="someone-else", force=True)
            for n in range(12):
                other = cm("noise", n=str(n))
                other["metadata"]["namespace"] = NS
                KubeClient.server_side_apply(c, other, field_manager="someone-else", force=True)
            eventually(lambda: c.cache.stats().lists > lists)
            eventually(lambda: ("MODIFIED", "one") in events)
