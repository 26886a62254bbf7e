"""The controllers a user sees: real Pods under ReplicaSets, Jobs, StatefulSets and DaemonSets,
Deployments that roll ReplicaSets, per-namespace ServiceAccount and CA, Events, and `kubectl logs`."""

from __future__ import annotations

import json
import threading
from typing import Any

import yaml
from kubernetes import client, watch
from sandbox_helpers import ROOT_CA, deployment, wait_for

from gitopsd.sandbox import SandboxCluster


def _available(apps: client.AppsV1Api, name: str, replicas: int) -> Any:
    dep = apps.read_namespaced_deployment(name, "default")
    s = dep.status
    done = (
        s.observed_generation == dep.metadata.generation
        and (s.available_replicas or 0) == replicas
        and (s.updated_replicas or 0) == replicas
        and (s.replicas or 0) == replicas
    )
    return dep if done else None


def _pods(core: client.CoreV1Api, selector: str) -> list[Any]:
    return [
        p
        for p in core.list_namespaced_pod("default", label_selector=selector).items
        if not p.metadata.deletion_timestamp
    ]


def test_replicaset_pods_look_like_a_real_clusters(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("web", replicas=3))
    dep = wait_for(lambda: _available(apps, "web", 3))
    assert dep.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    [rs] = apps.list_namespaced_replica_set("default").items
    assert rs.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    hash_ = rs.metadata.labels["pod-template-hash"]
    assert rs.metadata.name == f"web-{hash_}" and rs.spec.selector.match_labels["pod-template-hash"] == hash_
    pods = wait_for(
        lambda: len(p := _pods(core, "app=web")) == 3 and all(x.status.phase == "Running" for x in p) and p
    )
    for pod in pods:
        meta, spec, status = pod.metadata, pod.spec, pod.status
        assert meta.name.startswith(f"{rs.metadata.name}-") and len(meta.name) == len(rs.metadata.name) + 6
        assert meta.generate_name == f"{rs.metadata.name}-"
        [ref] = meta.owner_references
        assert (ref.kind, ref.name, ref.uid, ref.controller) == (
            "ReplicaSet",
            rs.metadata.name,
            rs.metadata.uid,
            True,
        )
        assert meta.labels == {"app": "web", "pod-template-hash": hash_}
        # What admission and the scheduler add.
        assert spec.service_account_name == "default" and spec.node_name
        assert spec.enable_service_links is True and spec.dns_policy == "ClusterFirst"
        assert spec.restart_policy == "Always" and spec.scheduler_name == "default-scheduler"
        [vol] = [v for v in spec.volumes if v.name.startswith("kube-api-access-")]
        sources = vol.projected.sources
        assert sources[0].service_account_token.path == "token"
        assert sources[1].config_map.name == ROOT_CA
        [mount] = spec.containers[0].volume_mounts
        assert (mount.name, mount.mount_path, mount.read_only) == (
            vol.name,
            "/var/run/secrets/kubernetes.io/serviceaccount",
            True,
        )
        assert {(t.key, t.effect, t.toleration_seconds) for t in spec.tolerations} == {
            ("node.kubernetes.io/not-ready", "NoExecute", 300),
            ("node.kubernetes.io/unreachable", "NoExecute", 300),
        }
        conditions = {c.type: c.status for c in status.conditions}
        assert conditions == {
            "PodReadyToStartContainers": "True",
            "Initialized": "True",
            "Ready": "True",
            "ContainersReady": "True",
            "PodScheduled": "True",
        }
        [cs] = status.container_statuses
        assert (cs.name, cs.ready, cs.started, cs.restart_count) == ("main", True, True, 0)
        assert cs.image == "docker.io/library/nginx:1.27" and cs.image_id.startswith(
            "docker.io/library/nginx@sha256:"
        )
        assert cs.state.running.started_at is not None and status.pod_ip and status.host_ip
    # A deleted pod is replaced, as a ReplicaSet keeps its count.
    core.delete_namespaced_pod(pods[0].metadata.name, "default")
    wait_for(
        lambda: (
            len(p := _pods(core, "app=web")) == 3
            and pods[0].metadata.name not in {x.metadata.name for x in p}
        )
    )


