"""The live-state cache never keeps an object the cluster no longer has, whatever order the watch's
events, the answers to gitopsd's writes and lists arrive in.

The order is driven explicitly: the store of one kind is fed every permutation of the same news, and the
cache of a real client against the sandbox gets a DELETE's answer only after its watch has already
reported the deletion (the race that left a deleted Service ``Synced``/``Healthy`` for good)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.livestore import KindStore
from gitopsd.engine import SyncOptions, compare_app, sync_app
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import from_kubeconfig

NS = "shop"


def svc(name: str, rv: int | None = None, **meta: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, **meta}
    if rv is not None:
        metadata["namespace"] = NS
        metadata["resourceVersion"] = str(rv)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def eventually(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


# -- the store of one kind, every order --------------------------------------------------------------

KEY = (NS, "web")


def _apply(store: KindStore, step: tuple[str, dict[str, Any]]) -> None:
    what, obj = step
    if what == "event-deleted":
        store.delete(KEY, int(obj["metadata"]["resourceVersion"]))
    elif what == "answer-gone":
        store.delete(KEY, int(obj["metadata"]["resourceVersion"]))
    else:  # an ADDED/MODIFIED event, an apply's answer, or a terminating object: all are puts
        store.put(obj)


@pytest.mark.parametrize(
    "news",
    [
        # The sandbox answers a DELETE with the object as it was (rv 5); the watch says DELETED at 6.
        [("event-deleted", svc("web", 6)), ("answer-gone", svc("web", 5)), ("put", svc("web", 5))],
        # A real server's answer carries the deletion's own version, as the DELETED event does.
        [("event-deleted", svc("web", 6)), ("answer-gone", svc("web", 6)), ("put", svc("web", 4))],
        # Finalizers: the answer shows it terminating (rv 6), the controller's removal is DELETED at 7.
        [
            ("put", svc("web", 6, deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["example.com/x"])),
            ("event-deleted", svc("web", 7)),
            ("put", svc("web", 5)),
        ],
    ],
    ids=["sandbox-answer", "real-answer", "finalizers"],
)
def test_a_deleted_object_stays_deleted_in_every_order(news: list[tuple[str, dict[str, Any]]]) -> None:
    for order in itertools.permutations(news):
        store = KindStore()
        store.put(svc("web", 5))
        for step in order:
            _apply(store, step)
        assert store.get(KEY) is None, [s[0] for s in order]
        # Created again afterwards: a newer version is news again.
        assert store.put(svc("web", 9)) and store.get(KEY) is not None


def test_a_terminating_object_is_kept_until_its_deletion_and_a_list_is_the_truth_up_to_its_version() -> None:
    store = KindStore()
    store.put(svc("web", 5))
    assert store.put(svc("web", 6, deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["example.com/x"]))
    assert store.get(KEY)["metadata"]["deletionTimestamp"]  # type: ignore[index]
    # A list at 10 without it: it is gone; an answer older than the list does not bring it back.
    changes = store.replace([svc("other", 8)], "10")
    assert ("DELETED", "web") in [(t, o["metadata"]["name"]) for t, o in changes]
    assert not store.put(svc("web", 7)) and store.get(KEY) is None
    # Something written after the list was taken (version above it) is not dropped by that list.
    assert store.put(svc("late", 12))
    store.replace([svc("other", 8)], "10")
    assert store.get((NS, "late")) is not None


# -- the cache of a client against the sandbox ----------------------------------------------------------


@pytest.fixture
def client(sandbox_kubeconfig: Path, tmp_path: Path) -> Iterator[CachedKubeClient]:
    creds = from_kubeconfig(sandbox_kubeconfig, "sandbox")
    with CachedKubeClient(creds, tmp_path / "cache", timeout=5) as c:
        yield c


def sync(client: CachedKubeClient, app: str, manifests: list[dict[str, Any]], **opts: Any) -> Any:
    comparison = compare_app(client, manifests, app=app, namespace=NS)
    _, results = sync_app(client, comparison.result, SyncOptions(create_namespace=True, namespace=NS, **opts))
    assert not [r for r in results if r.failed], results
    return comparison


def cached_names(client: CachedKubeClient) -> set[str]:
    found = client.cache.lookup("v1", "Service", NS, ["web"], "a") or []
    return {o["metadata"]["name"] for o in found}


def test_a_delete_answer_arriving_after_the_watchs_deleted_event_does_not_bring_the_object_back(
    client: CachedKubeClient,
) -> None:
    sync(client, "a", [svc("web")])
    assert cached_names(client) == {"web"}
    # The DELETE goes to the server past the cache; the watch reports it first...
    answer = KubeClient.delete(client, "v1", "Service", "web", NS)
    eventually(lambda: cached_names(client) == set())
    # ...and only then does the cache get the answer (the order that lost the race before).
    client.cache.deleted("v1", "Service", "web", NS, answer)
    assert cached_names(client) == set()
    comparison = compare_app(client, [svc("web")], app="a", namespace=NS)
    assert comparison.result.resources[0].status == "Missing"
    assert comparison.live.requests == 0  # answered by the cache, and right
    # The next sync creates it again (it is not skipped as already there).
    sync(client, "a", [svc("web")])
    assert client.get("v1", "Service", "web", NS)["metadata"]["name"] == "web"


def test_a_write_answer_arriving_after_a_deletion_does_not_bring_the_object_back(
    client: CachedKubeClient,
) -> None:
    sync(client, "a", [svc("web")])
    applied = KubeClient.server_side_apply(
        client, {**svc("web"), "metadata": {"name": "web", "namespace": NS}}
    )
    KubeClient.delete(client, "v1", "Service", "web", NS)
    eventually(lambda: cached_names(client) == set())
    client.cache.written(applied)  # the apply's answer, late
    assert cached_names(client) == set()


def test_a_hard_refresh_lists_again_what_the_watch_missed(client: CachedKubeClient, sandbox, kubectl) -> None:  # type: ignore[no-untyped-def]
    sync(client, "a", [svc("web")])
    # The watch is cut and cannot come back for a long while: the deletion below is not seen by it.
    sandbox.faults.add(path_contains="watch=true", status=None, delay=60.0, times=1, method="GET")
    sandbox.store.close_watchers()
    assert kubectl("-n", NS, "delete", "service", "web").returncode == 0
    assert cached_names(client) == {"web"}  # stale until something lists
    client.relist([("v1", "Service")])
    assert cached_names(client) == set()
    comparison = compare_app(client, [svc("web")], app="a", namespace=NS)
    assert comparison.result.resources[0].status == "Missing"


def test_pruning_an_object_someone_else_deleted_meanwhile_counts_as_pruned(
    client: CachedKubeClient, sandbox
) -> None:  # type: ignore[no-untyped-def]
    sync(client, "a", [svc("web"), svc("old")])
    comparison = compare_app(client, [svc("web")], app="a", namespace=NS)
    assert {r.key.name: r.status for r in comparison.result.resources}["old"] == "Extraneous"
    # The watch is held back, so only the prune's own 404 can tell the cache the object is gone.
    sandbox.faults.add(path_contains="watch=true", status=None, delay=60.0, times=1, method="GET")
    sandbox.store.close_watchers()
    KubeClient.delete(client, "v1", "Service", "old", NS)  # gone before the prune gets to it: 404
    assert cached_names(client) == {"web", "old"}  # the cache has not heard of it
    _, results = sync_app(client, comparison.result, SyncOptions(namespace=NS, prune=True))
    by_name = {r.key.name: r for r in results}
    assert not by_name["old"].failed and by_name["old"].status == "Pruned", by_name["old"]
    assert cached_names(client) == {"web"}
