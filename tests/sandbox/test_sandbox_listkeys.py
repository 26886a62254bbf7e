"""List semantics from the published schema: server-side apply keys container ports by
containerPort+protocol and Service ports by port+protocol (defaulted protocol counts as TCP),
managedFields name items by their full key, atomic maps are owned whole, strategic merge patch
merges by the schema's patch merge key, and apply of the /scale subresource moves ownership of
spec.replicas."""

from __future__ import annotations

import json

from kubernetes import client
from sandbox_helpers import deployment

APPLY = "application/apply-patch+yaml"
DEP = "/apis/apps/v1/namespaces/default/deployments/dns"
SVC = "/api/v1/namespaces/default/services/dns"


def _apply(raw, path: str, body: dict, manager: str, force: bool = False) -> tuple[int, dict]:
    query = f"?fieldManager={manager}" + ("&force=true" if force else "")
    code, _, out = raw("PATCH", path + query, body=json.dumps(body).encode(), headers={"Content-Type": APPLY})
    return code, json.loads(out)


def _dns_deployment(ports: list[dict]) -> dict:
    dep = deployment("dns")
    dep["spec"]["template"]["spec"]["containers"][0]["ports"] = ports
    return dep


def _fields(obj: dict, manager: str) -> dict:
    return next(e["fieldsV1"] for e in obj["metadata"]["managedFields"] if e["manager"] == manager)


def test_container_ports_keyed_by_port_and_protocol(raw, apps: client.AppsV1Api) -> None:
    code, obj = _apply(
        raw,
        DEP,
        _dns_deployment([{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53}]),
        "gitops",
    )
    assert code == 201, obj
    ports = obj["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert sorted((p["containerPort"], p["protocol"]) for p in ports) == [(53, "TCP"), (53, "UDP")]
    main = _fields(obj, "gitops")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"main"}']
    assert set(main["f:ports"]) == {
        'k:{"containerPort":53,"protocol":"UDP"}',
        'k:{"containerPort":53,"protocol":"TCP"}',
    }
    # Applying the same again (protocol spelled out this time) is no change and no conflict.
    code, again = _apply(
        raw,
        DEP,
        _dns_deployment([{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}]),
        "gitops",
    )
    assert code == 200, again
    assert len(again["spec"]["template"]["spec"]["containers"][0]["ports"]) == 2
    # Another manager adding 53/SCTP shares the list without a conflict.
    code, other = _apply(raw, DEP, _dns_deployment([{"containerPort": 53, "protocol": "SCTP"}]), "ops")
    assert code == 200, other
    live = apps.read_namespaced_deployment("dns", "default")
    assert sorted(p.protocol for p in live.spec.template.spec.containers[0].ports) == ["SCTP", "TCP", "UDP"]
    # gitops stops applying UDP: only its own item goes.
    code, obj = _apply(raw, DEP, _dns_deployment([{"containerPort": 53}]), "gitops")
    ports = obj["spec"]["template"]["spec"]["containers"][0]["ports"]
    assert sorted(p["protocol"] for p in ports) == ["SCTP", "TCP"]


def test_service_ports_keyed_by_port_and_protocol(raw, core: client.CoreV1Api) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "dns"},
        "spec": {
            "selector": {"app": "dns"},
            "ports": [
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
                {"name": "dns-udp", "port": 53, "protocol": "UDP"},
            ],
        },
    }
    code, obj = _apply(raw, SVC, svc, "gitops")
    assert code == 201, obj
    code, obj = _apply(raw, SVC, svc, "gitops")
    assert code == 200, obj
    live = core.read_namespaced_service("dns", "default")
    assert sorted((p.port, p.protocol, p.name) for p in live.spec.ports) == [
        (53, "TCP", "dns-tcp"),
        (53, "UDP", "dns-udp"),
    ]
    assert set(_fields(obj, "gitops")["f:spec"]["f:ports"]) == {
        'k:{"port":53,"protocol":"TCP"}',
        'k:{"port":53,"protocol":"UDP"}',
    }


