"""Immutability as a real API server enforces it, with its messages (the ones tools match on to
decide an object must be replaced), and the selector and labels a Job gets on create."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from kubernetes import client
from sandbox_helpers import configmap, deployment


def _status(err: pytest.ExceptionInfo[client.ApiException]) -> dict[str, Any]:
    return json.loads(err.value.body)


def statefulset(name: str = "db") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "db", "image": "postgres:17"}]},
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }


def test_statefulset_spec_changes_outside_the_allowed_fields_are_forbidden(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_stateful_set("default", statefulset())
    allowed = statefulset()
    allowed["spec"]["replicas"] = 3
    allowed["spec"]["minReadySeconds"] = 5
    allowed["spec"]["revisionHistoryLimit"] = 4
    allowed["spec"]["template"]["spec"]["containers"][0]["image"] = "postgres:18"
    apps.patch_namespaced_stateful_set("db", "default", allowed)
    grown = copy.deepcopy(allowed)
    grown["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "2Gi"
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_stateful_set("db", "default", grown)
    assert err.value.status == 422
    assert _status(err)["message"] == (
        'StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than '
        "'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', "
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    )
    renamed = copy.deepcopy(allowed)
    renamed["spec"]["serviceName"] = "other"
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_stateful_set("db", "default", renamed)
    assert (
        err.value.status == 422 and "spec: Forbidden: updates to statefulset spec" in _status(err)["message"]
    )
    live = apps.read_namespaced_stateful_set("db", "default")
    assert live.spec.replicas == 3 and live.spec.service_name == "db"


def test_kubectl_apply_of_a_changed_claim_template_fails_as_real(kubectl) -> None:
    sts = statefulset()
    kubectl("apply", "-f", "-", input=yaml.safe_dump(sts), check=True)
    sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] = "5Gi"
    out = kubectl("apply", "-f", "-", input=yaml.safe_dump(sts))
    assert out.returncode == 1
    assert 'The StatefulSet "db" is invalid: spec: Forbidden: updates to statefulset spec' in out.stderr


def test_deployment_selector_is_immutable_with_the_real_message(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("web"))
    moved = deployment("web")
    moved["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "front"}}
    moved["spec"]["template"]["metadata"]["labels"]["tier"] = "front"
    with pytest.raises(client.ApiException) as err:
        apps.replace_namespaced_deployment("web", "default", moved)
    assert err.value.status == 422
    assert _status(err)["message"] == (
        'Deployment.apps "web" is invalid: spec.selector: Invalid value: '
        'v1.LabelSelector{MatchLabels:map[string]string{"app":"web", "tier":"front"}}: field is immutable'
    )


def _job(name: str = "migrate", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox:1.37"}]}
            },
            **spec,
        },
    }


def test_job_selector_and_labels_are_generated(api_client: client.ApiClient) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job("default", _job())
    job = batch.read_namespaced_job("migrate", "default")
    uid = job.metadata.uid
    assert job.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert job.spec.template.metadata.labels == {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "migrate",
        "controller-uid": uid,
        "job-name": "migrate",
    }
    assert job.metadata.labels == job.spec.template.metadata.labels
    with pytest.raises(client.ApiException) as err:
        batch.create_namespaced_job("default", _job("picked", selector={"matchLabels": {"a": "b"}}))
    assert err.value.status == 422 and "`selector` not auto-generated" in _status(err)["message"]
    manual = _job("manual", manualSelector=True, selector={"matchLabels": {"run": "x"}})
    manual["spec"]["template"]["metadata"] = {"labels": {"run": "x"}}
    batch.create_namespaced_job("default", manual)
    assert batch.read_namespaced_job("manual", "default").spec.selector.match_labels == {"run": "x"}


def test_job_template_is_immutable(api_client: client.ApiClient) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job("default", _job())
    with pytest.raises(client.ApiException) as err:
        batch.patch_namespaced_job(
            "migrate",
            "default",
            {"spec": {"template": {"spec": {"containers": [{"name": "run", "image": "busybox:1.38"}]}}}},
        )
    assert err.value.status == 422
    assert "spec.template: Invalid value:" in _status(err)["message"]
    assert "field is immutable" in _status(err)["message"]


def test_service_cluster_ip_may_not_change_once_set(core: client.CoreV1Api) -> None:
    svc = {"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}}
    ip = core.create_namespaced_service("default", svc).spec.cluster_ip
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_service("svc", "default", {"spec": {"clusterIP": "10.96.200.200"}})
    assert err.value.status == 422
    assert _status(err)["message"] == (
        'Service "svc" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.200.200"]: may not change once set'
    )
    assert core.read_namespaced_service("svc", "default").spec.cluster_ip == ip


def test_pvc_spec_is_immutable_except_requests(core: client.CoreV1Api) -> None:
    pvc = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    core.create_namespaced_persistent_volume_claim("default", pvc)
    core.patch_namespaced_persistent_volume_claim(
        "data", "default", {"spec": {"resources": {"requests": {"storage": "2Gi"}}}}
    )
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_persistent_volume_claim(
            "data", "default", {"spec": {"accessModes": ["ReadWriteMany"]}}
        )
    assert err.value.status == 422
    assert _status(err)["message"] == (
        'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except '
        "resources.requests and volumeAttributesClassName for bound claims"
    )


def test_immutable_configmap_keeps_its_data(core: client.CoreV1Api) -> None:
    frozen = configmap("frozen", a="1")
    frozen["immutable"] = True
    core.create_namespaced_config_map("default", frozen)
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_config_map("frozen", "default", {"data": {"a": "2"}})
    assert err.value.status == 422
    assert "data: Forbidden: field is immutable when `immutable` is set" in _status(err)["message"]
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_config_map("frozen", "default", {"immutable": False})
    assert "immutable: Forbidden: field is immutable when `immutable` is set" in _status(err)["message"]
