"""Graceful deletion as a real API server does it: finalizers and deletionTimestamp, propagation
policies (Foreground, Background, Orphan, the per-kind default), the garbage collector, terminating
namespaces, pods' grace periods, watch events, and kubectl delete --wait / --cascade."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client, watch
from sandbox_helpers import configmap, deployment, wait_for

HOLD = "example.com/hold"


def _gone(read: Any) -> bool:
    try:
        read()
    except client.ApiException as exc:
        return exc.status == 404
    return False


def _release(core: client.CoreV1Api, name: str, namespace: str = "default") -> None:
    core.patch_namespaced_config_map(name, namespace, {"metadata": {"finalizers": None}})


def test_finalizer_keeps_an_object_until_it_is_removed(core: client.CoreV1Api) -> None:
    body = configmap("held")
    body["metadata"]["finalizers"] = [HOLD]
    core.create_namespaced_config_map("default", body)
    core.delete_namespaced_config_map("held", "default")

    held = core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.deletion_grace_period_seconds == 0
    assert held.metadata.finalizers == [HOLD]
    # Other updates are still accepted, and keep the deletion fields.
    held = core.patch_namespaced_config_map("held", "default", {"data": {"more": "x"}})
    assert held.metadata.deletion_timestamp is not None and held.data["more"] == "x"
    # No finalizer may be added now.
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_config_map("held", "default", {"metadata": {"finalizers": [HOLD, "b.io/x"]}})
    assert err.value.status == 422
    assert "no new finalizers can be added if the object is being deleted" in json.loads(err.value.body)["message"]

    _release(core, "held")
    assert _gone(lambda: core.read_namespaced_config_map("held", "default"))


def test_watch_sees_modified_then_deleted(core: client.CoreV1Api) -> None:
    body = configmap("watched")
    body["metadata"]["finalizers"] = [HOLD]
    created = core.create_namespaced_config_map("default", body)
    events: list[tuple[str, Any]] = []
    w = watch.Watch()

    def run() -> None:
        for ev in w.stream(
            core.list_namespaced_config_map,
            "default",
            field_selector="metadata.name=watched",
            resource_version=created.metadata.resource_version,
            timeout_seconds=10,
        ):
            events.append((ev["type"], ev["object"].metadata.deletion_timestamp))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=run)
    t.start()
    core.delete_namespaced_config_map("watched", "default")
    wait_for(lambda: events)
    _release(core, "watched")
    t.join(15)
    types = [e[0] for e in events]
    assert types[0] == "MODIFIED" and events[0][1] is not None
    assert types[-1] == "DELETED"


def test_foreground_keeps_the_owner_until_blocking_dependents_are_gone(
    core: client.CoreV1Api, apps: client.AppsV1Api
) -> None:
    owner = core.create_namespaced_config_map("default", configmap("owner"))
    ref = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner.metadata.uid,
        "blockOwnerDeletion": True,
    }
    dep = configmap("dependent")
    dep["metadata"].update(ownerReferences=[ref], finalizers=[HOLD])
    core.create_namespaced_config_map("default", dep)

    core.delete_namespaced_config_map("owner", "default", propagation_policy="Foreground")
    kept = core.read_namespaced_config_map("owner", "default")
    assert "foregroundDeletion" in kept.metadata.finalizers and kept.metadata.deletion_timestamp
    wait_for(lambda: core.read_namespaced_config_map("dependent", "default").metadata.deletion_timestamp)
    assert core.read_namespaced_config_map("owner", "default")  # the dependent still blocks it
    _release(core, "dependent")
    wait_for(lambda: _gone(lambda: core.read_namespaced_config_map("owner", "default")))


def test_background_and_orphan_and_the_job_default(
    core: client.CoreV1Api, apps: client.AppsV1Api, api_client: client.ApiClient
) -> None:
    apps.create_namespaced_deployment("default", deployment("bg"))
    wait_for(lambda: apps.list_namespaced_replica_set("default").items)
    apps.delete_namespaced_deployment("bg", "default", propagation_policy="Background")
    assert _gone(lambda: apps.read_namespaced_deployment("bg", "default"))  # the owner goes at once
    wait_for(lambda: apps.list_namespaced_replica_set("default").items == [])  # then the collector

    apps.create_namespaced_deployment("default", deployment("orph"))
    wait_for(lambda: apps.list_namespaced_replica_set("default").items)
    apps.delete_namespaced_deployment("orph", "default", propagation_policy="Orphan")
    wait_for(lambda: _gone(lambda: apps.read_namespaced_deployment("orph", "default")))
    left = apps.list_namespaced_replica_set("default").items
    assert len(left) == 1 and not left[0].metadata.owner_references

    # A batch/v1 Job deleted without a policy orphans its pods (the API default; kubectl sends Background).
    batch = client.BatchV1Api(api_client)
    batch.create_namespaced_job(
        "default",
        {
            "metadata": {"name": "j", "annotations": {"sandbox.gitopsd.io/job-duration": "30"}},
            "spec": {
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}
            },
        },
    )
    pod = wait_for(lambda: core.list_namespaced_pod("default", label_selector="job-name=j").items)[0]
    batch.delete_namespaced_job("j", "default")
    wait_for(lambda: _gone(lambda: batch.read_namespaced_job("j", "default")))
    survivor = core.read_namespaced_pod(pod.metadata.name, "default")
    assert not survivor.metadata.owner_references


def test_dependents_of_owners_that_are_gone_are_collected(core: client.CoreV1Api) -> None:
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "never", "uid": "0000-missing"}
    dep = configmap("stray")
    dep["metadata"]["ownerReferences"] = [ref]
    core.create_namespaced_config_map("default", dep)
    wait_for(lambda: _gone(lambda: core.read_namespaced_config_map("stray", "default")))


def test_namespace_terminates_refuses_content_and_goes_when_empty(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    body = configmap("held", namespace="doomed")
    body["metadata"]["finalizers"] = [HOLD]
    core.create_namespaced_config_map("doomed", body)
    core.delete_namespace("doomed")
    ns = core.read_namespace("doomed")
    assert ns.status.phase == "Terminating" and ns.spec.finalizers == ["kubernetes"]
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("doomed", configmap("late", namespace="doomed"))
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace doomed '
        "because it is being terminated"
    )
    wait_for(lambda: core.read_namespaced_config_map("held", "doomed").metadata.deletion_timestamp)
    assert core.read_namespace("doomed")  # not empty yet
    _release(core, "held", "doomed")
    wait_for(lambda: _gone(lambda: core.read_namespace("doomed")))


def _running_pod(core: client.CoreV1Api, name: str, grace: int) -> None:
    core.create_namespaced_pod(
        "default",
        {
            "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": grace, "containers": [{"name": "c", "image": "nginx"}]},
        },
    )
    wait_for(lambda: core.read_namespaced_pod(name, "default").status.phase == "Running")


def test_pods_honour_their_grace_period_and_force_deletes_at_once(core: client.CoreV1Api) -> None:
    _running_pod(core, "slow", 60)  # the sandbox waits 60 * 0.05 = 3 s
    core.delete_namespaced_pod("slow", "default")
    terminating = core.read_namespaced_pod("slow", "default")
    assert terminating.metadata.deletion_grace_period_seconds == 60
    assert terminating.metadata.deletion_timestamp is not None
    wait_for(lambda: _gone(lambda: core.read_namespaced_pod("slow", "default")))

    _running_pod(core, "forced", 60)
    core.delete_namespaced_pod("forced", "default", grace_period_seconds=0)
    assert _gone(lambda: core.read_namespaced_pod("forced", "default"))


def test_kubectl_delete_waits_and_cascades(kubectl, core: client.CoreV1Api) -> None:  # type: ignore[no-untyped-def]
    _running_pod(core, "kpod", 40)  # 2 s in the sandbox: kubectl --wait must see it go
    result = kubectl("delete", "pod", "kpod", "--wait=true", "--timeout=30s")
    assert result.returncode == 0, result.stderr
    assert _gone(lambda: core.read_namespaced_pod("kpod", "default"))

    owner = core.create_namespaced_config_map("default", configmap("kowner"))
    dep = configmap("kdep")
    dep["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "kowner", "uid": owner.metadata.uid, "blockOwnerDeletion": True}
    ]
    core.create_namespaced_config_map("default", dep)
    result = kubectl("delete", "cm", "kowner", "--cascade=orphan")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: not core.read_namespaced_config_map("kdep", "default").metadata.owner_references)

    owner = core.create_namespaced_config_map("default", configmap("fowner"))
    dep = configmap("fdep")
    dep["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "fowner", "uid": owner.metadata.uid, "blockOwnerDeletion": True}
    ]
    core.create_namespaced_config_map("default", dep)
    result = kubectl("delete", "cm", "fowner", "--cascade=foreground", "--wait=true", "--timeout=30s")
    assert result.returncode == 0, result.stderr
    assert _gone(lambda: core.read_namespaced_config_map("fowner", "default"))
    assert _gone(lambda: core.read_namespaced_config_map("fdep", "default"))


def test_kubectl_delete_namespace_waits_until_it_is_empty_and_gone(kubectl, core: client.CoreV1Api) -> None:  # type: ignore[no-untyped-def]
    core.create_namespace({"metadata": {"name": "kns"}})
    held = configmap("held", namespace="kns")
    held["metadata"]["finalizers"] = [HOLD]
    core.create_namespaced_config_map("kns", held)
    _running_pod_in(core, "kns", "p", 40)
    result = kubectl("delete", "namespace", "kns", "--wait=false")
    assert result.returncode == 0, result.stderr
    refused = kubectl("-n", "kns", "create", "configmap", "late")
    assert refused.returncode != 0
    assert "is forbidden: unable to create new content in namespace kns because it is being terminated" in refused.stderr
    _release(core, "held", "kns")
    result = kubectl("wait", "--for=delete", "namespace/kns", "--timeout=30s")
    assert result.returncode == 0, result.stderr
    assert _gone(lambda: core.read_namespace("kns"))


def _running_pod_in(core: client.CoreV1Api, namespace: str, name: str, grace: int) -> None:
    core.create_namespaced_pod(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": grace, "containers": [{"name": "c", "image": "nginx"}]},
        },
    )
    wait_for(lambda: core.read_namespaced_pod(name, namespace).status.phase == "Running")


def test_a_crd_held_by_a_finalizer_takes_its_kind_when_released(api_client: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    ext.create_custom_resource_definition(
        {
            "metadata": {"name": "widgets.example.com", "finalizers": [HOLD]},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                    }
                ],
            },
        }
    )
    custom = client.CustomObjectsApi(api_client)
    wait_for(lambda: custom.create_namespaced_custom_object(
        "example.com", "v1", "default", "widgets", {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    ))
    ext.delete_custom_resource_definition("widgets.example.com")
    assert custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")  # still served
    ext.patch_custom_resource_definition("widgets.example.com", {"metadata": {"finalizers": None}})
    wait_for(lambda: _gone(lambda: custom.get_namespaced_custom_object("example.com", "v1", "default", "widgets", "w")))
