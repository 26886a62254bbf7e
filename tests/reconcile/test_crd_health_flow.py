"""Through the daemon against the sandbox: a cert-manager Certificate (its CRD deployed by the same application)
is judged by the built-in check as its controller would report it (the test writes the status, as
cert-manager would): Degraded with cert-manager's message, then Healthy; and a kind with a check from the
config's resource_customizations_dir tree is judged by that script."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.daemon import CLI, DaemonProcess, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, create, status

NS = "certs"


def _crd(group: str, kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


CERTIFICATE = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web-tls"},
    "spec": {
        "secretName": "web-tls",
        "dnsNames": ["web.example.com"],
        "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer"},
    },
}
WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}

WIDGET_HEALTH = """
hs = {status = "Progressing", message = "no phase yet"}
if obj.status ~= nil and obj.status.phase ~= nil then
  hs.status = obj.status.phase == "Up" and "Healthy" or "Degraded"
  hs.message = "phase " .. obj.status.phase .. " of " .. table.getn(obj.status.nodes) .. " nodes"
end
return hs
"""


@pytest.fixture
def env_with_tree(sandbox, sandbox_kubeconfig: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    tree = tmp_path / "resource_customizations" / "example.com" / "Widget"
    tree.mkdir(parents=True)
    (tree / "health.lua").write_text(WIDGET_HEALTH)
    (tree / "actions" / "restart").mkdir(parents=True)
    (tree / "actions" / "restart" / "action.lua").write_text("return obj\n")
    config = tmp_path / "gitopsd.yaml"
    config.write_text(
        yaml.safe_dump({"resource_customizations_dir": str(tmp_path / "resource_customizations")})
    )
    proc = DaemonProcess(
        data_dir=tmp_path / "data",
        log_path=tmp_path / "daemon.log",
        extra_args=["--config", str(config)],
        env={"GITOPSD_KUBECONFIG": str(sandbox_kubeconfig), "GITOPSD_RECONCILE_INTERVAL": "3600"},
    ).start()
    try:
        yield GitOpsEnv(proc, CLI(proc.address, tmp_path), sandbox_kubeconfig)
    finally:
        proc.stop()


def _write_status(kubectl, resource: str, name: str, status_: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    out = kubectl(
        "-n",
        NS,
        "patch",
        resource,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status_}),
    )
    assert out.returncode == 0, out.stderr


def _health(cli: CLI, kind: str) -> tuple[str, str, str]:
    st = status(cli, "certs", refresh=True)
    mine = [r for r in st.get("resources", []) if r.get("kind") == kind]
    assert len(mine) == 1, st.get("resources")
    health = mine[0].get("health", {})
    return st.get("health", {}).get("status", ""), health.get("status", ""), health.get("message", "")


def test_certificate_reported_degraded_then_healthy_and_tree_check_applies(
    env_with_tree: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = env_with_tree.cli
    # What the tree holds that gitopsd does not use is said once, at start.
    assert (
        "actions of example.com/Widget ignored (gitopsd runs no resource actions)"
        in env_with_tree.daemon.log()
    )
    repo = git_repos.create("certs")
    repo.commit(
        {
            "certs/crds.yaml": yaml.safe_dump_all(
                [
                    _crd("cert-manager.io", "Certificate", "certificates"),
                    _crd("example.com", "Widget", "widgets"),
                ]
            ),
            "certs/cert.yaml": yaml.safe_dump(CERTIFICATE),
            "certs/widget.yaml": yaml.safe_dump(WIDGET),
        },
        message="feat: certificate",
    )
    create(cli, tmp_path, application("certs", repo.url, "certs", NS))
    synced = cli("app", "sync", "certs")
    assert synced.returncode == 0, synced.stdout + synced.stderr

    # No status yet: cert-manager has not looked at it.
    assert _health(cli, "Certificate")[1:] == ("Progressing", "Waiting for the certificate to be issued")
    assert _health(cli, "Widget")[1:] == ("Progressing", "no phase yet")

    failed = (
        "The certificate request has failed to complete and will be retried: Failed to wait for order resource "
        '"web-tls-1-1845" to become ready: order is in "invalid" state'
    )
    _write_status(
        kubectl,
        "certificates.cert-manager.io",
        "web-tls",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "False",
                    "reason": "DoesNotExist",
                    "message": "Issuing certificate",
                },
                {"type": "Issuing", "status": "False", "reason": "Failed", "message": failed},
            ],
            "failedIssuanceAttempts": 1,
        },
    )
    _write_status(kubectl, "widgets.example.com", "w1", {"phase": "Up", "nodes": ["a", "b", "c"]})
    app_health, cert_health, cert_message = wait_for(
        lambda: (h := _health(cli, "Certificate"))[1] == "Degraded" and h, what="certificate Degraded"
    )
    assert (app_health, cert_message) == ("Degraded", failed)
    assert _health(cli, "Widget")[1:] == ("Healthy", "phase Up of 3 nodes")

    _write_status(
        kubectl,
        "certificates.cert-manager.io",
        "web-tls",
        {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": "Certificate is up to date and has not expired",
                }
            ],
            "notAfter": "2027-02-28T10:00:00Z",
        },
    )
    healthy = wait_for(lambda: (h := _health(cli, "Certificate"))[0] == "Healthy" and h, what="app Healthy")
    assert healthy == ("Healthy", "Healthy", "Certificate is up to date and has not expired")
