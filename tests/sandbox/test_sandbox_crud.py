"""Create, read, update, list, delete through the official client, as against a real cluster."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from sandbox_helpers import ROOT_CA, configmap, deployment, wait_for


def _status(err: pytest.ExceptionInfo[client.ApiException]) -> dict:
    return json.loads(err.value.body)


def test_create_get_update_delete_configmap(core: client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("default", configmap("app", a="1"))
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert created.metadata.resource_version
    got = core.read_namespaced_config_map("app", "default")
    assert got.data == {"a": "1"} and got.metadata.uid == created.metadata.uid
    got.data["b"] = "2"
    updated = core.replace_namespaced_config_map("app", "default", got)
    assert updated.data == {"a": "1", "b": "2"}
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    core.delete_namespaced_config_map("app", "default")
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_config_map("app", "default")
    assert err.value.status == 404
    assert _status(err)["message"] == 'configmaps "app" not found'


def test_create_existing_is_409_already_exists(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("dup"))
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("default", configmap("dup"))
    assert err.value.status == 409 and _status(err)["reason"] == "AlreadyExists"


def test_stale_resource_version_update_is_409_conflict(core: client.CoreV1Api) -> None:
    first = core.create_namespaced_config_map("default", configmap("cm", a="1"))
    fresh = core.read_namespaced_config_map("cm", "default")
    fresh.data = {"a": "2"}
    core.replace_namespaced_config_map("cm", "default", fresh)
    first.data = {"a": "3"}
    with pytest.raises(client.ApiException) as err:
        core.replace_namespaced_config_map("cm", "default", first)
    assert err.value.status == 409
    assert _status(err)["reason"] == "Conflict"
    assert "the object has been modified" in _status(err)["message"]
    assert core.read_namespaced_config_map("cm", "default").data == {"a": "2"}


def test_create_in_missing_namespace_is_404(core: client.CoreV1Api) -> None:
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("nowhere", configmap("x", namespace="nowhere"))
    assert err.value.status == 404
    assert _status(err)["details"] == {"name": "nowhere", "kind": "namespaces"}


def test_namespace_mismatch_between_url_and_body_is_rejected(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "other"}})
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("default", configmap("x", namespace="other"))
    assert err.value.status == 400


def test_cluster_scoped_kinds(api_client: client.ApiClient) -> None:
    rbac = client.RbacAuthorizationV1Api(api_client)
    role = {
        "metadata": {"name": "reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
    }
    rbac.create_cluster_role(role)
    assert [r.metadata.name for r in rbac.list_cluster_role().items] == ["reader"]
    assert rbac.read_cluster_role("reader").metadata.namespace is None
    rbac.delete_cluster_role("reader")
    assert rbac.list_cluster_role().items == []


def test_generation_bumps_on_spec_changes_only(apps: client.AppsV1Api) -> None:
    dep = apps.create_namespaced_deployment("default", deployment("gen"))
    assert dep.metadata.generation == 1
    labelled = apps.patch_namespaced_deployment("gen", "default", {"metadata": {"labels": {"extra": "yes"}}})
    assert labelled.metadata.generation == 1
    assert int(labelled.metadata.resource_version) > int(dep.metadata.resource_version)
    status = apps.patch_namespaced_deployment_status("gen", "default", {"status": {"replicas": 7}})
    assert status.metadata.generation == 1
    scaled = apps.patch_namespaced_deployment("gen", "default", {"spec": {"replicas": 5}})
    assert scaled.metadata.generation == 2


def test_status_is_only_written_through_the_status_subresource(core: client.CoreV1Api) -> None:
    core.create_namespaced_persistent_volume_claim(
        "default",
        {
            "metadata": {"name": "data"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Lost"},
        },
    )
    pvc = core.read_namespaced_persistent_volume_claim("data", "default")
    assert pvc.status.phase in ("Pending", "Bound")
    core.patch_namespaced_persistent_volume_claim("data", "default", {"status": {"phase": "Lost"}})
    assert core.read_namespaced_persistent_volume_claim("data", "default").status.phase != "Lost"


def test_label_selectors(core: client.CoreV1Api) -> None:
    for name, labels in (
        ("a", {"tier": "web", "env": "prod"}),
        ("b", {"tier": "db", "env": "prod"}),
        ("c", {"tier": "web"}),
        ("d", {}),
    ):
        cm = configmap(name)
        cm["metadata"]["labels"] = labels
        core.create_namespaced_config_map("default", cm)

    def names(selector: str) -> list[str]:
        # Every namespace also holds kube-root-ca.crt (unlabelled), as on a real cluster.
        return [
            i.metadata.name
            for i in core.list_namespaced_config_map("default", label_selector=selector).items
            if i.metadata.name != ROOT_CA
        ]

    assert names("tier=web") == ["a", "c"]
    assert names("tier==web,env=prod") == ["a"]
    assert names("tier!=web") == ["b", "d"]
    assert names("tier in (db, web),env") == ["a", "b"]
    assert names("tier notin (web)") == ["b", "d"]
    assert names("env") == ["a", "b"]
    assert names("!env") == ["c", "d"]
    with pytest.raises(client.ApiException) as err:
        names("tier in (web")
    assert err.value.status == 400


def test_field_selectors_and_all_namespaces(core: client.CoreV1Api) -> None:
    core.create_namespace({"metadata": {"name": "team"}})
    core.create_namespaced_config_map("default", configmap("one"))
    core.create_namespaced_config_map("team", configmap("one", namespace="team"))
    core.create_namespaced_config_map("team", configmap("two", namespace="team"))
    every = core.list_config_map_for_all_namespaces()
    assert [(i.metadata.namespace, i.metadata.name) for i in every.items if i.metadata.name != ROOT_CA] == [
        ("default", "one"),
        ("team", "one"),
        ("team", "two"),
    ]
    by_name = core.list_config_map_for_all_namespaces(field_selector="metadata.name=one")
    assert [i.metadata.namespace for i in by_name.items] == ["default", "team"]
    by_ns = core.list_config_map_for_all_namespaces(
        field_selector=f"metadata.namespace=team,metadata.name!=one,metadata.name!={ROOT_CA}"
    )
    assert [i.metadata.name for i in by_ns.items] == ["two"]


def test_list_pagination_with_limit_and_continue(core: client.CoreV1Api) -> None:
    for n in range(7):
        core.create_namespaced_config_map("default", configmap(f"cm-{n}"))
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = core.list_namespaced_config_map("default", limit=3, _continue=token)
        seen += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    # kube-root-ca.crt (in every namespace, as on a real cluster) sorts after cm-*: 8 items, 3 pages.
    assert seen == [*(f"cm-{n}" for n in range(7)), ROOT_CA] and pages == 3


def test_deleting_a_namespace_deletes_its_contents(core: client.CoreV1Api, apps: client.AppsV1Api) -> None:
    core.create_namespace({"metadata": {"name": "doomed"}})
    core.create_namespaced_config_map("doomed", configmap("cm", namespace="doomed"))
    apps.create_namespaced_deployment("doomed", deployment("web", namespace="doomed"))
    core.create_namespaced_config_map("default", configmap("survivor"))
    core.delete_namespace("doomed")
    # The namespace goes Terminating; the namespace controller empties it, then it disappears.
    wait_for(lambda: not any(n.metadata.name == "doomed" for n in core.list_namespace().items))
    left = {(i.metadata.namespace, i.metadata.name) for i in core.list_config_map_for_all_namespaces().items}
    assert ("default", "survivor") in left and not any(ns == "doomed" for ns, _ in left)
    assert apps.list_deployment_for_all_namespaces().items == []
    assert apps.list_replica_set_for_all_namespaces().items == []


def test_owner_reference_cascade_and_orphan(apps: client.AppsV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("owner"))
    rs = wait_for(lambda: apps.list_namespaced_replica_set("default").items)
    assert rs[0].metadata.owner_references[0].name == "owner"
    apps.delete_namespaced_deployment("owner", "default", propagation_policy="Background")
    # Background: the garbage collector removes the dependents after the owner.
    wait_for(lambda: apps.list_namespaced_replica_set("default").items == [])

    apps.create_namespaced_deployment("default", deployment("keep"))
    wait_for(lambda: apps.list_namespaced_replica_set("default").items)
    apps.delete_namespaced_deployment("keep", "default", propagation_policy="Orphan")
    # Orphan: the owner keeps the orphan finalizer until its dependents' references are removed.
    wait_for(lambda: not apps.list_namespaced_deployment("default").items)
    left = apps.list_namespaced_replica_set("default").items
    assert len(left) == 1 and not left[0].metadata.owner_references


def test_delete_preconditions(core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("pre"))
    with pytest.raises(client.ApiException) as err:
        core.delete_namespaced_config_map(
            "pre",
            "default",
            body=client.V1DeleteOptions(preconditions=client.V1Preconditions(resource_version="1")),
        )
    assert err.value.status == 409
    assert core.read_namespaced_config_map("pre", "default")


def test_secret_string_data_is_stored_as_data(core: client.CoreV1Api) -> None:
    core.create_namespaced_secret(
        "default", {"metadata": {"name": "s"}, "stringData": {"password": "hunter2"}}
    )
    secret = core.read_namespaced_secret("s", "default")
    assert secret.type == "Opaque" and secret.data == {"password": "aHVudGVyMg=="}
    assert secret.string_data is None


def test_immutable_fields_are_refused(apps: client.AppsV1Api, core: client.CoreV1Api) -> None:
    apps.create_namespaced_deployment("default", deployment("web"))
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_deployment(
            "web", "default", {"spec": {"selector": {"matchLabels": {"app": "other"}}}}
        )
    assert err.value.status == 422 and "spec.selector" in _status(err)["message"]
    assert "immutable" in _status(err)["message"]
    frozen = configmap("frozen", a="1")
    frozen["immutable"] = True
    core.create_namespaced_config_map("default", frozen)
    with pytest.raises(client.ApiException) as err:
        core.patch_namespaced_config_map("frozen", "default", {"data": {"a": "2"}})
    assert err.value.status == 422
    assert core.read_namespaced_config_map("frozen", "default").data == {"a": "1"}


def test_yaml_bodies_are_accepted_on_create(raw) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  k: v\n"
    code, _, out = raw(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        body=body,
        headers={"Content-Type": "application/yaml"},
    )
    assert code == 201 and json.loads(out)["data"] == {"k": "v"}


def test_official_client_deletes_of_every_core_kind_parse(
    core: client.CoreV1Api, api_client: client.ApiClient
) -> None:
    core.create_namespaced_pod(
        "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}
    )
    core.create_namespaced_service("default", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    core.create_namespaced_service_account("default", {"metadata": {"name": "sa"}})
    core.create_namespaced_persistent_volume_claim(
        "default",
        {
            "metadata": {"name": "pvc"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    )
    core.create_namespaced_secret("default", {"metadata": {"name": "sec"}})
    assert core.delete_namespaced_pod("p", "default").metadata.name == "p"
    assert core.delete_namespaced_service("s", "default").metadata.name == "s"
    assert core.delete_namespaced_service_account("sa", "default").metadata.name == "sa"
    assert core.delete_namespaced_persistent_volume_claim("pvc", "default").metadata.name == "pvc"
    core.delete_namespaced_secret("sec", "default")
    # A scheduled pod terminates for its (shortened) grace period before it is gone, as on a real cluster.
    wait_for(lambda: core.list_namespaced_pod("default").items == [])
    assert core.list_namespaced_service("default").items == []
    assert core.list_namespaced_secret("default").items == []


def test_delete_collection_by_label(core: client.CoreV1Api) -> None:
    for i, team in enumerate(("a", "b", "b")):
        cm = configmap(f"c{i}")
        cm["metadata"]["labels"] = {"team": team}
        core.create_namespaced_config_map("default", cm)
    core.delete_collection_namespaced_config_map("default", label_selector="team=b")
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == ["c0", ROOT_CA]
