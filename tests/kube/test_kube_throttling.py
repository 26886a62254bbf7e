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
