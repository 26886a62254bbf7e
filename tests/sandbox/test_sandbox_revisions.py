"""Workload history and the remaining controllers as a real cluster has them: StatefulSet and
DaemonSet ControllerRevisions (rollout history / undo, partitions, OnDelete, pruning, surge),
ReplicationControllers that run pods, and the Job delete that orphans its pods with a warning."""

from __future__ import annotations

import json
import threading
from typing import Any

from kubernetes import client, watch
from sandbox_helpers import deployment, wait_for

STS_HASH = "controller.kubernetes.io/hash"
REV = "controller-revision-hash"


def _sts(name: str, replicas: int, **spec: Any) -> dict[str, Any]:
    obj = deployment(name, replicas=replicas)
    obj["kind"], obj["spec"]["serviceName"] = "StatefulSet", name
    obj["spec"].update(spec)
    return obj


def _ds(name: str, **spec: Any) -> dict[str, Any]:
    obj = deployment(name)
    obj["kind"] = "DaemonSet"
    del obj["spec"]["replicas"]
    obj["spec"].update(spec)
    return obj


def _revisions(apps: client.AppsV1Api, owner: str) -> list[Any]:
    revs = [
        r
        for r in apps.list_namespaced_controller_revision("default").items
        if r.metadata.owner_references and r.metadata.owner_references[0].name == owner
    ]
    return sorted(revs, key=lambda r: r.revision)


def _pods(core: client.CoreV1Api, app: str) -> dict[str, Any]:
    return {
        p.metadata.name: p
        for p in core.list_namespaced_pod("default", label_selector=f"app={app}").items
        if not p.metadata.deletion_timestamp
    }


def _image(pod: Any) -> str:
    return str(pod.spec.containers[0].image)


def _sts_settled(apps: client.AppsV1Api, name: str, replicas: int) -> Any:
    sts = apps.read_namespaced_stateful_set(name, "default")
    s = sts.status
    done = (
        s.observed_generation == sts.metadata.generation
        and (s.ready_replicas or 0) == replicas
        and (s.updated_replicas or 0) == replicas
        and s.current_revision == s.update_revision
    )
    return sts if done else None


