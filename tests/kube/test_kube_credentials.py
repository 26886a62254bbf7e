"""Credentials from kubeconfig contexts, and secrets never shown."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from gitopsd.kube.credentials import ClusterCredentials, KubeconfigError, from_kubeconfig

TOKEN = "s3cr3t-token-value"
CA = b"-----BEGIN CERTIFICATE-----\nMIIca\n-----END CERTIFICATE-----\n"
CERT = b"-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----\n"
KEY = b"-----BEGIN PRIVATE KEY-----\nMIIkey\n-----END PRIVATE KEY-----\n"


def write(tmp_path: Path, config: dict) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def base_config() -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "token-ctx",
        "clusters": [
            {
                "name": "c1",
                "cluster": {
                    "server": "https://10.0.0.1:6443/",
                    "certificate-authority-data": b64(CA),
                    "tls-server-name": "kube.local",
                },
            },
            {
                "name": "c2",
                "cluster": {
                    "server": "https://10.0.0.2:6443",
                    "certificate-authority": "ca.pem",
                    "insecure-skip-tls-verify": True,
                },
            },
        ],
        "users": [
            {"name": "tok", "user": {"token": TOKEN}},
            {
                "name": "cert-inline",
                "user": {"client-certificate-data": b64(CERT), "client-key-data": b64(KEY)},
            },
            {"name": "cert-files", "user": {"client-certificate": "client.crt", "client-key": "client.key"}},
            {"name": "exec", "user": {"exec": {"command": "aws"}}},
        ],
        "contexts": [
            {"name": "token-ctx", "context": {"cluster": "c1", "user": "tok"}},
            {"name": "cert-ctx", "context": {"cluster": "c1", "user": "cert-inline"}},
            {"name": "files-ctx", "context": {"cluster": "c2", "user": "cert-files"}},
            {"name": "exec-ctx", "context": {"cluster": "c1", "user": "exec"}},
            {"name": "broken-ctx", "context": {"cluster": "nope", "user": "tok"}},
        ],
    }


def test_token_context_and_current_context(tmp_path: Path) -> None:
    path = write(tmp_path, base_config())
    creds = from_kubeconfig(path)
    assert creds == ClusterCredentials(
        server="https://10.0.0.1:6443", bearer_token=TOKEN, ca_data=CA, server_name="kube.local"
    )
    assert from_kubeconfig(path, "token-ctx") == creds


def test_client_certificate_inline_and_files(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(CA)
    (tmp_path / "client.crt").write_bytes(CERT)
    (tmp_path / "client.key").write_bytes(KEY)
    path = write(tmp_path, base_config())
    inline = from_kubeconfig(path, "cert-ctx")
    assert (inline.cert_data, inline.key_data, inline.bearer_token) == (CERT, KEY, "")
    files = from_kubeconfig(path, "files-ctx")
    assert (files.ca_data, files.cert_data, files.key_data, files.insecure) == (CA, CERT, KEY, True)


def test_repr_hides_every_secret(tmp_path: Path) -> None:
    creds = ClusterCredentials(
        server="https://k",
        bearer_token=TOKEN,
        ca_data=CA,
        cert_data=CERT,
        key_data=KEY,
        username="u",
        password="pw-123",
    )
    for text in (repr(creds), str(creds), f"{creds}"):
        assert TOKEN not in text and "MIIkey" not in text and "pw-123" not in text
        assert "https://k" in text and "<hidden>" in text


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("missing-ctx", "no context named 'missing-ctx'"),
        ("broken-ctx", "no cluster named 'nope'"),
        ("exec-ctx", "exec or auth-provider plugin"),
    ],
)
def test_bad_contexts_are_named(tmp_path: Path, context: str, message: str) -> None:
    path = write(tmp_path, base_config())
    with pytest.raises(KubeconfigError, match=message):
        from_kubeconfig(path, context)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match="cannot read kubeconfig"):
        from_kubeconfig(tmp_path / "absent")
    bad = tmp_path / "bad"
    bad.write_text("{{{ not yaml")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        from_kubeconfig(bad)
    path = write(tmp_path, base_config())
    with pytest.raises(KubeconfigError, match="cannot read certificate-authority file"):
        from_kubeconfig(path, "files-ctx")
    config = base_config()
    config["users"][0]["user"] = {"client-certificate-data": "%%%not-base64%%%"}
    with pytest.raises(KubeconfigError, match="client-certificate-data is not valid base64"):
        from_kubeconfig(write(tmp_path, config), "token-ctx")
