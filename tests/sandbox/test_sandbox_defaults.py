"""Server-side defaulting: the fields a real API server fills in, kept stable across writes."""

from __future__ import annotations

from kubernetes import client
from sandbox_helpers import deployment


def test_deployment_defaults(apps: client.AppsV1Api) -> None:
    dep = deployment("web", image="nginx:1.27")
    dep["spec"]["template"]["spec"]["containers"] += [
        {"name": "latest", "image": "busybox:latest"},
        {"name": "untagged", "image": "registry.local:5000/tools"},
        {"name": "pinned", "image": "busybox@sha256:" + "a" * 64},
    ]
    del dep["spec"]["replicas"]
    created = apps.create_namespaced_deployment("default", dep)
    spec = created.spec
    assert spec.replicas == 1
    assert spec.strategy.type == "RollingUpdate"
    assert (spec.strategy.rolling_update.max_surge, spec.strategy.rolling_update.max_unavailable) == (
        "25%",
        "25%",
    )
    assert (spec.revision_history_limit, spec.progress_deadline_seconds) == (10, 600)
    pod = spec.template.spec
    assert (pod.restart_policy, pod.dns_policy, pod.scheduler_name, pod.termination_grace_period_seconds) == (
        "Always",
        "ClusterFirst",
        "default-scheduler",
        30,
    )
    policies = {c.name: c.image_pull_policy for c in pod.containers}
    assert policies == {
        "main": "IfNotPresent",
        "latest": "Always",
        "untagged": "Always",
        "pinned": "IfNotPresent",
    }
    main = pod.containers[0]
    assert (main.termination_message_path, main.termination_message_policy) == (
        "/dev/termination-log",
        "File",
    )
    assert main.ports[0].protocol == "TCP"


def test_service_defaults_and_cluster_ip_is_kept(core: client.CoreV1Api) -> None:
    svc = core.create_namespaced_service(
        "default", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}
    )
    assert svc.spec.type == "ClusterIP" and svc.spec.session_affinity == "None"
    assert svc.spec.cluster_ip.startswith("10.96.") and svc.spec.cluster_ips == [svc.spec.cluster_ip]
    assert (svc.spec.ports[0].protocol, svc.spec.ports[0].target_port) == ("TCP", 80)
    replaced = core.replace_namespaced_service(
        "web",
        "default",
        {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}], "selector": {"app": "web"}}},
    )
    assert replaced.spec.cluster_ip == svc.spec.cluster_ip
    other = core.create_namespaced_service(
        "default", {"metadata": {"name": "other"}, "spec": {"ports": [{"port": 81}]}}
    )
    assert other.spec.cluster_ip != svc.spec.cluster_ip
    nodeport = core.create_namespaced_service(
        "default", {"metadata": {"name": "np"}, "spec": {"type": "NodePort", "ports": [{"port": 80}]}}
    )
    assert 30000 <= nodeport.spec.ports[0].node_port <= 32767


def test_a_no_op_write_changes_nothing(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", {"metadata": {"name": "cm"}, "data": {"a": "1"}})
    before = core.read_namespaced_config_map("cm", "default")
    after = core.replace_namespaced_config_map("cm", "default", before)
    assert after.metadata.resource_version == before.metadata.resource_version
    patched = core.patch_namespaced_config_map("cm", "default", {"data": {"a": "1"}})
    assert patched.metadata.resource_version == before.metadata.resource_version
    # Re-sending the manifest without the defaulted fields is also a no-op for the spec.
    apps.create_namespaced_deployment("default", deployment("web"))
    again = apps.replace_namespaced_deployment("web", "default", deployment("web"))
    assert again.metadata.generation == 1
