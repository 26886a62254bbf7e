"""Fixtures for kube tests: a KubeClient on the sandbox cluster (through its kubeconfig)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import from_kubeconfig


@pytest.fixture
def kube_client(sandbox_kubeconfig: Path, tmp_path: Path) -> Iterator[KubeClient]:
    with KubeClient(from_kubeconfig(sandbox_kubeconfig, "sandbox"), tmp_path / "cache", timeout=5) as client:
        yield client