def test_rolling_update_honours_surge_and_unavailability_and_reuses_replicasets(
    api_client: client.ApiClient, apps: client.AppsV1Api
) -> None:
    dep = deployment("web", replicas=4)
    dep["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    apps.create_namespaced_deployment("default", dep)
    first = wait_for(lambda: _available(apps, "web", 4))
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def record() -> None:
        w = watch.Watch()
        for ev in w.stream(
            apps.list_namespaced_deployment,
            "default",
            resource_version=first.metadata.resource_version,
            timeout_seconds=20,
        ):
            seen.append(api_client.sanitize_for_serialization(ev["object"].status))
            if stop.is_set():
                w.stop()

    watcher = threading.Thread(target=record)
    watcher.start()
    apps.patch_namespaced_deployment(
        "web",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}},
    )
    wait_for(lambda: _available(apps, "web", 4) and any(s.get("updatedReplicas") == 4 for s in seen))
    stop.set()
    apps.patch_namespaced_deployment("web", "default", {"metadata": {"labels": {"poke": "1"}}})
    watcher.join(30)
    # Intermediate states: old and new pods side by side, never more than 4+1, never fewer than 4 available.
    assert any(0 < (s.get("updatedReplicas") or 0) < 4 for s in seen)
    assert max(s.get("replicas") or 0 for s in seen) == 5
    assert min(s.get("availableReplicas") or 0 for s in seen) >= 4
    progressing = [c["reason"] for s in seen for c in s.get("conditions") or [] if c["type"] == "Progressing"]
    assert "ReplicaSetUpdated" in progressing and progressing[-1] == "NewReplicaSetAvailable"
    rs_by_rev = {
        r.metadata.annotations["deployment.kubernetes.io/revision"]: r
        for r in apps.list_namespaced_replica_set("default").items
    }
    assert (
        set(rs_by_rev) == {"1", "2"}
        and rs_by_rev["1"].spec.replicas == 0
        and rs_by_rev["2"].spec.replicas == 4
    )
    # Back to the first template: its ReplicaSet is reused (same name) under revision 3.
    apps.patch_namespaced_deployment(
        "web",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}},
    )
    back = wait_for(
        lambda: (
            (d := _available(apps, "web", 4))
            and d.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
            and d
        )
    )
    reused = apps.read_namespaced_replica_set(rs_by_rev["1"].metadata.name, "default")
    assert reused.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert reused.metadata.annotations["deployment.kubernetes.io/revision-history"] == "1"
    assert reused.spec.replicas == 4 and len(apps.list_namespaced_replica_set("default").items) == 2
    assert {c.type: c.reason for c in back.status.conditions} == {
        "Available": "MinimumReplicasAvailable",
        "Progressing": "NewReplicaSetAvailable",
    }


