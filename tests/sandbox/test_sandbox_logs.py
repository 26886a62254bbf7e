"""`kubectl logs` against the sandbox: simulated container logs through the pods/log subresource."""

from __future__ import annotations

import json

from kubernetes import client, watch
from sandbox_helpers import wait_for


def _pod(name: str, containers: list[str], annotations: dict[str, str] | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations or {}},
        "spec": {"containers": [{"name": c, "image": "nginx:1.27"} for c in containers]},
    }


def _running(core: client.CoreV1Api, name: str) -> None:
    wait_for(lambda: core.read_namespaced_pod(name, "default").status.phase == "Running")


def test_kubectl_logs_prints_the_container_log(core: client.CoreV1Api, kubectl) -> None:
    core.create_namespaced_pod(
        "default", _pod("web", ["main"], {"sandbox.gitopsd.io/logs": "hello\nlistening on :80"})
    )
    _running(core, "web")
    out = kubectl("logs", "web")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "sandbox: starting container main (nginx:1.27)",
        "hello",
        "listening on :80",
        "sandbox: container main is running",
    ]
    tail = kubectl("logs", "web", "-c", "main", "--tail", "1", "--timestamps")
    [line] = tail.stdout.splitlines()
    stamp, text = line.split(" ", 1)
    assert text == "sandbox: container main is running" and stamp.endswith("Z") and "T" in stamp
    assert (
        core.read_namespaced_pod_log("web", "default", tail_lines=2)
        == "listening on :80\nsandbox: container main is running\n"
    )
    assert core.read_namespaced_pod_log("web", "default", limit_bytes=7) == "sandbox"


def test_container_selection_errors_are_the_real_ones(core: client.CoreV1Api, raw, kubectl) -> None:
    core.create_namespaced_pod("default", _pod("pair", ["app", "sidecar"]))
    _running(core, "pair")
    code, _, body = raw("GET", "/api/v1/namespaces/default/pods/pair/log")
    assert code == 400
    assert (
        json.loads(body)["message"]
        == "a container name must be specified for pod pair, choose one of: [app sidecar]"
    )
    code, _, body = raw("GET", "/api/v1/namespaces/default/pods/pair/log?container=nope")
    assert code == 400 and json.loads(body)["message"] == "container nope is not valid for pod pair"
    # kubectl picks the first container itself and says so.
    out = kubectl("logs", "pair")
    assert out.returncode == 0 and 'Defaulted container "app" out of: app, sidecar' in out.stderr
    assert "starting container app" in out.stdout
    sidecar = kubectl("logs", "pair", "-c", "sidecar")
    assert "starting container sidecar" in sidecar.stdout
    missing = kubectl("logs", "pair", "-c", "nope")
    assert missing.returncode != 0 and "container nope is not valid for pod pair" in missing.stderr
    code, _, body = raw("GET", "/api/v1/namespaces/default/pods/ghost/log")
    assert code == 404 and json.loads(body)["message"] == 'pods "ghost" not found'


def test_waiting_and_previous_containers(core: client.CoreV1Api, raw, kubectl) -> None:
    core.create_namespaced_pod("default", _pod("slow", ["main"], {"sandbox.gitopsd.io/ready-delay": "60"}))
    wait_for(lambda: core.read_namespaced_pod("slow", "default").status.container_statuses)
    code, _, body = raw("GET", "/api/v1/namespaces/default/pods/slow/log")
    assert code == 400
    assert (
        json.loads(body)["message"] == 'container "main" in pod "slow" is waiting to start: ContainerCreating'
    )
    core.create_namespaced_pod(
        "default", _pod("crashy", ["main"], {"sandbox.gitopsd.io/rollout-result": "fail"})
    )
    wait_for(lambda: core.read_namespaced_pod("crashy", "default").status.phase == "Running")
    previous = kubectl("logs", "crashy", "--previous")
    assert (
        previous.returncode == 0
        and previous.stdout.splitlines()[-1] == "sandbox: container main exited with code 1"
    )
    # A crash-looping container serves its last run's log, as the kubelet does.
    assert kubectl("logs", "crashy").stdout == previous.stdout
    core.create_namespaced_pod("default", _pod("fine", ["main"]))
    _running(core, "fine")
    code, _, body = raw("GET", "/api/v1/namespaces/default/pods/fine/log?previous=true")
    assert (
        code == 400
        and json.loads(body)["message"] == 'previous terminated container "main" in pod "fine" not found'
    )
    code, _, _ = raw("POST", "/api/v1/namespaces/default/pods/fine/log", body=b"{}")
    assert code == 405


def _job(name: str, seconds: str) -> dict:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": {"sandbox.gitopsd.io/job-duration": seconds}},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox:1"}]}
            }
        },
    }


def test_follow_streams_until_the_container_ends(
    api_client: client.ApiClient, core: client.CoreV1Api, kubectl
) -> None:
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job("default", _job("migrate", "1.5"))
    [pod] = wait_for(lambda: core.list_namespaced_pod("default", label_selector="job-name=migrate").items)
    name = pod.metadata.name
    _running(core, name)
    out = kubectl("logs", "-f", name, timeout=30)
    # The stream stayed open while the container ran and ended with its last line.
    assert out.returncode == 0
    assert out.stdout.splitlines()[-1] == "sandbox: container run completed"
    assert core.read_namespaced_pod(name, "default").status.phase == "Succeeded"
    # The official client's streaming follow sees the same.
    batch.create_namespaced_job("default", _job("again", "1"))
    [pod] = wait_for(lambda: core.list_namespaced_pod("default", label_selector="job-name=again").items)
    _running(core, pod.metadata.name)
    lines = list(
        watch.Watch().stream(core.read_namespaced_pod_log, pod.metadata.name, "default", follow=True)
    )
    assert lines[0] == "sandbox: starting container run (busybox:1)"
    assert lines[-1] == "sandbox: container run completed"


def test_discovery_lists_pods_log_as_read_only(raw) -> None:
    code, _, body = raw("GET", "/api/v1")
    [entry] = [r for r in json.loads(body)["resources"] if r["name"] == "pods/log"]
    assert code == 200 and entry["verbs"] == ["get"] and entry["kind"] == "Pod"