def test_label_selector_is_an_atomic_map(raw) -> None:
    code, obj = _apply(raw, DEP, deployment("dns"), "gitops")
    assert code == 201
    assert _fields(obj, "gitops")["f:spec"]["f:selector"] == {}


def test_strategic_merge_uses_the_schema_patch_key(raw, core: client.CoreV1Api) -> None:
    core.create_namespaced_service(
        "default",
        {
            "metadata": {"name": "dns"},
            "spec": {"selector": {"app": "dns"}, "ports": [{"name": "a", "port": 53, "protocol": "TCP"}]},
        },
    )
    patch = {"spec": {"ports": [{"name": "b", "port": 54, "protocol": "UDP"}]}}
    code, _, out = raw(
        "PATCH",
        SVC,
        body=json.dumps(patch).encode(),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert code == 200, out
    assert sorted(p["port"] for p in json.loads(out)["spec"]["ports"]) == [53, 54]
    # Tolerations have no patch strategy in the schema: a strategic patch replaces the list.
    dep = deployment("dns")
    dep["spec"]["template"]["spec"]["tolerations"] = [{"key": "a", "operator": "Exists"}]
    _apply(raw, DEP, dep, "gitops")
    patch = {"spec": {"template": {"spec": {"tolerations": [{"key": "b", "operator": "Exists"}]}}}}
    code, _, out = raw(
        "PATCH",
        DEP,
        body=json.dumps(patch).encode(),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert code == 200, out
    assert [t["key"] for t in json.loads(out)["spec"]["template"]["spec"]["tolerations"]] == ["b"]


def test_apply_to_scale_moves_replicas_ownership(raw, apps: client.AppsV1Api) -> None:
    code, _ = _apply(raw, DEP, deployment("dns", replicas=2), "gitops")
    assert code == 201
    scale = {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {"name": "dns"},
        "spec": {"replicas": 4},
    }
    code, status = _apply(raw, DEP + "/scale", scale, "hpa")
    assert code == 409, status
    assert 'conflict with "gitops"' in status["message"] and ".spec.replicas" in status["message"]
    code, out = _apply(raw, DEP + "/scale", scale, "hpa", force=True)
    assert code == 200, out
    assert out["kind"] == "Scale" and out["spec"]["replicas"] == 4
    live = apps.read_namespaced_deployment("dns", "default")
    assert live.spec.replicas == 4
    entries = {(e.manager, e.operation, e.subresource): e.fields_v1 for e in live.metadata.managed_fields}
    assert entries[("hpa", "Apply", "scale")] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in entries[("gitops", "Apply", None)]["f:spec"]


def test_kubectl_server_side_apply_of_tcp_and_udp_dns(kubectl) -> None:
    manifest = """
apiVersion: v1
kind: Service
metadata:
  name: dns
spec:
  selector:
    app: dns
  ports:
  - {name: dns-tcp, port: 53}
  - {name: dns-udp, port: 53, protocol: UDP}
"""
    for _ in range(2):
        out = kubectl("apply", "--server-side", "-f", "-", input=manifest)
        assert out.returncode == 0, out.stderr
    svc = json.loads(kubectl("get", "service", "dns", "-o", "json", check=True).stdout)
    assert sorted((p["name"], p["protocol"]) for p in svc["spec"]["ports"]) == [
        ("dns-tcp", "TCP"),
        ("dns-udp", "UDP"),
    ]
    diff = kubectl("diff", "--server-side", "-f", "-", input=manifest)
    assert diff.returncode == 0, diff.stdout + diff.stderr


def test_apply_with_duplicate_list_keys_is_refused(raw) -> None:
    # Two items with the same key (53/TCP, once with the protocol defaulted) are one item to apply.
    code, status = _apply(
        raw, DEP, _dns_deployment([{"containerPort": 53}, {"containerPort": 53, "protocol": "TCP"}]), "gitops"
    )
    assert code == 500, status
    assert status["message"] == (
        "failed to create typed patch object (default/dns; apps/v1, Kind=Deployment): "
        '.spec.template.spec.containers[name="main"].ports: duplicate entries for key '
        '[containerPort=53,protocol="TCP"]'
    )