def test_recreate_scales_old_pods_away_before_new_ones(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    dep = deployment("db", replicas=2)
    dep["spec"]["strategy"] = {"type": "Recreate"}
    apps.create_namespaced_deployment("default", dep)
    wait_for(lambda: _available(apps, "db", 2))
    apps.patch_namespaced_deployment(
        "db", "default", {"spec": {"template": {"metadata": {"labels": {"app": "db", "v": "2"}}}}}
    )
    wait_for(lambda: _available(apps, "db", 2) and len(_pods(core, "v=2")) == 2)
    events = core.list_namespaced_event("default", field_selector="involvedObject.name=db").items
    scaling = [
        e.message for e in sorted(events, key=lambda e: e.metadata.name) if e.reason == "ScalingReplicaSet"
    ]
    assert [m.split(" replica set ")[0] for m in scaling] == ["Scaled up", "Scaled down", "Scaled up"]
    assert scaling[1].endswith("from 2 to 0") and scaling[2].endswith("from 0 to 2")


def test_scale_subresource_and_kubectl_scale_change_the_pod_count(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubectl
) -> None:
    apps.create_namespaced_deployment("default", deployment("web", replicas=1))
    wait_for(lambda: _available(apps, "web", 1))
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    wait_for(lambda: _available(apps, "web", 3) and len(_pods(core, "app=web")) == 3)
    assert kubectl("scale", "deployment/web", "--replicas=1").returncode == 0
    wait_for(lambda: _available(apps, "web", 1) and len(_pods(core, "app=web")) == 1)
    [rs] = apps.list_namespaced_replica_set("default").items
    assert (
        rs.spec.replicas == 1 and rs.metadata.annotations["deployment.kubernetes.io/desired-replicas"] == "1"
    )


def test_kubectl_rollout_status_follows_deployments_statefulsets_and_daemonsets(kubectl) -> None:
    sts = deployment("db", replicas=2)
    sts["kind"], sts["spec"]["serviceName"] = "StatefulSet", "db"
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    docs = yaml.safe_dump_all([deployment("web", replicas=3), sts, ds])
    assert kubectl("apply", "-f", "-", input=docs).returncode == 0
    for target in ("deployment/web", "statefulset/db", "daemonset/agent"):
        done = kubectl("rollout", "status", target, "--timeout=60s")
        assert done.returncode == 0, done.stderr
    assert kubectl("set", "image", "deployment/web", "main=nginx:1.28").returncode == 0
    done = kubectl("rollout", "status", "deployment/web", "--timeout=60s")
    assert done.returncode == 0 and 'deployment "web" successfully rolled out' in done.stdout
    assert "new replicas have been updated" in done.stdout or "old replicas are pending" in done.stdout
    history = kubectl("rollout", "history", "deployment/web")
    assert history.returncode == 0 and "1 " in history.stdout and "2 " in history.stdout
    pods = kubectl("get", "pods", "-o", "json")
    names = sorted(p["metadata"]["name"] for p in json.loads(pods.stdout)["items"])
    assert "db-0" in names and "db-1" in names and any(n.startswith("agent-") for n in names)


def test_statefulset_pods_are_ordered_and_carry_identity(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    sts = deployment("db", replicas=3)
    sts["kind"], sts["spec"]["serviceName"] = "StatefulSet", "db"
    sts["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]
    apps.create_namespaced_stateful_set("default", sts)
    status = wait_for(
        lambda: (s := apps.read_namespaced_stateful_set("db", "default").status).ready_replicas == 3 and s
    )
    assert status.current_revision == status.update_revision
    pods = {p.metadata.name: p for p in _pods(core, "app=db")}
    assert sorted(pods) == ["db-0", "db-1", "db-2"]
    # OrderedReady: each pod was created only after the one before it was ready.
    created = [pods[f"db-{i}"].metadata.creation_timestamp for i in range(3)]
    assert created == sorted(created)
    pod = pods["db-1"]
    assert pod.metadata.labels["controller-revision-hash"] == status.update_revision
    assert pod.metadata.labels["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert pod.metadata.labels["apps.kubernetes.io/pod-index"] == "1"
    assert (pod.spec.hostname, pod.spec.subdomain) == ("db-1", "db")
    claims = {v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim}
    assert claims == {"data-db-1"}
    assert core.read_namespaced_persistent_volume_claim("data-db-1", "default").spec.resources.requests == {
        "storage": "1Gi"
    }


def test_daemonset_runs_one_pod_on_the_node(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    apps.create_namespaced_daemon_set("default", ds)
    wait_for(lambda: apps.read_namespaced_daemon_set("agent", "default").status.number_ready == 1)
    [pod] = _pods(core, "app=agent")
    assert (
        pod.metadata.owner_references[0].kind == "DaemonSet"
        and pod.metadata.labels["controller-revision-hash"]
    )
    keys = {t.key for t in pod.spec.tolerations}
    assert {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/unschedulable",
    } <= keys
    terms = pod.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    assert terms[0].match_fields[0].values == [pod.spec.node_name]


def test_job_pods_carry_the_job_labels(api_client: client.ApiClient, core: client.CoreV1Api) -> None:
    batch = client.BatchV1Api(api_client)
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate"},
        "spec": {
            "completions": 2,
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox:1"}]}
            },
        },
    }
    created = batch.create_namespaced_job("default", job)
    done = wait_for(
        lambda: (j := batch.read_namespaced_job("migrate", "default")).status.succeeded == 2 and j
    )
    assert {c.type for c in done.status.conditions} == {"SuccessCriteriaMet", "Complete"}
    pods = core.list_namespaced_pod("default", label_selector="batch.kubernetes.io/job-name=migrate").items
    assert len(pods) == 2 and all(p.status.phase == "Succeeded" for p in pods)
    labels = pods[0].metadata.labels
    assert (
        labels["job-name"] == "migrate"
        and labels["batch.kubernetes.io/controller-uid"] == created.metadata.uid
    )
    assert pods[0].metadata.name.startswith("migrate-")
    [cs] = pods[0].status.container_statuses
    assert cs.state.terminated.reason == "Completed" and cs.state.terminated.exit_code == 0


def test_every_namespace_gets_its_service_account_and_root_ca(
    sandbox: SandboxCluster, core: client.CoreV1Api
) -> None:
    for ns in ("default", "kube-system"):
        assert core.read_namespaced_service_account("default", ns).metadata.name == "default"
    core.create_namespace({"metadata": {"name": "later"}})
    sa = wait_for(lambda: core.list_namespaced_service_account("later").items)
    assert [s.metadata.name for s in sa] == ["default"]
    cm = wait_for(lambda: core.list_namespaced_config_map("later").items)
    assert cm[0].metadata.name == ROOT_CA and cm[0].data == {"ca.crt": sandbox.ca_pem.decode()}
    core.delete_namespaced_config_map(ROOT_CA, "later")
    core.delete_namespaced_service_account("default", "later")
    wait_for(
        lambda: (
            core.list_namespaced_config_map("later").items
            and core.list_namespaced_service_account("later").items
        )
    )


def test_controllers_write_events_readable_both_ways(
    api_client: client.ApiClient, apps: client.AppsV1Api, kubectl
) -> None:
    apps.create_namespaced_deployment("default", deployment("web", replicas=1))
    wait_for(lambda: _available(apps, "web", 1))
    core_events = client.CoreV1Api(api_client).list_namespaced_event("default").items
    by_reason = {e.reason: e for e in core_events}
    assert {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Pulled", "Created", "Started"} <= set(
        by_reason
    )
    scaled = by_reason["ScalingReplicaSet"]
    assert scaled.source.component == "deployment-controller" and scaled.involved_object.kind == "Deployment"
    assert scaled.count == 1 and scaled.first_timestamp and scaled.type == "Normal"
    assert by_reason["Started"].source.component == "kubelet"
    assert by_reason["Started"].involved_object.field_path == "spec.containers{main}"
    assert (
        by_reason["Scheduled"].reporting_component == "default-scheduler"
        and by_reason["Scheduled"].event_time
    )
    # Read raw: a real server sends `eventTime: null` for core-recorded events through
    # events.k8s.io/v1, which the official client's model refuses (kubernetes-client/python#1616).
    reply = client.EventsV1Api(api_client).list_namespaced_event("default", _preload_content=False)
    new_api = json.loads(reply.data)["items"]
    assert {e["metadata"]["uid"] for e in new_api} == {e.metadata.uid for e in core_events}
    scaled_v1 = next(e for e in new_api if e["reason"] == "ScalingReplicaSet")
    assert scaled_v1["apiVersion"] == "events.k8s.io/v1" and scaled_v1["eventTime"] is None
    assert scaled_v1["note"] == scaled.message and scaled_v1["regarding"]["name"] == "web"
    assert scaled_v1["reportingController"] == "deployment-controller" and scaled_v1["deprecatedCount"] == 1
    assert "message" not in scaled_v1 and "involvedObject" not in scaled_v1
    table = kubectl("get", "events")
    assert table.returncode == 0 and table.stdout.split()[:5] == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT"]
    assert "deployment/web" in table.stdout and "Scaled up replica set" in table.stdout
    recent = kubectl("events", "--for", "deployment/web")
    assert recent.returncode == 0 and "ScalingReplicaSet" in recent.stdout
    assert "ScalingReplicaSet" in kubectl("describe", "deployment", "web").stdout
