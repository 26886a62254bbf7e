"""The simulated controllers: workloads get ready, Jobs finish or fail, Pods run, PVCs bind."""

from __future__ import annotations

from kubernetes import client
from sandbox_helpers import deployment, wait_for


def _deployment_ready(apps: client.AppsV1Api, name: str, generation: int, replicas: int):
    dep = apps.read_namespaced_deployment(name, "default")
    s = dep.status
    if s.observed_generation == generation and (s.available_replicas or 0) == replicas:
        return dep
    return None


def test_deployment_progresses_then_becomes_available(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("web", replicas=3))
    dep = wait_for(lambda: _deployment_ready(apps, "web", 1, 3))
    s = dep.status
    assert (s.replicas, s.ready_replicas, s.updated_replicas) == (3, 3, 3)
    conditions = {c.type: (c.status, c.reason) for c in s.conditions}
    assert conditions == {
        "Available": ("True", "MinimumReplicasAvailable"),
        "Progressing": ("True", "NewReplicaSetAvailable"),
    }
    apps.patch_namespaced_deployment("web", "default", {"spec": {"replicas": 1}})
    progressing = apps.read_namespaced_deployment("web", "default")
    # Right after a spec change it is not yet fully observed and available at the new generation.
    assert progressing.metadata.generation == 2
    dep = wait_for(lambda: _deployment_ready(apps, "web", 2, 1))
    assert dep.status.conditions[1].reason == "NewReplicaSetAvailable"
    [rs] = [r for r in apps.list_namespaced_replica_set("default").items if r.spec.replicas]
    assert rs.metadata.owner_references[0].kind == "Deployment"
    assert wait_for(
        lambda: apps.read_namespaced_replica_set(rs.metadata.name, "default").status.ready_replicas == 1
    )


def test_statefulset_and_daemonset_become_ready(apps: client.AppsV1Api) -> None:
    sts = deployment("db", replicas=2)
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "db"
    apps.create_namespaced_stateful_set("default", sts)
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    apps.create_namespaced_daemon_set("default", ds)
    ready = wait_for(
        lambda: (s := apps.read_namespaced_stateful_set("db", "default").status).ready_replicas == 2 and s
    )
    assert ready.current_revision == ready.update_revision and ready.observed_generation == 1
    d = wait_for(
        lambda: (s := apps.read_namespaced_daemon_set("agent", "default").status).number_ready == 1 and s
    )
    assert d.desired_number_scheduled == 1 and d.updated_number_scheduled == 1


def _job(name: str, annotations: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "run", "image": "busybox:1", "command": ["true"]}],
                }
            }
        },
    }


def test_job_completes_and_its_pod_succeeds(api_client: client.ApiClient, core: client.CoreV1Api) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job("default", _job("migrate"))
    pods = wait_for(lambda: core.list_namespaced_pod("default", label_selector="job-name=migrate").items)
    assert pods[0].metadata.owner_references[0].kind == "Job"
    job = wait_for(lambda: (j := batch.read_namespaced_job("migrate", "default")).status.succeeded == 1 and j)
    assert {c.type for c in job.status.conditions} >= {"Complete"}
    assert job.status.completion_time is not None
    pod = core.read_namespaced_pod(pods[0].metadata.name, "default")
    assert pod.status.phase == "Succeeded"
    batch.delete_namespaced_job("migrate", "default", propagation_policy="Background")
    assert core.list_namespaced_pod("default").items == []


def test_job_fails_when_annotated(api_client: client.ApiClient, core: client.CoreV1Api) -> None:
    """As a real Job: each failed pod is replaced until more than backoffLimit have failed."""
    batch = client.BatchV1Api(api_client)
    job = _job("broken", {"sandbox.gitopsd.io/job-result": "fail", "sandbox.gitopsd.io/job-duration": "0.1"})
    job["spec"]["backoffLimit"] = 1
    batch.create_namespaced_job("default", job)

    def failed_job():
        j = batch.read_namespaced_job("broken", "default")
        return any(c.type == "Failed" and c.status == "True" for c in j.status.conditions or []) and j

    job = wait_for(failed_job)
    assert job.status.failed == 2 and not job.status.succeeded
    assert [c.reason for c in job.status.conditions] == ["BackoffLimitExceeded", "BackoffLimitExceeded"]
    pods = core.list_namespaced_pod("default", label_selector="job-name=broken").items
    assert sorted(p.status.phase for p in pods) == ["Failed", "Failed"]


def test_job_duration_annotation_delays_completion(api_client: client.ApiClient) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job("default", _job("slow", {"sandbox.gitopsd.io/job-duration": "30"}))
    running = wait_for(lambda: (j := batch.read_namespaced_job("slow", "default")).status.active == 1 and j)
    batch.create_namespaced_job("default", _job("quick"))
    wait_for(lambda: batch.read_namespaced_job("quick", "default").status.succeeded == 1)
    # The quick job (default delay) finished while the 30 s one is still running.
    slow = batch.read_namespaced_job("slow", "default")
    assert slow.status.active == 1 and not slow.status.succeeded and running.status.start_time


