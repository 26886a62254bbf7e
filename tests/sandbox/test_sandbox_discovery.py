"""Discovery (legacy and aggregated), OpenAPI v3, and CRDs making new kinds servable."""

from __future__ import annotations

import json

import pytest
from kubernetes import client, dynamic
from kubernetes.dynamic.exceptions import ResourceNotFoundError

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wdg"]},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
                "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                "subresources": {
                    "status": {},
                    "scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.size"},
                },
            }
        ],
    },
}


def test_aggregated_discovery_has_the_exact_content_type(raw) -> None:
    code, headers, body = raw("GET", "/apis", headers={"Accept": AGGREGATED + ",application/json"})
    assert code == 200 and headers["content-type"] == AGGREGATED
    doc = json.loads(body)
    apps = next(i for i in doc["items"] if i["metadata"].get("name") == "apps")
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    assert deploy["shortNames"] == ["deploy"] and deploy["scope"] == "Namespaced"
    assert {
        "subresource": "scale",
        "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
    }.items() <= next(s for s in deploy["subresources"] if s["subresource"] == "scale").items()
    code, headers, body = raw("GET", "/api", headers={"Accept": AGGREGATED})
    core = json.loads(body)["items"][0]
    assert core["metadata"] == {} and "namespaces" in {
        r["resource"] for r in core["versions"][0]["resources"]
    }


def test_legacy_discovery(raw) -> None:
    assert json.loads(raw("GET", "/api")[2])["versions"] == ["v1"]
    groups = {g["name"] for g in json.loads(raw("GET", "/apis")[2])["groups"]}
    assert {
        "apps",
        "batch",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "autoscaling",
        "apiextensions.k8s.io",
    } <= groups
    resources = json.loads(raw("GET", "/api/v1")[2])["resources"]
    cm = next(r for r in resources if r["name"] == "configmaps")
    assert (cm["kind"], cm["namespaced"], cm["shortNames"]) == ("ConfigMap", True, ["cm"])
    kinds = {r["kind"] for r in json.loads(raw("GET", "/apis/apps/v1")[2])["resources"]}
    assert {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Scale"} <= kinds


def test_openapi_v3_lists_every_group_version(raw) -> None:
    root = json.loads(raw("GET", "/openapi/v3")[2])
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = json.loads(raw("GET", url)[2])
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }


def test_crd_makes_its_kind_servable_and_discoverable(
    dyn: dynamic.DynamicClient, api_client: client.ApiClient, tmp_path
) -> None:
    with pytest.raises(ResourceNotFoundError):
        dyn.resources.get(api_version="example.com/v1", kind="Widget")
    ext = client.ApiextensionsV1Api(api_client)
    created = ext.create_custom_resource_definition(CRD)
    assert {c.type: c.status for c in created.status.conditions}["Established"] == "True"
    fresh = dynamic.DynamicClient(api_client, cache_file=str(tmp_path / "fresh.json"))
    widgets = fresh.resources.get(api_version="example.com/v1", kind="Widget")
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 2},
    }
    made = widgets.create(body=widget, namespace="default")
    assert made.metadata.generation == 1
    custom = client.CustomObjectsApi(api_client)
    scale = custom.get_namespaced_custom_object_scale("example.com", "v1", "default", "widgets", "w")
    assert scale["spec"]["replicas"] == 2
    custom.patch_namespaced_custom_object_scale(
        "example.com", "v1", "default", "widgets", "w", {"spec": {"replicas": 4}}
    )
    assert widgets.get(name="w", namespace="default").spec.size == 4
    ext.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(client.ApiException) as err:
        custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")
    assert err.value.status == 404


def test_crd_with_inconsistent_name_is_invalid(api_client: client.ApiClient) -> None:
    bad = json.loads(json.dumps(CRD))
    bad["metadata"]["name"] = "gadgets.example.com"
    with pytest.raises(client.ApiException) as err:
        client.ApiextensionsV1Api(api_client).create_custom_resource_definition(bad)
    assert err.value.status == 422
