"""Server-side apply: field ownership, conflicts, force, removal of fields a manager stops applying,
and dryRun=All leaving everything untouched."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, dynamic
from sandbox_helpers import configmap, deployment

APPLY = "application/apply-patch+yaml"


def _apply(
    raw, path: str, body: dict, manager: str, force: bool = False, dry: bool = False
) -> tuple[int, dict]:
    query = f"?fieldManager={manager}&force={'true' if force else 'false'}" + ("&dryRun=All" if dry else "")
    code, _, out = raw("PATCH", path + query, body=json.dumps(body).encode(), headers={"Content-Type": APPLY})
    return code, json.loads(out)


DEP = "/apis/apps/v1/namespaces/default/deployments/web"
CM = "/api/v1/namespaces/default/configmaps/cm"


def test_apply_creates_then_updates_with_managed_fields(raw) -> None:
    code, obj = _apply(raw, DEP, deployment("web"), "gitopsd")
    assert code == 201
    [entry] = obj["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == ("gitopsd", "Apply", "FieldsV1")
    spec_fields = entry["fieldsV1"]["f:spec"]
    assert "f:replicas" in spec_fields
    containers = spec_fields["f:template"]["f:spec"]["f:containers"]
    assert containers['k:{"name":"main"}']["f:image"] == {}
    assert "f:imagePullPolicy" not in containers['k:{"name":"main"}']  # defaults are nobody's
    code, cm = _apply(raw, CM, configmap("cm", a="1"), "gitopsd")
    code, again = _apply(raw, CM, configmap("cm", a="1"), "gitopsd")
    assert code == 200
    assert again["metadata"]["resourceVersion"] == cm["metadata"]["resourceVersion"], (
        "a no-op apply must not write"
    )
    assert again["metadata"]["managedFields"] == cm["metadata"]["managedFields"]


def test_yaml_body_is_accepted(raw) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: v\n"
    code, _, out = raw("PATCH", CM + "?fieldManager=me", body=body, headers={"Content-Type": APPLY})
    assert code == 201 and json.loads(out)["data"] == {"k": "v"}
    bomb = b"a: &a [x, x]\nb: &b [*a, *a]\n"
    code, _, out = raw("PATCH", CM + "?fieldManager=me", body=bomb, headers={"Content-Type": APPLY})
    assert code == 400


def test_conflict_names_manager_and_field_and_force_takes_over(raw) -> None:
    _apply(raw, DEP, deployment("web", replicas=2), "team-a")
    code, status = _apply(raw, DEP, deployment("web", replicas=5), "team-b")
    assert code == 409 and status["reason"] == "Conflict"
    assert 'conflict with "team-a"' in status["message"] and ".spec.replicas" in status["message"]
    assert status["details"]["causes"] == [
        {"type": "FieldManagerConflict", "message": 'conflict with "team-a"', "field": ".spec.replicas"}
    ]
    code, obj = _apply(raw, DEP, deployment("web", replicas=5), "team-b", force=True)
    assert code == 200 and obj["spec"]["replicas"] == 5
    owners = {e["manager"]: e["fieldsV1"] for e in obj["metadata"]["managedFields"]}
    assert "f:replicas" in owners["team-b"]["f:spec"]
    assert "f:replicas" not in owners["team-a"]["f:spec"]


def test_same_value_is_shared_not_a_conflict(raw) -> None:
    _apply(raw, CM, configmap("cm", a="1"), "one")
    code, obj = _apply(raw, CM, configmap("cm", a="1"), "two")
    assert code == 200
    assert {e["manager"] for e in obj["metadata"]["managedFields"]} == {"one", "two"}
    # "one" stops applying a, but "two" still owns it: it stays.
    code, obj = _apply(raw, CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}, "one")
    assert obj["data"] == {"a": "1"}


def test_fields_a_manager_stops_applying_are_removed(raw) -> None:
    cm = configmap("cm", a="1", b="2")
    cm["metadata"]["labels"] = {"x": "1"}
    _apply(raw, CM, cm, "gitopsd")
    code, obj = _apply(raw, CM, configmap("cm", a="1"), "gitopsd")
    assert code == 200
    assert obj["data"] == {"a": "1"}
    assert "labels" not in obj["metadata"]
    dep = deployment("web")
    dep["spec"]["template"]["spec"]["containers"].append({"name": "sidecar", "image": "busybox:1"})
    _apply(raw, DEP, dep, "gitopsd")
    code, obj = _apply(raw, DEP, deployment("web"), "gitopsd")
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["main"]


def test_update_by_another_manager_then_apply_conflicts(apps: client.AppsV1Api, raw) -> None:
    _apply(raw, DEP, deployment("web", replicas=2), "gitopsd")
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 4}})
    code, status = _apply(raw, DEP, deployment("web", replicas=2), "gitopsd")
    assert code == 409 and ".spec.replicas" in status["message"]


def test_dry_run_changes_nothing(raw, core: client.CoreV1Api) -> None:
    code, obj = _apply(raw, CM, configmap("cm", a="1"), "gitopsd", dry=True)
    assert code == 201 and obj["data"] == {"a": "1"}
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_config_map("cm", "default")
    assert err.value.status == 404
    _apply(raw, CM, configmap("cm", a="1"), "gitopsd")
    before = core.read_namespaced_config_map("cm", "default")
    code, obj = _apply(raw, CM, configmap("cm", a="2"), "gitopsd", dry=True)
    assert code == 200 and obj["data"] == {"a": "2"}
    assert obj["metadata"]["resourceVersion"] == before.metadata.resource_version
    after = core.read_namespaced_config_map("cm", "default")
    assert after.data == {"a": "1"} and after.metadata.resource_version == before.metadata.resource_version
    for method, body, ctype in (
        ("PATCH", {"data": {"a": "3"}}, "application/merge-patch+json"),
        ("PUT", configmap("cm", a="4"), "application/json"),
        ("DELETE", {}, "application/json"),
    ):
        code, _, _ = raw(
            method, CM + "?dryRun=All", body=json.dumps(body).encode(), headers={"Content-Type": ctype}
        )
        assert code == 200
    final = core.read_namespaced_config_map("cm", "default")
    assert final.data == {"a": "1"} and final.metadata.resource_version == before.metadata.resource_version


def test_dry_run_create_does_not_bump_resource_version_or_generation(apps: client.AppsV1Api, raw) -> None:
    _apply(raw, DEP, deployment("web"), "gitopsd")
    live = apps.read_namespaced_deployment("web", "default")
    code, obj = _apply(raw, DEP, deployment("web"), "kubectl", dry=True)
    assert code == 200
    assert obj["metadata"]["resourceVersion"] == live.metadata.resource_version
    assert obj["metadata"]["generation"] == live.metadata.generation


def test_dynamic_client_server_side_apply(dyn: dynamic.DynamicClient) -> None:
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    applied = deployments.server_side_apply(
        body=deployment("web"), name="web", namespace="default", field_manager="gitopsd"
    )
    assert applied.metadata.managedFields[0].manager == "gitopsd"
    fetched = deployments.get(name="web", namespace="default")
    assert fetched.spec.strategy.type == "RollingUpdate"
