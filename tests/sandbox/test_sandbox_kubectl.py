"""The pinned kubectl against the sandbox: apply (server- and client-side), create, get, scale,
diff, delete and dry runs behave as against a real cluster."""

from __future__ import annotations

import json

import yaml
from sandbox_helpers import configmap, deployment, wait_for


def _yaml(*docs: dict) -> str:
    return yaml.safe_dump_all(list(docs))


NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def test_apply_server_side_then_get(kubectl) -> None:
    manifests = _yaml(
        NS, configmap("settings", namespace="shop", color="blue"), deployment("web", namespace="shop")
    )
    result = kubectl("apply", "--server-side", "-f", "-", input=manifests)
    assert result.returncode == 0, result.stderr
    assert "deployment.apps/web serverside-applied" in result.stdout
    got = json.loads(
        kubectl(
            "get", "cm", "settings", "-n", "shop", "-o", "json", "--show-managed-fields", check=True
        ).stdout
    )
    assert got["data"] == {"color": "blue"}
    assert got["metadata"]["managedFields"][0]["manager"] == "kubectl"
    assert "shop" in kubectl("get", "ns", check=True).stdout
    assert "web" in kubectl("get", "deploy", "-n", "shop", check=True).stdout
    assert "settings" in kubectl("get", "cm", "-A", check=True).stdout
    wait_for(
        lambda: (
            "successfully rolled out"
            in kubectl("rollout", "status", "deploy/web", "-n", "shop", "--timeout=10s").stdout
        )
    )


def test_client_side_apply_creates_then_configures(kubectl) -> None:
    dep = deployment("web")
    first = kubectl("apply", "-f", "-", input=_yaml(dep))
    assert first.returncode == 0 and "deployment.apps/web created" in first.stdout, first.stderr
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    second = kubectl("apply", "-f", "-", input=_yaml(dep))
    assert second.returncode == 0 and "deployment.apps/web configured" in second.stdout, second.stderr
    third = kubectl("apply", "-f", "-", input=_yaml(dep))
    assert "deployment.apps/web unchanged" in third.stdout, third.stderr
    live = json.loads(kubectl("get", "deploy", "web", "-o", "json", check=True).stdout)
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert live["metadata"]["generation"] == 2


def test_create_scale_delete(kubectl) -> None:
    created = kubectl("create", "-f", "-", input=_yaml(deployment("web")))
    assert created.returncode == 0 and "created" in created.stdout, created.stderr
    again = kubectl("create", "-f", "-", input=_yaml(deployment("web")))
    assert again.returncode == 1 and "AlreadyExists" in again.stderr
    scaled = kubectl("scale", "deploy/web", "--replicas=4")
    assert scaled.returncode == 0, scaled.stderr
    live = json.loads(kubectl("get", "deploy", "web", "-o", "json", check=True).stdout)
    assert live["spec"]["replicas"] == 4
    deleted = kubectl("delete", "deploy", "web", "--timeout=20s")
    assert deleted.returncode == 0, deleted.stderr
    missing = kubectl("get", "deploy", "web")
    assert missing.returncode == 1 and "NotFound" in missing.stderr


def test_diff_exit_codes(kubectl) -> None:
    manifests = _yaml(configmap("cfg", a="1"), deployment("web"))
    kubectl("apply", "--server-side", "-f", "-", input=manifests, check=True)
    same = kubectl("diff", "-f", "-", input=manifests)
    assert same.returncode == 0, same.stdout + same.stderr
    same_ss = kubectl("diff", "--server-side", "-f", "-", input=manifests)
    assert same_ss.returncode == 0, same_ss.stdout + same_ss.stderr
    changed = kubectl("diff", "-f", "-", input=_yaml(configmap("cfg", a="2"), deployment("web", replicas=3)))
    assert changed.returncode == 1, changed.stderr
    assert '-  a: "1"' in changed.stdout and '+  a: "2"' in changed.stdout
    assert "+  replicas: 3" in changed.stdout
    new = kubectl("diff", "-f", "-", input=_yaml(configmap("brand-new", a="1")))
    assert new.returncode == 1 and "brand-new" in new.stdout
    assert kubectl("get", "cm", "brand-new").returncode == 1  # diff's dry run created nothing


