"""PATCH: JSON merge patch, JSON patch and strategic merge patch (with its directives)."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from sandbox_helpers import configmap, deployment

from gitopsd.sandbox.patch import json_patch, merge_patch, strategic_merge


def _patch(raw, path: str, body: object, ctype: str) -> tuple[int, dict]:
    code, _, out = raw("PATCH", path, body=json.dumps(body).encode(), headers={"Content-Type": ctype})
    return code, json.loads(out)


CM = "/api/v1/namespaces/default/configmaps/cm"
DEP = "/apis/apps/v1/namespaces/default/deployments/web"


def test_merge_patch_sets_and_removes_keys(core: client.CoreV1Api, raw) -> None:
    core.create_namespaced_config_map("default", configmap("cm", a="1", b="2"))
    code, obj = _patch(raw, CM, {"data": {"a": None, "c": "3"}}, "application/merge-patch+json")
    assert code == 200 and obj["data"] == {"b": "2", "c": "3"}


def test_json_patch_operations_and_failed_test(core: client.CoreV1Api, raw) -> None:
    core.create_namespaced_config_map("default", configmap("cm", a="1"))
    ops = [
        {"op": "add", "path": "/data/b", "value": "2"},
        {"op": "replace", "path": "/data/a", "value": "9"},
        {"op": "copy", "from": "/data/a", "path": "/data/c"},
        {"op": "remove", "path": "/data/b"},
        {"op": "test", "path": "/data/c", "value": "9"},
    ]
    code, obj = _patch(raw, CM, ops, "application/json-patch+json")
    assert code == 200 and obj["data"] == {"a": "9", "c": "9"}
    code, obj = _patch(
        raw, CM, [{"op": "test", "path": "/data/a", "value": "0"}], "application/json-patch+json"
    )
    assert code == 422 and obj["kind"] == "Status"
    code, _ = _patch(raw, CM, [{"op": "remove", "path": "/data/missing"}], "application/json-patch+json")
    assert code == 422
    assert core.read_namespaced_config_map("cm", "default").data == {"a": "9", "c": "9"}


def test_strategic_merge_merges_containers_by_name(apps: client.AppsV1Api, raw) -> None:
    dep = deployment("web")
    dep["spec"]["template"]["spec"]["containers"].append(
        {"name": "sidecar", "image": "busybox:1", "env": [{"name": "A", "value": "1"}]}
    )
    apps.create_namespaced_deployment("default", dep)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "main"}],
                    "containers": [
                        {"name": "sidecar", "env": [{"name": "B", "value": "2"}]},
                        {"name": "main", "image": "nginx:1.28"},
                    ],
                }
            }
        }
    }
    code, obj = _patch(raw, DEP, patch, "application/strategic-merge-patch+json")
    assert code == 200
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["sidecar", "main"]
    assert containers[1]["image"] == "nginx:1.28"
    assert containers[1]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert "$setElementOrder/containers" not in obj["spec"]["template"]["spec"]
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}}
    code, obj = _patch(raw, DEP, delete, "application/strategic-merge-patch+json")
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["main"]


def test_official_client_patch_uses_strategic_merge(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("web"))
    patched = apps.patch_namespaced_deployment(
        "web",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}},
    )
    [container] = patched.spec.template.spec.containers
    assert container.image == "nginx:2" and container.ports[0].container_port == 80


def test_patch_of_missing_object_is_404(raw) -> None:
    code, obj = _patch(raw, CM, {"data": {}}, "application/merge-patch+json")
    assert code == 404 and obj["reason"] == "NotFound"


def test_patch_functions_directly() -> None:
    assert merge_patch({"a": {"b": 1, "c": 2}}, {"a": {"b": None}, "d": [1]}) == {"a": {"c": 2}, "d": [1]}
    assert json_patch(
        {"l": [1, 3]}, [{"op": "add", "path": "/l/1", "value": 2}, {"op": "add", "path": "/l/-", "value": 4}]
    ) == {"l": [1, 2, 3, 4]}
    assert json_patch({"a~b": {"c/d": 1}}, [{"op": "remove", "path": "/a~0b/c~1d"}]) == {"a~b": {}}
    replaced = strategic_merge({"spec": {"x": 1, "y": 2}}, {"spec": {"$patch": "replace", "z": 3}})
    assert replaced == {"spec": {"z": 3}}
    retained = strategic_merge(
        {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}},
        {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}},
    )
    assert retained == {"strategy": {"type": "Recreate"}}
    finalizers = strategic_merge(
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["b"]}},
    )
    assert finalizers == {"metadata": {"finalizers": ["b"]}}
    with pytest.raises(Exception, match="test failed"):
        json_patch({"a": 1}, [{"op": "test", "path": "/a", "value": 2}])
