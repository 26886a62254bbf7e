"""Fixtures for the sandbox tests: official-client handles on the sandbox cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client, config, dynamic

from gitopsd.sandbox import SandboxCluster


@pytest.fixture
def api_client(sandbox_kubeconfig: Path) -> Iterator[client.ApiClient]:
    """An official ApiClient built from the sandbox's kubeconfig (CA-verified HTTPS + token)."""
    api = config.new_client_from_config(config_file=str(sandbox_kubeconfig), context="sandbox")
    try:
        yield api
    finally:
        api.close()


@pytest.fixture
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def dyn(api_client: client.ApiClient, tmp_path: Path) -> dynamic.DynamicClient:
    return dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "discovery.json"))


@pytest.fixture
def raw(sandbox: SandboxCluster) -> Callable[..., tuple[int, dict[str, str], bytes]]:
    """Send one raw HTTPS request to the sandbox (token by default); returns (code, headers, body)."""
    import http.client
    import ssl

    ctx = ssl.create_default_context(cadata=sandbox.ca_pem.decode())

    def send(
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        token: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", sandbox.port, context=ctx, timeout=10)
        hdrs = dict(headers or {})
        if token:
            hdrs.setdefault("Authorization", f"Bearer {sandbox.token}")
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    return send
