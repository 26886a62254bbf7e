"""Kinds a real cluster serves: discovery lists them (kubectl api-resources), a fresh cluster has
a Ready node, the default `standard` StorageClass and the API priority and fairness defaults; a
claim is provisioned (Pending → Bound, with a Bound PersistentVolume); Services get Endpoints and
EndpointSlices from matching Pods; webhook configurations are stored (not called); a throttling
fault answers 429 with Retry-After and the TooManyRequests Status."""

from __future__ import annotations

import json

from kubernetes import client
from sandbox_helpers import wait_for

EXPECTED = {
    # name: (apiVersion, namespaced, short names)
    "nodes": ("v1", "false", "no"),
    "persistentvolumes": ("v1", "false", "pv"),
    "replicationcontrollers": ("v1", "true", "rc"),
    "limitranges": ("v1", "true", "limits"),
    "endpoints": ("v1", "true", "ep"),
    "endpointslices": ("discovery.k8s.io/v1", "true", ""),
    "controllerrevisions": ("apps/v1", "true", ""),
    "leases": ("coordination.k8s.io/v1", "true", ""),
    "storageclasses": ("storage.k8s.io/v1", "false", "sc"),
    "mutatingwebhookconfigurations": ("admissionregistration.k8s.io/v1", "false", ""),
    "validatingwebhookconfigurations": ("admissionregistration.k8s.io/v1", "false", ""),
    "flowschemas": ("flowcontrol.apiserver.k8s.io/v1", "false", ""),
    "prioritylevelconfigurations": ("flowcontrol.apiserver.k8s.io/v1", "false", ""),
}


def test_kubectl_api_resources_lists_the_kinds(kubectl) -> None:
    out = kubectl("api-resources", "-o", "wide", "--no-headers", check=True).stdout
    rows: dict[str, list[str]] = {}
    for line in out.splitlines():
        cols = line.split()
        rows[cols[0]] = cols
    for name, (api_version, namespaced, short) in EXPECTED.items():
        assert name in rows, f"{name} missing from kubectl api-resources"
        cols = rows[name]
        assert api_version in cols and namespaced in cols, cols
        if short:
            assert short in cols[1].split(","), cols


def test_fresh_cluster_objects(kubectl, core: client.CoreV1Api, api_client: client.ApiClient) -> None:
    [node] = core.list_node().items
    ready = {c.type: c.status for c in node.status.conditions}
    assert ready["Ready"] == "True" and ready["MemoryPressure"] == "False"
    assert node.status.capacity["cpu"] and node.status.allocatable["pods"] == "110"
    assert {a.type for a in node.status.addresses} == {"InternalIP", "Hostname"}
    assert node.status.node_info.kubelet_version.startswith("v1.37")
    out = kubectl("get", "nodes", "--no-headers", check=True).stdout
    assert node.metadata.name in out and "Ready" in out
    [sc] = client.StorageV1Api(api_client).list_storage_class().items
    assert sc.metadata.name == "standard"
    assert sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
    flow = client.FlowcontrolApiserverV1Api(api_client)
    schemas = {
        f.metadata.name: f.spec.priority_level_configuration.name for f in flow.list_flow_schema().items
    }
    assert schemas["exempt"] == "exempt" and schemas["catch-all"] == "catch-all"
    assert schemas["global-default"] == "global-default" and schemas["service-accounts"] == "workload-low"
    levels = {p.metadata.name: p.spec.type for p in flow.list_priority_level_configuration().items}
    assert levels["exempt"] == "Exempt" and levels["workload-high"] == "Limited"
    leases = client.CoordinationV1Api(api_client).list_namespaced_lease("kube-node-lease").items
    assert [lease.spec.holder_identity for lease in leases] == [node.metadata.name]


def test_claim_is_provisioned_and_released(core: client.CoreV1Api) -> None:
    core.create_namespaced_persistent_volume_claim(
        "default",
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
        },
    )
    assert core.read_namespaced_persistent_volume_claim("data", "default").status.phase == "Pending"
    pvc = wait_for(
        lambda: (
            (c := core.read_namespaced_persistent_volume_claim("data", "default")).status.phase == "Bound"
            and c
        )
    )
    assert pvc.spec.storage_class_name == "standard"
    assert pvc.status.capacity == {"storage": "2Gi"}
    pv = core.read_persistent_volume(pvc.spec.volume_name)
    assert pv.status.phase == "Bound"
    assert (pv.spec.claim_ref.name, pv.spec.claim_ref.uid) == ("data", pvc.metadata.uid)
    assert pv.spec.persistent_volume_reclaim_policy == "Delete"
    core.delete_namespaced_persistent_volume_claim("data", "default")
    wait_for(
        lambda: not [v for v in core.list_persistent_volume().items if v.metadata.name == pv.metadata.name]
    )


def test_service_endpoints_follow_ready_pods(core: client.CoreV1Api, api_client: client.ApiClient) -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"app": "web"},
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
    )

    def endpoints():
        try:
            return core.read_namespaced_endpoints("web", "default")
        except client.ApiException:
            return None

    ep = wait_for(endpoints)
    assert not ep.subsets
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "web-1", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}
                ]
            },
        },
    )
    pod = wait_for(lambda: (p := core.read_namespaced_pod("web-1", "default")).status.pod_ip and p)

    def ready_addresses():
        subsets = core.read_namespaced_endpoints("web", "default").subsets or []
        return [(a.ip, s.ports[0].port) for s in subsets for a in s.addresses or []]

    assert wait_for(lambda: ready_addresses() == [(pod.status.pod_ip, 8080)])
    slices = client.DiscoveryV1Api(api_client).list_namespaced_endpoint_slice(
        "default", label_selector="kubernetes.io/service-name=web"
    )
    [sl] = slices.items
    assert sl.address_type == "IPv4" and sl.ports[0].port == 8080
    assert sl.metadata.owner_references[0].kind == "Service"
    assert [e.addresses for e in sl.endpoints] == [[pod.status.pod_ip]]


def test_webhook_configurations_are_stored(kubectl) -> None:
    manifest = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "policy"},
        "webhooks": [
            {
                "name": "policy.example.com",
                "clientConfig": {"url": "https://policy.invalid/validate"},
                "rules": [
                    {
                        "operations": ["CREATE"],
                        "apiGroups": [""],
                        "apiVersions": ["v1"],
                        "resources": ["pods"],
                    }
                ],
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
            }
        ],
    }
    out = kubectl("apply", "--server-side", "-f", "-", input=json.dumps(manifest))
    assert out.returncode == 0, out.stderr
    got = kubectl("get", "validatingwebhookconfigurations", "policy", "-o", "json", check=True).stdout
    assert json.loads(got)["webhooks"][0]["name"] == "policy.example.com"
    # Stored, never called: creating a pod still works.
    out = kubectl("run", "p", "--image=nginx")
    assert out.returncode == 0, out.stderr


def test_throttling_fault_answers_429_with_retry_after(sandbox, raw) -> None:
    sandbox.faults.add(path_contains="/configmaps", status=429, retry_after=2, times=1)
    code, headers, body = raw("GET", "/api/v1/namespaces/default/configmaps")
    assert code == 429
    assert headers["retry-after"] == "2"
    status = json.loads(body)
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Too many requests, please try again later.",
        "reason": "TooManyRequests",
        "details": {"retryAfterSeconds": 2},
        "code": 429,
    }
    code, _, _ = raw("GET", "/api/v1/namespaces/default/configmaps")
    assert code == 200
