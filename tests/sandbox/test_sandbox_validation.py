"""Decoding and validation as a real API server does it: canonical quantities, fieldValidation
(Strict/Warn/Ignore) against the published schemas, type errors, CRD structural schemas, metadata
limits, field selectors and uid changes — through the official client, raw HTTPS and kubectl."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from kubernetes import client
from sandbox_helpers import configmap, deployment

from gitopsd.sandbox.quantity import canonical

D = "/apis/apps/v1/namespaces/default/deployments"


def _j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _status(err: pytest.ExceptionInfo[client.ApiException]) -> dict[str, Any]:
    return json.loads(err.value.body)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("1000m", "1"),
        ("2048Mi", "2Gi"),
        ("0.5", "500m"),
        (0.5, "500m"),
        (2, "2"),
        ("1e3", "1e3"),
        ("1000", "1k"),
        ("100M", "100M"),
        ("1536Mi", "1536Mi"),
        ("1.5Gi", "1536Mi"),
        ("0.1Gi", "107374182400m"),
        ("1.1Ki", "1126400m"),
        ("0.1m", "100u"),
        ("512", "512"),
        ("0", "0"),
    ],
)
def test_quantity_canonical_form(given: Any, stored: str) -> None:
    assert canonical(given) == stored


def test_quantities_are_stored_canonical_in_every_kind(
    dyn, apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    dep = deployment("web")
    c = dep["spec"]["template"]["spec"]["containers"][0]
    c["resources"] = {"requests": {"cpu": "1000m", "memory": "2048Mi"}, "limits": {"cpu": 0.5}}
    c["ports"] = [{"containerPort": 80, "name": "http"}]
    dep["spec"]["template"]["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {"sizeLimit": "1024Mi"}}]
    # The typed API refuses a JSON number for a quantity client-side; the dynamic client sends it.
    dyn.resources.get(api_version="apps/v1", kind="Deployment").create(body=dep, namespace="default")
    live = apps.read_namespaced_deployment("web", "default").to_dict()
    pod = live["spec"]["template"]["spec"]
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "1", "memory": "2Gi"} and resources["limits"] == {"cpu": "500m"}
    assert pod["volumes"][0]["empty_dir"]["size_limit"] == "1Gi"
    core.create_namespaced_persistent_volume_claim(
        "default",
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "0.5Gi"}}},
        },
    )
    pvc = core.read_namespaced_persistent_volume_claim("data", "default")
    assert pvc.spec.resources.requests == {"storage": "512Mi"}
    core.create_namespaced_resource_quota(
        "default", {"metadata": {"name": "q"}, "spec": {"hard": {"requests.cpu": "2000m", "pods": "10"}}}
    )
    assert core.read_namespaced_resource_quota("q", "default").spec.hard == {
        "requests.cpu": "2",
        "pods": "10",
    }
    # LimitRange is not served by the sandbox yet; its quantities come from the same schema walk.


def test_int_or_string_fields_stay_as_sent(core: client.CoreV1Api) -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "svc"},
            "spec": {
                "ports": [
                    {"name": "a", "port": 80, "targetPort": "8080"},
                    {"name": "b", "port": 81, "targetPort": 9090},
                ]
            },
        },
    )
    ports = core.read_namespaced_service("svc", "default").spec.ports
    assert [p.target_port for p in ports] == ["8080", 9090]


def _unknown_field_deployment() -> dict[str, Any]:
    body = deployment("web")
    body["spec"]["foo"] = "bar"
    body["spec"]["template"]["spec"]["containers"][0]["colour"] = "red"
    return body


def test_field_validation_strict_warn_ignore(raw) -> None:
    body = _j(_unknown_field_deployment())
    ctype = {"Content-Type": "application/json"}
    code, _, out = raw("POST", D + "?fieldValidation=Strict", body=body, headers=ctype)
    assert code == 400, out
    msg = json.loads(out)["message"]
    assert msg.startswith(
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
    )
    assert (
        'unknown field "spec.foo"' in msg and 'unknown field "spec.template.spec.containers[0].colour"' in msg
    )
    code, headers, out = raw("POST", D + "?fieldValidation=Warn", body=body, headers=ctype)
    assert code == 201, out
    # http.client joins repeated headers with ", ": one warning per unknown field.
    # One Warning header per unknown field (the raw fixture keeps the last; kubectl shows them all).
    assert headers["warning"] == '299 - "unknown field \\"spec.foo\\""'
    stored = json.loads(out)
    assert "foo" not in stored["spec"] and "colour" not in stored["spec"]["template"]["spec"]["containers"][0]
    raw("DELETE", D + "/web")
    code, headers, out = raw("POST", D + "?fieldValidation=Ignore", body=body, headers=ctype)
    assert code == 201 and "warning" not in headers
    assert "foo" not in json.loads(out)["spec"]
    code, _, out = raw("POST", D + "?fieldValidation=Loud", body=body, headers=ctype)
    assert code == 400


def test_duplicate_fields_are_reported_like_unknown_ones(raw) -> None:
    text = json.dumps(deployment("web")).replace('"replicas": 2', '"replicas": 2, "replicas": 5')
    body = text.replace('"name": "web"', '"name": "web", "name": "web"', 1).encode()
    ctype = {"Content-Type": "application/json"}
    code, _, out = raw("POST", D + "?fieldValidation=Strict", body=body, headers=ctype)
    assert code == 400, out
    assert json.loads(out)["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        'duplicate field "metadata.name", duplicate field "spec.replicas"'
    )
    code, headers, out = raw("POST", D, body=body, headers=ctype)
    assert code == 201 and headers["warning"] == '299 - "duplicate field \\"spec.replicas\\""'
    assert json.loads(out)["spec"]["replicas"] == 5  # the last one wins


def test_unknown_fields_are_dropped_for_the_official_client(raw, dyn, apps: client.AppsV1Api) -> None:
    # The official client sends no fieldValidation: the server's default is Warn (the typed API
    # refuses unknown fields itself, the dynamic client sends them).
    dyn.resources.get(api_version="apps/v1", kind="Deployment").create(
        body=_unknown_field_deployment(), namespace="default"
    )
    live = apps.read_namespaced_deployment("web", "default").to_dict()
    assert live["spec"]["template"]["spec"]["containers"][0]["name"] == "main"
    assert "colour" not in str(live)
    code, headers, _ = raw(
        "PATCH",
        D + "/web",
        body=_j({"spec": {"bogus": 1, "paused": False}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert code == 200 and headers["warning"] == '299 - "unknown field \\"spec.bogus\\""'


def test_hostile_field_names_cannot_break_the_warning_header(raw) -> None:
    body = deployment("web")
    body["spec"]["x\r\nSet-Cookie: a=b"] = 1
    code, headers, _ = raw("POST", D, body=_j(body), headers={"Content-Type": "application/json"})
    assert code == 201 and "set-cookie" not in headers
    assert "\\r\\n" in headers["warning"]


def test_wrong_types_fail_decoding_with_400(dyn) -> None:
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    body = deployment("web")
    body["spec"]["replicas"] = "three"
    with pytest.raises(client.ApiException) as err:
        deployments.create(body=body, namespace="default")
    assert err.value.status == 400
    assert _status(err)["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: json: cannot unmarshal string '
        "into Go struct field DeploymentSpec.spec.replicas of type int32"
    )
    bad = deployment("web")
    bad["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "lots"}}
    with pytest.raises(client.ApiException) as err:
        deployments.create(body=bad, namespace="default")
    assert (
        err.value.status == 400 and "quantities must match the regular expression" in _status(err)["message"]
    )
    bad["spec"]["template"]["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "9" * 5000}}
    with pytest.raises(client.ApiException) as err:
        deployments.create(body=bad, namespace="default")
    assert err.value.status == 400 and "unable to parse numeric part of quantity" in _status(err)["message"]


def test_kubectl_apply_is_strict_by_default_and_warns_on_request(kubectl) -> None:
    manifest = yaml.safe_dump(_unknown_field_deployment())
    refused = kubectl("apply", "-f", "-", input=manifest)
    assert refused.returncode == 1
    assert 'strict decoding error: unknown field "spec.foo"' in refused.stderr, refused.stderr
    ss = kubectl("apply", "--server-side", "-f", "-", input=manifest)
    assert ss.returncode == 1 and "field not declared in schema" in ss.stderr, ss.stderr
    warned = kubectl("apply", "--validate=warn", "-f", "-", input=manifest)
    assert warned.returncode == 0, warned.stderr
    assert 'Warning: unknown field "spec.foo"' in warned.stderr
    assert 'Warning: unknown field "spec.template.spec.containers[0].colour"' in warned.stderr
    live = json.loads(kubectl("get", "deploy", "web", "-o", "json", check=True).stdout)
    assert "foo" not in live["spec"]


WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "selectableFields": [{"jsonPath": ".spec.color"}],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["size"],
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                                    "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                                    "port": {"x-kubernetes-int-or-string": True},
                                    "tags": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                        "x-kubernetes-list-type": "set",
                                    },
                                    "ports": {
                                        "type": "array",
                                        "x-kubernetes-list-type": "map",
                                        "x-kubernetes-list-map-keys": ["port", "protocol"],
                                        "items": {
                                            "type": "object",
                                            "required": ["port"],
                                            "properties": {
                                                "port": {"type": "integer"},
                                                "protocol": {"type": "string", "default": "TCP"},
                                            },
                                        },
                                    },
                                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}
W = "/apis/example.com/v1/namespaces/default/widgets"


def _widget(name: str, **spec: Any) -> bytes:
    return _j({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec})


def test_custom_resources_follow_their_structural_schema(raw, dyn) -> None:
    dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(
        body=WIDGETS
    )
    ctype = {"Content-Type": "application/json"}
    code, headers, out = raw(
        "POST", W, body=_widget("a", size=3, port="http", junk=1, extra={"any": {"thing": 1}}), headers=ctype
    )
    assert code == 201, out
    stored = json.loads(out)
    assert stored["spec"] == {"size": 3, "port": "http", "color": "red", "extra": {"any": {"thing": 1}}}
    assert headers["warning"] == '299 - "unknown field \\"spec.junk\\""'
    code, _, out = raw(
        "POST", W + "?fieldValidation=Strict", body=_widget("b", size=3, junk=1), headers=ctype
    )
    assert code == 400 and 'strict decoding error: unknown field "spec.junk"' in json.loads(out)["message"]
    cases = [
        (
            _widget("c", size=11),
            "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
        ),
        (_widget("c", size=0), "spec.size in body should be greater than or equal to 1"),
        (
            _widget("c", size=2, color="green"),
            'spec.color: Unsupported value: "green": supported values: "red", "blue"',
        ),
        (_widget("c"), "spec.size: Required value"),
        (_widget("c", size="2"), 'spec.size in body must be of type integer: "2"'),
        (_widget("c", size=2, tags=["a", "a"]), 'spec.tags[1]: Duplicate value: "a"'),
        (
            _widget("c", size=2, ports=[{"port": 53}, {"port": 53, "protocol": "TCP"}]),
            "spec.ports[1]: Duplicate value",
        ),
        (_widget("c", size=2, port=[1]), "spec.port in body must be of type integer,string"),
    ]
    for body, message in cases:
        code, _, out = raw("POST", W, body=body, headers=ctype)
        assert code == 422, (message, out)
        assert message in json.loads(out)["message"]
    code, _, out = raw(
        "POST",
        W,
        body=_widget("d", size=2, ports=[{"port": 53}, {"port": 53, "protocol": "UDP"}]),
        headers=ctype,
    )
    assert code == 201, out
    assert json.loads(out)["spec"]["ports"] == [
        {"port": 53, "protocol": "TCP"},
        {"port": 53, "protocol": "UDP"},
    ]
    code, _, out = raw("GET", W + "?fieldSelector=spec.color%3Dred")
    assert code == 200 and {i["metadata"]["name"] for i in json.loads(out)["items"]} == {"a", "d"}
    code, _, out = raw("GET", W + "?fieldSelector=spec.size%3D2")
    assert code == 400 and json.loads(out)["message"] == "field label not supported: spec.size"


def test_annotations_over_256k_are_refused(core: client.CoreV1Api) -> None:
    body = configmap("big")
    body["metadata"]["annotations"] = {"a": "x" * (256 * 1024)}
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("default", body)
    assert err.value.status == 422
    assert "metadata.annotations: Too long: must have at most 262144 bytes" in _status(err)["message"]
    body["metadata"]["annotations"] = {"a": "x" * (256 * 1024 - 10)}
    core.create_namespaced_config_map("default", body)


def test_unsupported_field_selectors_are_refused(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_config_map("default", field_selector="data.a=1")
    assert err.value.status == 400 and _status(err)["message"] == "field label not supported: data.a"
    assert core.list_namespaced_pod("default", field_selector="status.phase=Running").items == []
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_config_map("default", field_selector="spec.x=1", watch=True, timeout_seconds=1)
    assert err.value.status == 400


def test_a_changed_uid_is_refused(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("cfg", a="1"))
    live = core.read_namespaced_config_map("cfg", "default").to_dict()
    body = copy.deepcopy(configmap("cfg", a="2"))
    body["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("cfg", "default", body)
    assert err.value.status == 409
    assert (
        "Precondition failed: UID in precondition: 00000000-0000-0000-0000-000000000000"
        in _status(err)["message"]
    )
    assert core.read_namespaced_config_map("cfg", "default").metadata.uid == live["metadata"]["uid"]
