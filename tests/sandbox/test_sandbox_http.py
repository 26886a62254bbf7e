"""The sandbox over HTTPS: TLS with its own CA, bearer tokens, health endpoints, Status errors, faults."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path

import pytest
import urllib3
import yaml
from kubernetes import client, config

from gitopsd.sandbox import SandboxCluster


def test_requests_without_a_valid_token_get_401_status(raw, sandbox: SandboxCluster) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {sandbox.token}"}):
        code, hdrs, body = raw("GET", "/api/v1/namespaces", headers=headers, token=False)
        assert code == 401
        status = json.loads(body)
        assert (status["kind"], status["reason"], status["code"]) == ("Status", "Unauthorized", 401)
        assert sandbox.token not in body.decode()


def test_official_client_with_wrong_token_gets_401(sandbox_kubeconfig: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(sandbox_kubeconfig.read_text())
    data["users"][0]["user"]["token"] = "not-the-token"
    wrong = tmp_path / "wrong-kubeconfig"
    wrong.write_text(yaml.safe_dump(data))
    api = config.new_client_from_config(config_file=str(wrong))
    try:
        with pytest.raises(client.ApiException) as err:
            client.CoreV1Api(api).list_namespace()
        assert err.value.status == 401
    finally:
        api.close()


def test_version_and_health_endpoints(raw) -> None:
    code, _, body = raw("GET", "/version", token=False)
    assert code == 200 and json.loads(body)["major"] == "1"
    for path in ("/healthz", "/livez", "/readyz"):
        code, _, body = raw("GET", path, token=False)
        assert (code, body) == (200, b"ok")


def test_server_certificate_is_signed_by_the_sandbox_ca_only(sandbox: SandboxCluster) -> None:
    trusting = ssl.create_default_context(cadata=sandbox.ca_pem.decode())
    with urllib.request.urlopen(sandbox.url + "/healthz", context=trusting) as resp:  # noqa: S310
        assert resp.read() == b"ok"
    with SandboxCluster() as other:
        stranger = ssl.create_default_context(cadata=other.ca_pem.decode())
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(sandbox.url + "/healthz", context=stranger)  # noqa: S310


def test_unknown_paths_and_bad_bodies_are_status_errors(raw) -> None:
    code, _, body = raw("GET", "/apis/nosuch.io/v1/things")
    assert code == 404 and json.loads(body)["reason"] == "NotFound"
    code, _, body = raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert code == 400 and json.loads(body)["reason"] == "BadRequest"
    code, _, body = raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body=b"[1,2]",
        headers={"Content-Type": "application/json"},
    )
    assert code == 400
    code, _, body = raw(
        "PATCH", "/api/v1/namespaces/default/configmaps/x", body=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert code == 415
    huge = b'{"metadata":{"name":"big"},"data":{"a":"' + b"x" * (4 * 1024 * 1024) + b'"}}'
    code, _, body = raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body=huge,
        headers={"Content-Type": "application/json"},
    )
    assert code == 413


def test_invalid_names_are_422_invalid(core: client.CoreV1Api) -> None:
    body = {"metadata": {"name": "Not_Valid"}, "data": {}}
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("default", body)
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["reason"] == "Invalid" and status["details"]["causes"][0]["field"] == "metadata.name"


def test_fault_injection_answers_matching_requests_then_stops(
    sandbox: SandboxCluster, core: client.CoreV1Api
) -> None:
    sandbox.faults.add(path_contains="configmaps", status=500, message="boom", times=1)
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_config_map("default")
    assert err.value.status == 500 and json.loads(err.value.body)["message"] == "boom"
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == ["kube-root-ca.crt"]
    sandbox.faults.add(path_contains="secrets", status=503, times=None, method="GET")
    for _ in range(2):
        with pytest.raises(client.ApiException) as err:
            core.list_namespaced_secret("default")
        assert err.value.status == 503
    sandbox.faults.clear()
    assert core.list_namespaced_secret("default").items == []


def test_fault_delay_makes_a_client_time_out(sandbox: SandboxCluster, core: client.CoreV1Api) -> None:
    sandbox.faults.add(path_contains="/namespaces/default/configmaps", status=None, delay=2.0, times=None)
    with pytest.raises((urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.MaxRetryError)):
        core.list_namespaced_config_map("default", _request_timeout=0.3)
    sandbox.faults.clear()
    # The delayed request did not block others.
    assert core.read_namespace("default").metadata.name == "default"


def test_stop_ends_open_connections_promptly(sandbox: SandboxCluster, raw) -> None:
    import http.client
    import threading

    ctx = ssl.create_default_context(cadata=sandbox.ca_pem.decode())
    conn = http.client.HTTPSConnection("127.0.0.1", sandbox.port, context=ctx, timeout=10)
    conn.request("GET", "/api/v1/namespaces?watch=true", headers={"Authorization": f"Bearer {sandbox.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    # The four system namespaces arrive as ADDED events first.
    first = [json.loads(resp.readline())["type"] for _ in range(4)]
    assert first == ["ADDED"] * 4
    rest: list[bytes] = []
    reader = threading.Thread(target=lambda: rest.extend(iter(resp.readline, b"")))
    reader.start()
    sandbox.stop()
    reader.join(timeout=5)
    assert not reader.is_alive(), "the watch stayed open after stop()"
    conn.close()