def test_statefulset_revisions_history_and_undo(
    apps: client.AppsV1Api, core: client.CoreV1Api, kubectl
) -> None:
    apps.create_namespaced_stateful_set("default", _sts("db", 2))
    sts = wait_for(lambda: _sts_settled(apps, "db", 2))
    [rev1] = _revisions(apps, "db")
    digest = rev1.metadata.labels[STS_HASH]
    assert rev1.metadata.name == f"db-{digest}" == sts.status.update_revision == sts.status.current_revision
    assert rev1.revision == 1 and rev1.metadata.labels["app"] == "db"
    [ref] = rev1.metadata.owner_references
    assert (ref.kind, ref.uid, ref.controller) == ("StatefulSet", sts.metadata.uid, True)
    template = rev1.data["spec"]["template"]
    assert template["$patch"] == "replace" and template["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert sts.status.collision_count == 0
    assert {p.metadata.labels[REV] for p in _pods(core, "db").values()} == {rev1.metadata.name}

    assert kubectl("set", "image", "statefulset/db", "main=nginx:1.28").returncode == 0
    done = kubectl("rollout", "status", "statefulset/db", "--timeout=60s")
    assert done.returncode == 0, done.stderr
    sts = wait_for(lambda: _sts_settled(apps, "db", 2))
    rev1, rev2 = _revisions(apps, "db")
    assert (
        rev2.revision == 2 and sts.status.update_revision == rev2.metadata.name == sts.status.current_revision
    )
    pods = _pods(core, "db")
    assert {_image(p) for p in pods.values()} == {"nginx:1.28"}
    assert {p.metadata.labels[REV] for p in pods.values()} == {rev2.metadata.name}
    history = kubectl("rollout", "history", "statefulset/db")
    assert history.returncode == 0, history.stderr
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
    one = kubectl("rollout", "history", "statefulset/db", "--revision=1")
    assert one.returncode == 0 and "nginx:1.27" in one.stdout, one.stderr

    undo = kubectl("rollout", "undo", "statefulset/db")
    assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stderr
    wait_for(
        lambda: (
            (s := _sts_settled(apps, "db", 2))
            and s.spec.template.spec.containers[0].image == "nginx:1.27"
            and {_image(p) for p in _pods(core, "db").values()} == {"nginx:1.27"}
        ),
        timeout=30,
    )
    # A rollback renumbers the old revision instead of making a new one.
    revs = _revisions(apps, "db")
    assert [(r.metadata.name, r.revision) for r in revs] == [(rev2.metadata.name, 2), (rev1.metadata.name, 3)]
    history = kubectl("rollout", "history", "statefulset/db")
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["2", "3"]


def test_statefulset_partition_holds_lower_ordinals_at_the_current_revision(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}
    apps.create_namespaced_stateful_set("default", _sts("db", 3, updateStrategy=strategy))
    old = wait_for(lambda: _sts_settled(apps, "db", 3)).status.current_revision
    apps.patch_namespaced_stateful_set(
        "db",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}},
    )

    def partitioned() -> Any:
        s = apps.read_namespaced_stateful_set("db", "default").status
        pods = _pods(core, "db")
        done = (
            s.update_revision != old
            and (s.updated_replicas or 0) == 1
            and (s.ready_replicas or 0) == 3
            and len(pods) == 3
            and pods["db-2"].metadata.labels[REV] == s.update_revision
        )
        return (s, pods) if done else None

    status, pods = wait_for(partitioned, timeout=30)
    assert status.current_revision == old and status.current_replicas == 2
    assert [_image(pods[f"db-{i}"]) for i in range(3)] == ["nginx:1.27", "nginx:1.27", "nginx:1.28"]
    # A pod below the partition that is deleted comes back at the current revision.
    core.delete_namespaced_pod("db-0", "default")
    back = wait_for(
        lambda: (p := _pods(core, "db").get("db-0")) is not None and p.status.phase == "Running" and p,
        timeout=30,
    )
    assert back.metadata.labels[REV] == old and _image(back) == "nginx:1.27"
    # Lowering the partition rolls the rest; the update revision then becomes the current one.
    apps.patch_namespaced_stateful_set(
        "db", "default", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}}
    )
    sts = wait_for(lambda: _sts_settled(apps, "db", 3), timeout=30)
    assert sts.status.current_revision == status.update_revision
    assert {_image(p) for p in _pods(core, "db").values()} == {"nginx:1.28"}


def test_statefulset_on_delete_replaces_only_deleted_pods(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    apps.create_namespaced_stateful_set("default", _sts("db", 2, updateStrategy={"type": "OnDelete"}))
    old = wait_for(lambda: _sts_settled(apps, "db", 2)).status.current_revision
    apps.patch_namespaced_stateful_set(
        "db",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}},
    )
    status = wait_for(
        lambda: (
            (s := apps.read_namespaced_stateful_set("db", "default").status).update_revision != old
            and s.observed_generation == 2
            and s
        )
    )
    assert status.current_revision == old and (status.updated_replicas or 0) == 0
    pods = _pods(core, "db")
    assert len(pods) == 2 and {p.metadata.labels[REV] for p in pods.values()} == {old}
    core.delete_namespaced_pod("db-1", "default")
    new = wait_for(
        lambda: (p := _pods(core, "db").get("db-1")) is not None and p.status.phase == "Running" and p,
        timeout=30,
    )
    assert new.metadata.labels[REV] == status.update_revision and _image(new) == "nginx:1.28"
    assert _pods(core, "db")["db-0"].metadata.labels[REV] == old