def test_apply_dry_run_server_changes_nothing(kubectl) -> None:
    kubectl("apply", "--server-side", "-f", "-", input=_yaml(configmap("cfg", a="1")), check=True)
    before = json.loads(kubectl("get", "cm", "cfg", "-o", "json", check=True).stdout)
    dry = kubectl(
        "apply", "--server-side", "--dry-run=server", "-f", "-", input=_yaml(configmap("cfg", a="2"))
    )
    assert dry.returncode == 0 and "(server dry run)" in dry.stdout, dry.stderr
    after = json.loads(kubectl("get", "cm", "cfg", "-o", "json", check=True).stdout)
    assert after["data"] == {"a": "1"}
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]


def test_apply_conflict_and_force(kubectl) -> None:
    kubectl(
        "apply",
        "--server-side",
        "--field-manager=team-a",
        "-f",
        "-",
        input=_yaml(configmap("cfg", a="1")),
        check=True,
    )
    clash = kubectl(
        "apply", "--server-side", "--field-manager=team-b", "-f", "-", input=_yaml(configmap("cfg", a="2"))
    )
    assert clash.returncode == 1 and 'conflict with "team-a"' in clash.stderr and ".data.a" in clash.stderr
    forced = kubectl(
        "apply",
        "--server-side",
        "--field-manager=team-b",
        "--force-conflicts",
        "-f",
        "-",
        input=_yaml(configmap("cfg", a="2")),
    )
    assert forced.returncode == 0, forced.stderr


def test_custom_resources_through_kubectl(kubectl) -> None:
    from test_sandbox_discovery import CRD

    kubectl("apply", "--server-side", "-f", "-", input=_yaml(CRD), check=True)
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "namespace": "default"},
        "spec": {"size": 1},
    }
    applied = kubectl("apply", "--server-side", "-f", "-", input=_yaml(widget))
    assert applied.returncode == 0, applied.stderr
    listed = kubectl("get", "wdg", "-o", "json", check=True)
    assert [i["metadata"]["name"] for i in json.loads(listed.stdout)["items"]] == ["w"]
    header, row = kubectl("get", "widgets", check=True).stdout.splitlines()
    assert header.split() == ["NAME", "SIZE", "AGE"] and row.split()[:2] == ["w", "1"]


def test_imperative_create_commands_send_protobuf(kubectl) -> None:
    assert kubectl("create", "ns", "team").returncode == 0
    made = kubectl("create", "configmap", "c", "-n", "team", "--from-literal=a=1", "--from-literal=b=two")
    assert made.returncode == 0, made.stderr
    secret = kubectl("create", "secret", "generic", "s", "-n", "team", "--from-literal=p=hunter2")
    assert secret.returncode == 0, secret.stderr
    cm = json.loads(kubectl("get", "cm", "c", "-n", "team", "-o", "json", check=True).stdout)
    assert cm["data"] == {"a": "1", "b": "two"} and "generateName" not in cm["metadata"]
    sec = json.loads(kubectl("get", "secret", "s", "-n", "team", "-o", "json", check=True).stdout)
    assert sec["type"] == "Opaque" and sec["data"] == {"p": "aHVudGVyMg=="}


def test_get_prints_server_side_table_columns(kubectl) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"ports": [{"port": 80}]},
    }
    kubectl("apply", "--server-side", "-f", "-", input=_yaml(deployment("web", replicas=2), svc), check=True)

    def ready_row() -> str | None:
        out = kubectl("get", "deploy", "web").stdout
        return out if "2/2" in out else None

    out = wait_for(ready_row)
    header, row = out.splitlines()
    assert header.split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert row.split()[:4] == ["web", "2/2", "2", "2"]
    services = kubectl("get", "svc", "web", check=True).stdout
    assert services.split()[:5] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)"]
    assert "ClusterIP" in services and "80/TCP" in services


def test_auth_can_i_is_always_yes(kubectl) -> None:
    result = kubectl("auth", "can-i", "delete", "deployments")
    assert (result.returncode, result.stdout.strip()) == (0, "yes")
