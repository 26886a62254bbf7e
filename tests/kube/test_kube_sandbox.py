"""KubeClient against the sandbox cluster over HTTPS: reads, writes, watch, discovery, error mapping."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gitopsd.engine.cluster import ClusterClient
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import ClusterCredentials, from_kubeconfig
from gitopsd.kube.errors import (
    Conflict,
    Forbidden,
    KubeError,
    NotFound,
    ServerError,
    Timeout,
    Unauthorized,
    UnknownKind,
)

NS = "team-a"


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict:
    meta: dict = {"name": name, "namespace": NS}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": dict(data)}


@pytest.fixture
def ns(kube_client: KubeClient) -> str:
    kube_client.server_side_apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return NS


def test_version_discovery_and_private_cache(kube_client: KubeClient, tmp_path: Path) -> None:
    client: ClusterClient = kube_client  # KubeClient satisfies the engine's protocol (checked by mypy)
    assert kube_client.server_version().startswith("v1.")
    assert kube_client.check() == kube_client.server_version()
    info = client.resource_info("apps/v1", "Deployment")
    assert (info.plural, info.namespaced) == ("deployments", True)
    assert client.resource_info("v1", "Namespace").namespaced is False
    assert list((tmp_path / "cache").glob("discovery-*.json")), "discovery cache is per cluster in cache_dir"
    with pytest.raises(UnknownKind, match="does not serve Gadget in example.com/v1"):
        client.resource_info("example.com/v1", "Gadget")


def test_crd_created_later_is_discovered(kube_client: KubeClient) -> None:
    with pytest.raises(UnknownKind):
        kube_client.resource_info("example.com/v1", "Widget")
    kube_client.server_side_apply(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Cluster",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object"}},
                    }
                ],
            },
        }
    )
    info = kube_client.resource_info("example.com/v1", "Widget")
    assert (info.plural, info.namespaced) == ("widgets", False)


def test_crud_list_and_conflicts(kube_client: KubeClient, ns: str) -> None:
    created = kube_client.create(cm("a", {"tier": "web"}, k="1"))
    assert created["metadata"]["uid"]
    kube_client.server_side_apply(cm("b", {"tier": "db"}, k="2"))
    items = kube_client.list("v1", "ConfigMap", ns)
    assert {i["metadata"]["name"] for i in items} >= {"a", "b"}
    assert all(i["apiVersion"] == "v1" and i["kind"] == "ConfigMap" for i in items)
    web = kube_client.list("v1", "ConfigMap", ns, label_selector="tier=web")
    assert [i["metadata"]["name"] for i in web] == ["a"]
    # Replace with a stale resourceVersion is a Conflict.
    stale = dict(cm("a", k="x"))
    stale["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    kube_client.replace(dict(cm("a", k="y"), metadata=dict(stale["metadata"])))
    with pytest.raises(Conflict):
        kube_client.replace(stale)
    # Dry runs change nothing.
    kube_client.server_side_apply(cm("b", {"tier": "db"}, k="dry"), dry_run=True)
    assert kube_client.get("v1", "ConfigMap", "b", ns)["data"] == {"k": "2"}
    # Another manager owning a field: conflict without force, taken with force.
    with pytest.raises(Conflict) as err:
        kube_client.server_side_apply(cm("b", {"tier": "db"}, k="3"), field_manager="someone-else")
    assert "conflict" in str(err.value).lower()
    kube_client.server_side_apply(cm("b", {"tier": "db"}, k="3"), field_manager="someone-else", force=True)
    assert kube_client.get("v1", "ConfigMap", "b", ns)["data"] == {"k": "3"}
    kube_client.delete("v1", "ConfigMap", "a", ns)
    with pytest.raises(NotFound, match="get ConfigMap team-a/a"):
        kube_client.get("v1", "ConfigMap", "a", ns)
    with pytest.raises(NotFound):
        kube_client.server_side_apply(cm("c") | {"metadata": {"name": "c", "namespace": "no-such-ns"}})


def test_watch_streams_events(kube_client: KubeClient, ns: str) -> None:
    rv = kube_client.get("v1", "Namespace", ns)["metadata"]["resourceVersion"]
    events: list[tuple[str, str]] = []

    def consume() -> None:
        for event in kube_client.watch("v1", "ConfigMap", ns, resource_version=rv, timeout_seconds=5):
            if event["object"]["metadata"]["name"] == "kube-root-ca.crt":
                continue  # every namespace gets one, as on a real cluster
            events.append((event["type"], event["object"]["metadata"]["name"]))
            if len(events) == 2:
                return

    thread = threading.Thread(target=consume)
    thread.start()
    kube_client.server_side_apply(cm("w", k="1"))
    kube_client.delete("v1", "ConfigMap", "w", ns)
    thread.join(timeout=10)
    assert events == [("ADDED", "w"), ("DELETED", "w")]


def test_wrong_token_is_unauthorized_and_token_never_shown(sandbox, tmp_path: Path) -> None:
    bad = ClusterCredentials(server=sandbox.url, bearer_token="wrong-token-123", ca_data=sandbox.ca_pem)
    with KubeClient(bad, tmp_path / "c", timeout=5) as client:
        with pytest.raises(Unauthorized) as err:
            client.check()
        with pytest.raises(Unauthorized):
            client.list("v1", "ConfigMap", "default")
    assert "wrong-token-123" not in str(err.value) and sandbox.token not in str(err.value)


def test_untrusted_ca_is_refused(sandbox, sandbox_kubeconfig: Path, tmp_path: Path) -> None:
    creds = from_kubeconfig(sandbox_kubeconfig, "sandbox")
    from dataclasses import replace

    from gitopsd.kube.errors import Unreachable

    with KubeClient(replace(creds, ca_data=b""), tmp_path / "c", timeout=5) as client:
        with pytest.raises(Unreachable, match="TLS error"):
            client.server_version()


@pytest.mark.parametrize(("status", "error"), [(403, Forbidden), (500, ServerError)])
def test_api_errors_carry_the_server_message(
    kube_client: KubeClient, sandbox, ns: str, status: int, error: type[KubeError]
) -> None:
    sandbox.faults.add(
        path_contains="/configmaps", status=status, message=f"configmaps are off limits ({status})", times=1
    )
    with pytest.raises(error) as err:
        kube_client.list("v1", "ConfigMap", ns)
    assert f"configmaps are off limits ({status})" in str(err.value)
    assert err.value.status == status
    # The next call is unaffected. It may see the namespace's kube-root-ca.crt (as on a real cluster, the
    # namespace controller adds it a moment after the namespace appears) and nothing else.
    assert {o["metadata"]["name"] for o in kube_client.list("v1", "ConfigMap", ns)} <= {"kube-root-ca.crt"}


def test_slow_server_times_out(sandbox, sandbox_kubeconfig: Path, tmp_path: Path) -> None:
    with KubeClient(from_kubeconfig(sandbox_kubeconfig, "sandbox"), tmp_path / "c", timeout=0.5) as client:
        client.resource_info("v1", "ConfigMap")
        sandbox.faults.add(path_contains="/configmaps", status=None, delay=2.0, times=1)
        with pytest.raises(Timeout, match="did not answer in time"):
            client.list("v1", "ConfigMap", "default")