def test_revision_history_limit_prunes_the_oldest(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_stateful_set("default", _sts("db", 1, revisionHistoryLimit=2))
    wait_for(lambda: _sts_settled(apps, "db", 1))
    for tag in ("1.28", "1.29", "1.30", "1.31"):
        apps.patch_namespaced_stateful_set(
            "db",
            "default",
            {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": f"nginx:{tag}"}]}}}},
        )
        wait_for(
            lambda tag=tag: (
                (s := _sts_settled(apps, "db", 1))
                and s.spec.template.spec.containers[0].image == f"nginx:{tag}"
            ),
            timeout=30,
        )
    # The live revision plus revisionHistoryLimit (2) older ones: revisions 1 and 2 are gone.
    wait_for(lambda: [r.revision for r in _revisions(apps, "db")] == [3, 4, 5])


def test_ordered_ready_waits_for_each_pod_parallel_does_not(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    never_ready = {"sandbox.gitopsd.io/ready-delay": "3600"}
    ordered = _sts("ordered", 3)
    ordered["spec"]["template"]["metadata"]["annotations"] = never_ready
    parallel = _sts("burst", 3, podManagementPolicy="Parallel")
    parallel["spec"]["template"]["metadata"]["annotations"] = never_ready
    apps.create_namespaced_stateful_set("default", ordered)
    apps.create_namespaced_stateful_set("default", parallel)
    wait_for(lambda: sorted(_pods(core, "burst")) == ["burst-0", "burst-1", "burst-2"])
    wait_for(lambda: apps.read_namespaced_stateful_set("ordered", "default").status.replicas == 1)
    assert sorted(_pods(core, "ordered")) == ["ordered-0"]


def test_daemonset_revisions_and_undo(apps: client.AppsV1Api, core: client.CoreV1Api, kubectl) -> None:
    apps.create_namespaced_daemon_set("default", _ds("agent"))
    wait_for(lambda: apps.read_namespaced_daemon_set("agent", "default").status.number_ready == 1)
    [rev1] = _revisions(apps, "agent")
    [pod] = _pods(core, "agent").values()
    digest = pod.metadata.labels[REV]
    assert rev1.metadata.name == f"agent-{digest}" and rev1.metadata.labels[REV] == digest
    assert rev1.revision == 1 and rev1.metadata.owner_references[0].kind == "DaemonSet"
    assert kubectl("set", "image", "daemonset/agent", "main=nginx:1.28").returncode == 0
    done = kubectl("rollout", "status", "daemonset/agent", "--timeout=60s")
    assert done.returncode == 0, done.stderr
    history = kubectl("rollout", "history", "daemonset/agent")
    assert [line.split()[0] for line in history.stdout.splitlines()[2:] if line.strip()] == ["1", "2"]
    undo = kubectl("rollout", "undo", "daemonset/agent")
    assert undo.returncode == 0 and "rolled back" in undo.stdout, undo.stderr
    back = wait_for(
        lambda: (
            len(p := list(_pods(core, "agent").values())) == 1
            and _image(p[0]) == "nginx:1.27"
            and p[0].status.phase == "Running"
            and p[0]
        ),
        timeout=30,
    )
    assert back.metadata.labels[REV] == digest
    assert [(r.metadata.name, r.revision) for r in _revisions(apps, "agent")][-1] == (rev1.metadata.name, 3)


def _roll_order(apps: client.AppsV1Api, core: client.CoreV1Api, ds: dict[str, Any]) -> list[str]:
    """Roll a DaemonSet to a new image; returns the order of 'new pod added' / 'old pod deleted'."""
    apps.create_namespaced_daemon_set("default", ds)
    wait_for(lambda: apps.read_namespaced_daemon_set("agent", "default").status.number_ready == 1)
    [old] = _pods(core, "agent")
    seen: list[str] = []
    w = watch.Watch()
    rv = core.list_namespaced_pod("default").metadata.resource_version
    started = threading.Event()

    def follow() -> None:
        started.set()
        for ev in w.stream(
            core.list_namespaced_pod,
            "default",
            label_selector="app=agent",
            resource_version=rv,
            timeout_seconds=30,
        ):
            pod = ev["object"]
            if pod.metadata.name == old and pod.metadata.deletion_timestamp and "old-deleted" not in seen:
                seen.append("old-deleted")
            elif pod.metadata.name != old and ev["type"] == "ADDED":
                seen.append("new-added")
            if len(seen) == 2:
                w.stop()

    t = threading.Thread(target=follow)
    t.start()
    started.wait()
    apps.patch_namespaced_daemon_set(
        "agent",
        "default",
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}},
    )
    t.join(timeout=40)
    w.stop()
    return seen


def test_daemonset_max_unavailable_deletes_then_creates(
    apps: client.AppsV1Api, core: client.CoreV1Api
) -> None:
    assert _roll_order(apps, core, _ds("agent")) == ["old-deleted", "new-added"]


def test_daemonset_max_surge_starts_the_new_pod_first(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    assert _roll_order(apps, core, _ds("agent", updateStrategy=strategy)) == ["new-added", "old-deleted"]
    wait_for(
        lambda: len(p := list(_pods(core, "agent").values())) == 1 and _image(p[0]) == "nginx:1.28",
        timeout=30,
    )


def _rc(name: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]},
            },
        },
    }