def test_bare_pod_runs_pvc_binds_loadbalancer_gets_ingress(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_pod(
        "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    )
    assert created.status.phase == "Pending"
    core.create_namespaced_persistent_volume_claim(
        "default",
        {
            "metadata": {"name": "d"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
        },
    )
    core.create_namespaced_service(
        "default", {"metadata": {"name": "lb"}, "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}
    )
    pod = wait_for(lambda: (p := core.read_namespaced_pod("p", "default")).status.phase == "Running" and p)
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
    assert pod.status.container_statuses[0].ready is True
    pvc = wait_for(
        lambda: (
            (c := core.read_namespaced_persistent_volume_claim("d", "default")).status.phase == "Bound" and c
        )
    )
    assert pvc.status.capacity == {"storage": "2Gi"}
    svc = wait_for(
        lambda: (s := core.read_namespaced_service("lb", "default")).status.load_balancer.ingress and s
    )
    assert svc.status.load_balancer.ingress[0].ip.startswith("172.18.")


def test_namespaces_are_active(core: client.CoreV1Api) -> None:
    ns = core.create_namespace({"metadata": {"name": "fresh"}})
    assert ns.status.phase == "Active"
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": "fresh"}


def test_failing_rollout_and_crashing_pod(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    dep = deployment("broken")
    dep["metadata"]["annotations"] = {"sandbox.gitopsd.io/rollout-result": "fail"}
    apps.create_namespaced_deployment("default", dep)
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": "crashy", "annotations": {"sandbox.gitopsd.io/rollout-result": "fail"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        },
    )

    def progressing(d) -> tuple[str, str] | None:
        conds = {c.type: (c.status, c.reason) for c in d.status.conditions or []}
        return conds.get("Progressing")

    dead = wait_for(
        lambda: (
            (d := apps.read_namespaced_deployment("broken", "default"))
            and progressing(d) == ("False", "ProgressDeadlineExceeded")
            and d
        )
    )
    assert not dead.status.available_replicas

    def waiting_reason(p) -> str | None:
        statuses = p.status.container_statuses or []
        return statuses[0].state.waiting.reason if statuses and statuses[0].state.waiting else None

    # Like a kubelet, the sandbox first reports the container as ContainerCreating and only then
    # as crash-looping: under load a read can land between the two.
    seen: list[str | None] = []
    pod = wait_for(
        lambda: (
            (p := core.read_namespaced_pod("crashy", "default"))
            and seen.append(waiting_reason(p)) is None
            and seen[-1] == "CrashLoopBackOff"
            and p
        )
    )
    assert set(seen) <= {None, "ContainerCreating", "CrashLoopBackOff"}, seen
    assert pod.status.container_statuses[0].restart_count >= 1
    assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "False"


def test_ready_delay_annotation_holds_one_workload_back(apps: client.AppsV1Api) -> None:
    slow = deployment("slow")
    slow["metadata"]["annotations"] = {"sandbox.gitopsd.io/ready-delay": "30"}
    apps.create_namespaced_deployment("default", slow)
    apps.create_namespaced_deployment("default", deployment("quick"))
    wait_for(lambda: _deployment_ready(apps, "quick", 1, 2))
    held = apps.read_namespaced_deployment("slow", "default")
    assert held.status.observed_generation == 1 and not held.status.available_replicas


def test_fresh_and_scaled_to_zero_objects_parse_in_the_official_client(
    apps: client.AppsV1Api, api_client: client.ApiClient
) -> None:
    sts = deployment("zero", replicas=0)
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "zero"
    created = apps.create_namespaced_stateful_set("default", sts)
    assert created.status.replicas == 0
    rs = deployment("bare-rs")
    rs["kind"] = "ReplicaSet"
    assert apps.create_namespaced_replica_set("default", rs).status.replicas == 0
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    assert apps.create_namespaced_daemon_set("default", ds).status.number_ready == 0
    hpa = {
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "maxReplicas": 3,
        },
    }
    autoscaling = client.AutoscalingV2Api(api_client)
    assert (
        autoscaling.create_namespaced_horizontal_pod_autoscaler("default", hpa).status.desired_replicas == 0
    )
    wait_for(lambda: apps.read_namespaced_stateful_set("zero", "default").status.observed_generation == 1)
    assert apps.read_namespaced_stateful_set("zero", "default").status.replicas == 0
    wait_for(lambda: apps.read_namespaced_replica_set("bare-rs", "default").status.ready_replicas == 2)
