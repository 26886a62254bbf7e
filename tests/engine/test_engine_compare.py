"""Compare without a server (the local fast path): statuses, reasons, diffs, ignoreDifferences, masking."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from gitopsd.engine.compare import CompareOptions, compare
from gitopsd.engine.desired import prepare
from gitopsd.engine.live import LiveState
from gitopsd.engine.normalize import IgnoreSet, normalize
from gitopsd.engine.resources import key_of
from gitopsd.engine.tracking import TRACKING_ANNOTATION, with_tracking

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "CustomResourceDefinition"}


def scope(api_version: str, kind: str) -> bool:
    return kind not in CLUSTER_SCOPED


DEPLOYMENT = yaml.safe_load(
    """
apiVersion: apps/v1
kind: Deployment
metadata: {name: mon-app, labels: {app: mon-app}}
spec:
  replicas: 3
  selector: {matchLabels: {app: mon-app}}
  template:
    metadata: {labels: {app: mon-app}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{containerPort: 80}]
"""
)


def live_copy(desired: dict[str, Any], app: str = "shop", namespace: str = "production") -> dict[str, Any]:
    """What a cluster would hold after applying ``desired``: server metadata, defaults, status."""
    obj = copy.deepcopy(desired)
    obj["metadata"]["namespace"] = namespace
    obj = with_tracking(obj, app, key_of(obj))
    obj["metadata"].update(
        uid="0a1b",
        resourceVersion="42",
        generation=1,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[
            {"manager": "gitopsd", "operation": "Apply", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
        ],
    )
    if obj["kind"] == "Deployment":
        obj["spec"]["revisionHistoryLimit"] = 10
        obj["spec"]["progressDeadlineSeconds"] = 600
        obj["spec"]["strategy"] = {"type": "RollingUpdate"}
        for c in obj["spec"]["template"]["spec"]["containers"]:
            c["imagePullPolicy"] = "IfNotPresent"
            c["terminationMessagePath"] = "/dev/termination-log"
            for p in c.get("ports", []):
                p["protocol"] = "TCP"
        obj["status"] = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    return obj


def run(desired: list[Any], live: list[dict[str, Any]], app: str = "shop", **opts: Any):
    prepared = prepare(desired, app=app, default_namespace="production", resolve_scope=scope)
    state = LiveState(objects={key_of(o): o for o in live})
    return compare(prepared, state, app=app, client=None, options=CompareOptions(**opts))


def test_defaults_and_server_metadata_are_not_drift() -> None:
    result = run([DEPLOYMENT], [live_copy(DEPLOYMENT)])
    assert result.status == "Synced" and result.reason == "Synced"
    (r,) = result.resources
    assert r.status == "Synced" and r.diff == "" and r.message == ""
    assert r.health is not None and r.health.status.value == "Healthy"


def test_replicas_drift_gives_reason_and_diff() -> None:
    live = live_copy(DEPLOYMENT)
    live["spec"]["replicas"] = 5
    result = run([DEPLOYMENT], [live])
    (r,) = result.resources
    assert r.status == "OutOfSync"
    assert r.message == "spec.replicas 5 → 3"
    assert r.reason == "Deployment production/mon-app: spec.replicas 5 → 3"
    assert result.reason == "OutOfSync (Deployment production/mon-app: spec.replicas 5 → 3)"
    assert "-  replicas: 5\n+  replicas: 3\n" in r.diff
    assert r.diff.startswith(
        "--- live/apps/Deployment/production/mon-app\n+++ desired/apps/Deployment/production/mon-app\n"
    )
    assert (
        "resourceVersion" not in r.diff
        and "managedFields" not in r.diff
        and TRACKING_ANNOTATION not in r.diff
    )


def test_container_matched_by_name_and_missing_and_extraneous() -> None:
    live = live_copy(DEPLOYMENT)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.25"
    orphan = live_copy(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}, "data": {"a": "1"}}
    )
    foreign = live_copy(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "theirs"}}, app="other"
    )
    untracked = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kubectl-made", "namespace": "production"},
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "mon-app"},
        "spec": {"ports": [{"port": 80}]},
    }
    result = run([DEPLOYMENT, svc], [live, orphan, foreign, untracked])
    by_name = {r.key.name: r for r in result.resources}
    deploy = next(r for r in result.resources if r.key.kind == "Deployment")
    assert deploy.message == "spec.template.spec.containers[web].image nginx:1.25 → nginx:1.27"
    service = next(r for r in result.resources if r.key.kind == "Service")
    assert service.status == "Missing" and "+kind: Service" in service.diff
    assert by_name["old"].status == "Extraneous" and by_name["old"].requires_pruning
    assert "theirs" not in by_name and "kubectl-made" not in by_name  # never ours to prune
    assert result.status == "OutOfSync"
    assert result.reason.startswith("OutOfSync (3 resources differ: ")
    # Kind order: ConfigMap, Service, Deployment
    assert [r.key.kind for r in result.resources] == ["ConfigMap", "Service", "Deployment"]


def test_field_gitopsd_applied_before_and_no_longer_sets_is_drift() -> None:
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    live = live_copy(dict(desired, data={"a": "1", "b": "2"}))
    live["metadata"]["managedFields"] = [
        {"manager": "gitopsd", "operation": "Apply", "fieldsV1": {"f:data": {"f:a": {}, "f:b": {}}}}
    ]
    (r,) = run([desired], [live]).resources
    assert r.status == "OutOfSync" and r.message == "data.b removed"
    # The same extra key written by someone else is not ours to remove: no drift.
    live["metadata"]["managedFields"] = [
        {"manager": "gitopsd", "operation": "Apply", "fieldsV1": {"f:data": {"f:a": {}}}},
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:b": {}}}},
    ]
    (r,) = run([desired], [live]).resources
    assert r.status == "Synced"


def test_ignore_differences_by_json_pointer_and_manager() -> None:
    live = live_copy(DEPLOYMENT)
    live["spec"]["replicas"] = 7
    rules = IgnoreSet.build([{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}])
    assert run([DEPLOYMENT], [live], ignore=rules).status == "Synced"
    other_name = IgnoreSet.build(
        [{"group": "apps", "kind": "Deployment", "name": "x", "jsonPointers": ["/spec/replicas"]}]
    )
    assert run([DEPLOYMENT], [live], ignore=other_name).status == "OutOfSync"
    live["metadata"]["managedFields"].append(
        {"manager": "hpa-controller", "operation": "Update", "fieldsV1": {"f:spec": {"f:replicas": {}}}}
    )
    by_manager = IgnoreSet.build(
        [{"group": "apps", "kind": "Deployment", "managedFieldsManagers": ["hpa-controller"]}]
    )
    assert run([DEPLOYMENT], [live], ignore=by_manager).status == "Synced"
    jq = IgnoreSet.build([{"group": "apps", "kind": "Deployment", "jqPathExpressions": [".spec.replicas"]}])
    assert not jq.errors
    result = run([DEPLOYMENT], [live], ignore=jq)
    assert result.status == "Synced", result.reason


SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db"},
    "data": {"password": "c2VjcmV0LTE=", "user": "YWRtaW4="},
}


def test_secret_values_never_appear_and_masks_tell_equal_from_different() -> None:
    live = live_copy(SECRET)
    live["data"]["password"] = "c2VjcmV0LTI="
    (r,) = run([SECRET], [live]).resources
    assert r.status == "OutOfSync"
    assert r.message == "data.password changed"
    for value in ("c2VjcmV0LTE=", "c2VjcmV0LTI=", "YWRtaW4=", "secret-1", "secret-2", "admin"):
        assert value not in r.diff and value not in r.message and value not in yaml.safe_dump(r.live_yaml_obj)
    assert r.live_yaml_obj is not None and r.target_yaml_obj is not None
    live_masks, target_masks = r.live_yaml_obj["data"], r.target_yaml_obj["data"]
    assert live_masks["user"] == target_masks["user"]  # same value, same mask
    assert live_masks["password"] != target_masks["password"]  # different values, different masks
    assert set(live_masks["password"]) == {"+"}


def test_secret_string_data_matches_live_data() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"user": "admin"},
    }
    live = live_copy(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "data": {"user": "YWRtaW4="}}
    )
    assert run([desired], [live]).status == "Synced"


def test_invalid_objects_are_per_resource_errors_and_others_still_compared() -> None:
    bad = [
        {"kind": "ConfigMap", "metadata": {"name": "no-api"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
        "text",
    ]
    result = run([*bad, DEPLOYMENT], [live_copy(DEPLOYMENT)])
    statuses = [(r.key.kind, r.status) for r in result.resources]
    assert ("Deployment", "Synced") in statuses
    assert sum(1 for _, s in statuses if s == "Unknown") == 3
    assert any("has no apiVersion" in e for e in result.errors)
    assert result.status == "Unknown"


def test_shared_resource_is_reported_not_adopted() -> None:
    live = live_copy(DEPLOYMENT, app="other-app")
    result = run([DEPLOYMENT], [live])
    (r,) = result.resources
    assert r.shared_with == "other-app"
    assert any("SharedResourceWarning" in w and "other-app" in w for w in result.warnings)


def test_untracked_live_object_is_out_of_sync_until_annotated() -> None:
    live = live_copy(DEPLOYMENT)
    del live["metadata"]["annotations"][TRACKING_ANNOTATION]
    (r,) = run([DEPLOYMENT], [live]).resources
    assert r.status == "OutOfSync" and "tracking" in r.message


def test_hooks_are_not_compared_and_misspelled_keys_warn() -> None:
    hook: dict[str, Any] = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {
            "template": {"spec": {"containers": [{"name": "m", "image": "x"}], "restartPolicy": "Never"}}
        },
    }
    typo = copy.deepcopy(hook)
    typo["metadata"]["name"] = "migrate-typo"
    typo["metadata"]["annotations"] = {"argocp.argoproj.io/hook": "PreSync"}
    result = run([hook, typo], [])
    assert [h.key.name for h in result.hooks] == ["migrate"]
    assert [r.key.name for r in result.resources] == ["migrate-typo"]  # applied as a plain resource...
    assert any("argocp.argoproj.io/hook" in w for w in result.warnings)  # ...but the user is warned


def test_normalize_strips_only_server_fields() -> None:
    live = live_copy(DEPLOYMENT)
    live["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    live["metadata"]["annotations"]["team"] = "a"
    n = normalize(live)
    assert "status" not in n
    assert set(n["metadata"]) == {"name", "namespace", "labels", "annotations"}
    assert n["metadata"]["annotations"] == {"team": "a"}
    assert live["metadata"]["uid"] == "0a1b"  # input untouched


def test_absurdly_nested_object_fails_alone() -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(5000):
        cur["a"] = {}
        cur = cur["a"]
    bomb = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bomb"}, "data": deep}
    result = run([bomb, DEPLOYMENT], [live_copy(DEPLOYMENT)])
    by_name = {r.key.name: r for r in result.resources}
    assert by_name["bomb"].status == "Unknown" and "nested too deeply" in by_name["bomb"].message
    assert by_name["mon-app"].status == "Synced"