def test_replication_controller_runs_pods_and_scales(core: client.CoreV1Api, kubectl) -> None:
    rc = core.create_namespaced_replication_controller("default", _rc("legacy", 2))
    assert rc.spec.selector == {"app": "legacy"} and rc.metadata.labels == {"app": "legacy"}
    status = wait_for(
        lambda: (
            (s := core.read_namespaced_replication_controller("legacy", "default").status).ready_replicas == 2
            and s
        )
    )
    assert (status.replicas, status.available_replicas, status.fully_labeled_replicas) == (2, 2, 2)
    pods = _pods(core, "legacy")
    for name, pod in pods.items():
        assert name.startswith("legacy-") and len(name) == len("legacy-") + 5
        [ref] = pod.metadata.owner_references
        assert (ref.kind, ref.name, ref.controller) == ("ReplicationController", "legacy", True)
    scaled = kubectl("scale", "rc/legacy", "--replicas=3")
    assert scaled.returncode == 0, scaled.stderr
    wait_for(
        lambda: (
            core.read_namespaced_replication_controller("legacy", "default").status.ready_replicas == 3
            and len(_pods(core, "legacy")) == 3
        )
    )
    table = kubectl("get", "rc", "legacy")
    assert table.stdout.split("\n")[1].split()[:4] == ["legacy", "3", "3", "3"]


def _job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "metadata": {"annotations": {"sandbox.gitopsd.io/job-duration": "3600"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]},
            }
        },
    }


def test_job_delete_without_policy_orphans_pods_and_warns(
    api_client: client.ApiClient, core, raw, kubectl
) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job("default", _job("migrate"))
    [pod] = wait_for(lambda: core.list_namespaced_pod("default", label_selector="job-name=migrate").items)
    code, headers, body = raw("DELETE", "/apis/batch/v1/namespaces/default/jobs/migrate")
    assert code == 200, body
    assert (
        "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to "
        "remove them or set propagationPolicy=Orphan to suppress this warning" in headers.get("warning", "")
    )
    wait_for(lambda: not batch.list_namespaced_job("default").items)
    kept = core.read_namespaced_pod(pod.metadata.name, "default")
    assert kept.metadata.deletion_timestamp is None and not kept.metadata.owner_references
    # An explicit policy says what it wants: no warning (kubectl always sends Background).
    batch.create_namespaced_job("default", _job("again"))
    wait_for(lambda: core.list_namespaced_pod("default", label_selector="job-name=again").items)
    code, headers, _ = raw(
        "DELETE", "/apis/batch/v1/namespaces/default/jobs/again?propagationPolicy=Background"
    )
    assert code == 200 and "warning" not in headers
    body = json.dumps({"kind": "DeleteOptions", "apiVersion": "v1"}).encode()
    batch.create_namespaced_job("default", _job("third"))
    code, headers, _ = raw(
        "DELETE", "/apis/batch/v1/namespaces/default/jobs", body, {"Content-Type": "application/json"}
    )
    assert code == 200 and "child pods are preserved" in headers.get("warning", "")
