"""KubeClient under API priority and fairness throttling: a 429 with Retry-After is retried after
the time the server asks for (as client-go does), within the request's own timeout; past that
the 429 surfaces as an error carrying the server's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import from_kubeconfig
from gitopsd.kube.errors import KubeError


def test_throttled_request_is_retried_after_retry_after(
    sandbox, sandbox_kubeconfig: Path, tmp_path: Path
) -> None:
    with KubeClient(from_kubeconfig(sandbox_kubeconfig, "sandbox"), tmp_path / "c", timeout=10) as client:
        client.resource_info("v1", "ConfigMap")
        sandbox.faults.add(path_contains="/configmaps", status=429, retry_after=1, times=2)
        client.create(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}}
        )
        assert client.get("v1", "ConfigMap", "cm", "default")["metadata"]["name"] == "cm"


def test_throttling_beyond_the_timeout_is_an_error(sandbox, sandbox_kubeconfig: Path, tmp_path: Path) -> None:
    with KubeClient(from_kubeconfig(sandbox_kubeconfig, "sandbox"), tmp_path / "c", timeout=2) as client:
        client.resource_info("v1", "ConfigMap")
        sandbox.faults.add(path_contains="/configmaps", status=429, retry_after=5, times=None)
        with pytest.raises(KubeError) as err:
            client.list("v1", "ConfigMap", "default")
        assert err.value.status == 429
        assert "Too many requests, please try again later." in str(err.value)


def test_watch_from_a_version_past_the_window_raises_expired(tmp_path: Path) -> None:
    """A real server opens the watch and sends an ERROR event with the 410; the client turns it
    into Expired (its callers list again)."""
    from gitopsd.kube.errors import Expired
    from gitopsd.sandbox import SandboxCluster

    with SandboxCluster(ready_delay=0.2, watch_cache_size=5) as sb:
        cfg = sb.write_kubeconfig(tmp_path / "kubeconfig")
        with KubeClient(from_kubeconfig(cfg, "sandbox"), tmp_path / "c", timeout=10) as client:
            first = client.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "cm-0", "namespace": "default"},
                }
            )
            for n in range(1, 10):
                client.create(
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "metadata": {"name": f"cm-{n}", "namespace": "default"},
                    }
                )
            rv = first["metadata"]["resourceVersion"]
            with pytest.raises(Expired, match="too old resource version"):
                for _ in client.watch("v1", "ConfigMap", "default", resource_version=rv, timeout_seconds=5):
                    pass
