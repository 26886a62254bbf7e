"""The engine's deletion paths against the sandbox: a 404 on delete means deleted, an object still held by
a finalizer is reported as being deleted (not pruned), and a re-create waits until the old object is gone."""

from __future__ import annotations

import threading
import time
from typing import Any

from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.sync import PRUNE, ResourceResult, SyncOptions, SyncTask, execute
from gitopsd.kube.client import KubeClient

NS = "default"


def _cm(name: str, finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def _key(name: str) -> ResourceKey:
    return ResourceKey("", "ConfigMap", NS, name, "v1")


def test_prune_of_an_object_already_gone_is_pruned_not_failed(kube_client: KubeClient) -> None:
    live = kube_client.create(_cm("vanished"))
    kube_client.delete("v1", "ConfigMap", "vanished", NS)  # somebody else deleted it after the compare
    [result] = execute([SyncTask(_key("vanished"), PRUNE, live=live)], kube_client, SyncOptions(prune=True))
    assert not result.failed and result.status == "Pruned", result.message


def test_prune_of_a_held_object_reports_it_as_pending_deletion(kube_client: KubeClient) -> None:
    live = kube_client.create(_cm("held", ["example.com/hold"]))
    [result] = execute([SyncTask(_key("held"), PRUNE, live=live)], kube_client, SyncOptions(prune=True))
    assert result.action == "deleting"
    assert result.message == "pending deletion (waiting for finalizers: example.com/hold)"
    assert kube_client.get("v1", "ConfigMap", "held", NS)["metadata"]["deletionTimestamp"]


def test_force_recreate_waits_for_the_old_object(kube_client: KubeClient) -> None:
    old = kube_client.create({**_cm("frozen", ["example.com/hold"]), "immutable": True})
    desired = {**_cm("frozen"), "immutable": True, "data": {"k": "new"}}
    interim: list[ResourceResult] = []

    # Another party (a controller; here a thread) removes the finalizer while the engine waits.
    def release_by_patch() -> None:
        time.sleep(1.0)
        live = kube_client.get("v1", "ConfigMap", "frozen", NS)
        kube_client.replace({**live, "metadata": {**live["metadata"], "finalizers": []}})

    releaser = threading.Thread(target=release_by_patch)
    releaser.start()
    task = SyncTask(_key("frozen"), "apply", obj=desired, live=old)
    [result] = execute([task], kube_client, SyncOptions(force=True), progress=interim.append)
    releaser.join()
    assert not result.failed, result.message
    assert interim and "waiting for finalizers: example.com/hold" in interim[0].message
    now = kube_client.get("v1", "ConfigMap", "frozen", NS)
    assert now["metadata"]["uid"] != old["metadata"]["uid"] and now["data"] == {"k": "new"}
