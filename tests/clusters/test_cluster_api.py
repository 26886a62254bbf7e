"""Clusters through the CLI and the daemon, against a real sandbox API server over HTTPS."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fixtures.daemon import CLI, DaemonProcess

from gitopsd.sandbox import SandboxCluster

SEED_APP = Path(__file__).resolve().parents[2] / "examples" / "apps" / "mon-app.yaml"


def test_add_list_get_rm(
    cli: CLI, sandbox: SandboxCluster, sandbox_kubeconfig: Path, daemon: DaemonProcess
) -> None:
    added = cli("cluster", "add", "sandbox", "--name", "production", "--kubeconfig", str(sandbox_kubeconfig))
    assert added.returncode == 0, added.stderr
    assert f"Cluster '{sandbox.url}' added as 'production'" in added.stdout

    listed = cli("cluster", "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["SERVER", "NAME", "VERSION", "STATUS", "MESSAGE"]
    server, name, version, status = row.split()[:4]
    assert (server, name, status) == (sandbox.url, "production", "Successful")
    assert version.count(".") == 1 and version.replace(".", "").isdigit()

    got = cli("cluster", "get", "production", "-o", "json")
    doc = json.loads(got.stdout)
    assert doc["config"]["hasBearerToken"] is True and doc["config"]["hasCA"] is True
    # The credentials went in and never come out: not in replies, not in the daemon's log.
    for text in (got.stdout, cli("cluster", "list", "-o", "yaml").stdout, daemon.log()):
        assert sandbox.token not in text
    assert "bearerToken" not in doc["config"]

    removed = cli("cluster", "rm", "production")
    assert removed.returncode == 0, removed.stderr
    assert cli("cluster", "list", "-o", "server").stdout.strip() == ""


def test_unreachable_cluster_is_reported_failed(
    cli: CLI, sandbox: SandboxCluster, sandbox_kubeconfig: Path
) -> None:
    assert (
        cli("cluster", "add", "sandbox", "--name", "prod", "--kubeconfig", str(sandbox_kubeconfig)).returncode
        == 0
    )
    sandbox.stop()
    listed = cli("cluster", "list")
    row = listed.stdout.splitlines()[1]
    assert row.split()[2] == "Failed"  # no VERSION column value: NAME then STATUS
    assert "prod" in row
    assert "cannot reach the API server" in row  # the message says why


def test_remove_refused_while_applications_target_it(
    cli: CLI, sandbox: SandboxCluster, sandbox_kubeconfig: Path, tmp_path: Path
) -> None:
    assert (
        cli("cluster", "add", "sandbox", "--name", "prod", "--kubeconfig", str(sandbox_kubeconfig)).returncode
        == 0
    )
    app = yaml.safe_load(SEED_APP.read_text())
    app["spec"]["destination"] = {"server": sandbox.url, "namespace": "production"}
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(app))
    assert cli("app", "create", "-f", str(path)).returncode == 0

    refused = cli("cluster", "rm", "prod")
    assert refused.returncode == 2
    assert "FAILED_PRECONDITION" in refused.stderr and "mon-app" in refused.stderr
    assert cli("cluster", "rm", "prod", "--force").returncode == 0


def test_daemon_kubeconfig_is_the_in_cluster_cluster(
    sandbox: SandboxCluster, sandbox_kubeconfig: Path, tmp_path: Path
) -> None:
    proc = DaemonProcess(
        tmp_path / "data", tmp_path / "d.log", env={"GITOPSD_KUBECONFIG": str(sandbox_kubeconfig)}
    ).start()
    try:
        cli = CLI(proc.address, tmp_path)
        row = cli("cluster", "list").stdout.splitlines()[1].split()
        assert row[:2] == ["https://kubernetes.default.svc", "in-cluster"]
        assert row[3] == "Successful"
    finally:
        proc.stop()
    assert sandbox.token not in proc.log()


def test_bad_kubeconfig_context_is_a_clear_error(cli: CLI, sandbox_kubeconfig: Path) -> None:
    result = cli("cluster", "add", "nope", "--kubeconfig", str(sandbox_kubeconfig))
    assert result.returncode == 2
    assert "no context named 'nope'" in result.stderr
    assert "Traceback" not in result.stderr
