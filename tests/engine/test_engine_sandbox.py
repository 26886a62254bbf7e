"""The engine against the sandbox cluster over HTTPS: apply, drift, defaulting, prune, sharing, errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from gitopsd.engine import CompareOptions, LuaHealthChecks, SyncOptions, compare_app, sync_app
from gitopsd.engine.health import HealthStatus
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.tracking import TRACKING_ANNOTATION
from gitopsd.kube.client import KubeClient
from gitopsd.kube.errors import ServerError

APP = "shop"
NS = "production"

DEPLOYMENT = yaml.safe_load(
    """
apiVersion: apps/v1
kind: Deployment
metadata: {name: mon-app}
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
          env: [{name: MODE, value: prod}]
"""
)
SERVICE = yaml.safe_load(
    """
apiVersion: v1
kind: Service
metadata: {name: mon-app}
spec:
  selector: {app: mon-app}
  ports: [{port: 80, targetPort: 80}]
"""
)


def cm(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": dict(data) or {"k": "v"},
    }


def sync(
    client: KubeClient, manifests: list[dict[str, Any]], tracked: tuple[ResourceKey, ...] = (), **opts: Any
):
    comparison = compare_app(client, manifests, app=APP, namespace=NS, tracked=tracked)
    options = SyncOptions(create_namespace=True, namespace=NS, **opts)
    _, results = sync_app(client, comparison.result, options)
    return comparison, {(r.key.kind, r.key.name): r for r in results}


def test_apply_creates_then_reports_unchanged_then_configured(kube_client: KubeClient) -> None:
    manifests = [DEPLOYMENT, SERVICE, cm("settings", color="blue")]
    first, results = sync(kube_client, manifests)
    assert first.result.status == "OutOfSync"
    assert results[("Namespace", NS)].action == "created"
    assert {
        results[k].action
        for k in [("Deployment", "mon-app"), ("Service", "mon-app"), ("ConfigMap", "settings")]
    } == {"created"}
    live = kube_client.get("apps/v1", "Deployment", "mon-app", NS)
    assert live["metadata"]["annotations"][TRACKING_ANNOTATION] == f"{APP}:apps/Deployment:{NS}/mon-app"
    assert any(m["manager"] == "gitopsd" for m in live["metadata"]["managedFields"])

    # Server defaulting (strategy, imagePullPolicy, clusterIP, protocol...) is not drift: no request needed.
    second, results = sync(kube_client, manifests)
    assert second.result.status == "Synced", second.result.reason
    assert second.result.dry_runs == 0
    assert {r.action for r in results.values()} == {"unchanged"}

    changed = [DEPLOYMENT, SERVICE, cm("settings", color="green")]
    third, results = sync(kube_client, changed)
    assert third.result.reason == "OutOfSync (ConfigMap production/settings: data.color blue → green)"
    assert results[("ConfigMap", "settings")].action == "configured"
    assert results[("Deployment", "mon-app")].action == "unchanged"
    assert kube_client.get("v1", "ConfigMap", "settings", NS)["data"] == {"color": "green"}


def test_kubectl_scale_is_reported_as_replicas_drift(kube_client: KubeClient, kubectl) -> None:
    sync(kube_client, [DEPLOYMENT])
    done = kubectl("scale", "deployment/mon-app", "--replicas=5", "-n", NS)
    assert done.returncode == 0, done.stderr
    comparison = compare_app(kube_client, [DEPLOYMENT], app=APP, namespace=NS)
    (r,) = comparison.result.resources
    assert r.status == "OutOfSync"
    assert r.message == "spec.replicas 5 → 3"
    assert comparison.result.reason == "OutOfSync (Deployment production/mon-app: spec.replicas 5 → 3)"
    assert "-  replicas: 5\n+  replicas: 3\n" in r.diff
    # Sync repairs it (field conflicts with kubectl's manager are forced).
    _, results = sync(kube_client, [DEPLOYMENT])
    assert results[("Deployment", "mon-app")].action == "configured"
    assert kube_client.get("apps/v1", "Deployment", "mon-app", NS)["spec"]["replicas"] == 3


def test_defaulted_fields_set_explicitly_by_someone_else_confirmed_by_dry_run(
    kube_client: KubeClient,
) -> None:
    # A desired value that the server normalizes differently passes the fast path only via the dry run.
    sync(kube_client, [SERVICE])
    desired = copy.deepcopy(SERVICE)
    desired["spec"]["ports"][0]["protocol"] = "TCP"  # the server default, written out
    desired["spec"]["sessionAffinity"] = "None"
    comparison = compare_app(kube_client, [desired], app=APP, namespace=NS)
    assert comparison.result.status == "Synced", comparison.result.reason


def test_prune_deletes_only_our_tracked_objects(kube_client: KubeClient, kubectl) -> None:
    sync(kube_client, [cm("keep"), cm("old"), cm("stays", **{"x": "1"})])
    # An object made by hand in the same namespace, and one tracked by another app.
    by_hand = yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "by-hand"}, "data": {"a": "b"}}
    )
    made = kubectl("create", "-n", NS, "-f", "-", input=by_hand)
    assert made.returncode == 0, made.stderr
    other = cm("other-app-owned")
    other["metadata"]["namespace"] = NS
    other["metadata"]["annotations"] = {TRACKING_ANNOTATION: f"billing:/ConfigMap:{NS}/other-app-owned"}
    kube_client.server_side_apply(other, field_manager="billing")
    no_longer = [cm("keep")]
    comparison, results = sync(kube_client, no_longer)
    statuses = {r.key.name: r.status for r in comparison.result.resources}
    assert statuses == {"keep": "Synced", "old": "Extraneous", "stays": "Extraneous"}
    assert results[("ConfigMap", "old")].message == "ignored (requires pruning)"
    comparison, results = sync(kube_client, no_longer, prune=True)
    assert (
        results[("ConfigMap", "old")].action == "pruned"
        and results[("ConfigMap", "stays")].action == "pruned"
    )
    names = {o["metadata"]["name"] for o in kube_client.list("v1", "ConfigMap", NS)}
    assert {"keep", "by-hand", "other-app-owned"} <= names
    assert not {"old", "stays"} & names


def test_prune_false_and_dry_run(kube_client: KubeClient) -> None:
    protected = cm("protected")
    protected["metadata"]["annotations"] = {"argocd.argoproj.io/sync-options": "Prune=false"}
    first, _ = sync(kube_client, [protected, cm("a")])
    tracked = tuple(r.key for r in first.result.resources)  # what the store remembers from the last compare
    _, results = sync(kube_client, [], tracked, prune=True, dry_run=True)
    assert results[("ConfigMap", "a")].message == "pruned (dry run)"
    assert results[("ConfigMap", "protected")].message == "ignored (Prune=false)"
    assert {o["metadata"]["name"] for o in kube_client.list("v1", "ConfigMap", NS)} >= {"a", "protected"}
    _, results = sync(kube_client, [], tracked, prune=True)
    assert results[("ConfigMap", "a")].action == "pruned"
    assert results[("ConfigMap", "protected")].status == "PruneSkipped"
    assert {o["metadata"]["name"] for o in kube_client.list("v1", "ConfigMap", NS)} >= {"protected"}


def test_dry_run_into_a_namespace_that_create_namespace_would_create(kube_client: KubeClient) -> None:
    hook = cm("before")
    hook["metadata"]["annotations"] = {"argocd.argoproj.io/hook": "PreSync"}
    comparison = compare_app(kube_client, [cm("a"), cm("b"), hook], app=APP, namespace=NS)
    # The namespace does not exist yet: everything is Missing, and nothing is an error.
    assert not comparison.result.errors
    assert {(r.key.name, r.status, r.error) for r in comparison.result.resources} == {
        ("a", "Missing", None),
        ("b", "Missing", None),
    }
    options = SyncOptions(create_namespace=True, namespace=NS, dry_run=True)
    _, results = sync_app(kube_client, comparison.result, options)
    by_name = {r.key.name: r for r in results}
    assert by_name[NS].message == "namespace would be created (dry run)"
    for name in ("a", "b", "before"):
        assert by_name[name].status == "Synced", by_name[name].message
        assert by_name[name].message == f"created (dry run; namespace {NS} would be created first)"
    assert NS not in {n["metadata"]["name"] for n in kube_client.list("v1", "Namespace")}
    # Without CreateNamespace the same dry run fails: the namespace would really be missing.
    _, results = sync_app(kube_client, comparison.result, SyncOptions(namespace=NS, dry_run=True))
    assert {r.key.name: r.status for r in results}["a"] == "SyncFailed"


def test_shared_object_is_reported_and_left_alone(kube_client: KubeClient) -> None:
    theirs = cm("shared", owner="billing")
    theirs["metadata"]["namespace"] = NS
    theirs["metadata"]["annotations"] = {TRACKING_ANNOTATION: f"billing:/ConfigMap:{NS}/shared"}
    kube_client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    kube_client.server_side_apply(theirs, field_manager="billing")
    comparison, results = sync(kube_client, [cm("shared", owner="shop")], prune=True)
    assert any("SharedResourceWarning" in w and "billing" in w for w in comparison.result.warnings)
    result = results[("ConfigMap", "shared")]
    assert result.status == "SyncFailed" and "part of application billing" in result.message
    live = kube_client.get("v1", "ConfigMap", "shared", NS)
    assert live["data"] == {"owner": "billing"}
    assert live["metadata"]["annotations"][TRACKING_ANNOTATION].startswith("billing:")


IMMUTABLE = (
    'Deployment.apps "mon-app" is invalid: spec.selector: Invalid value: '
    'v1.LabelSelector{MatchLabels:map[string]string{"app":"mon-app", "tier":"web"}}: field is immutable'
)


def test_immutable_field_fails_without_force_and_is_recreated_with_force(
    kube_client: KubeClient, sandbox
) -> None:
    # A 422 worded as a real API server words it, injected (the Deployment selector case).
    sync(kube_client, [DEPLOYMENT])
    moved = copy.deepcopy(DEPLOYMENT)
    moved["spec"]["selector"] = {"matchLabels": {"app": "mon-app", "tier": "web"}}
    moved["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    sandbox.faults.add(
        path_contains="/deployments/mon-app", status=422, message=IMMUTABLE, times=2, method="PATCH"
    )
    _, results = sync(kube_client, [moved])
    failed = results[("Deployment", "mon-app")]
    assert failed.status == "SyncFailed" and "field is immutable" in failed.message
    uid_before = kube_client.get("apps/v1", "Deployment", "mon-app", NS)["metadata"]["uid"]
    sandbox.faults.add(
        path_contains="/deployments/mon-app", status=422, message=IMMUTABLE, times=2, method="PATCH"
    )
    _, results = sync(kube_client, [moved], force=True)
    assert results[("Deployment", "mon-app")].status == "Synced"
    assert "deleted and recreated" in results[("Deployment", "mon-app")].message
    live = kube_client.get("apps/v1", "Deployment", "mon-app", NS)
    assert live["metadata"]["uid"] != uid_before
    assert live["spec"]["selector"]["matchLabels"] == {"app": "mon-app", "tier": "web"}


STATEFULSET = yaml.safe_load(
    """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres:16}]}
"""
)


def test_a_statefulset_change_the_server_forbids_is_recreated_with_force(kube_client: KubeClient) -> None:
    # The sandbox refuses it as kube-apiserver does ("spec: Forbidden: updates to statefulset spec for
    # fields other than ..."), without the word "immutable": --force must still replace it.
    sync(kube_client, [STATEFULSET])
    moved = copy.deepcopy(STATEFULSET)
    moved["spec"]["serviceName"] = "db-headless"
    _, results = sync(kube_client, [moved])
    failed = results[("StatefulSet", "db")]
    assert failed.status == "SyncFailed" and "updates to statefulset spec" in failed.message
    uid_before = kube_client.get("apps/v1", "StatefulSet", "db", NS)["metadata"]["uid"]
    _, results = sync(kube_client, [moved], force=True)
    assert results[("StatefulSet", "db")].status == "Synced", results[("StatefulSet", "db")].message
    assert "deleted and recreated" in results[("StatefulSet", "db")].message
    live = kube_client.get("apps/v1", "StatefulSet", "db", NS)
    assert live["metadata"]["uid"] != uid_before and live["spec"]["serviceName"] == "db-headless"


def test_bad_objects_and_unknown_kind_fail_alone(kube_client: KubeClient) -> None:
    manifests: list[Any] = [
        {"kind": "ConfigMap", "metadata": {"name": "no-api-version"}},
        {"apiVersion": "v1", "metadata": {"name": "no-kind"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}},
        {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}},
        cm("fine"),
    ]
    comparison = compare_app(kube_client, manifests, app=APP, namespace=NS)
    errors = "\n".join(comparison.result.errors)
    assert "has no apiVersion" in errors and "has no kind" in errors and "has no metadata.name" in errors
    assert "does not serve kind Gadget in apiVersion example.com/v1" in errors
    _, results = sync_app(kube_client, comparison.result, SyncOptions(create_namespace=True, namespace=NS))
    by_name = {r.key.name: r for r in results}
    assert by_name["fine"].action == "created"
    assert by_name["g"].status == "SyncFailed"
    assert sum(1 for r in results if r.status == "SyncFailed") == 4


def test_crd_and_its_custom_resource_in_one_sync(kube_client: KubeClient) -> None:
    crd = yaml.safe_load(
        """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
    - name: v1
      served: true
      storage: true
      schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
"""
    )
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3},
    }
    comparison, results = sync(kube_client, [widget, crd])
    assert results[("CustomResourceDefinition", "widgets.example.com")].action == "created"
    assert results[("Widget", "w1")].action == "created", results[("Widget", "w1")].message
    checks = LuaHealthChecks(
        {"example.com/Widget": 'return {status = "Healthy", message = "size " .. obj.spec.size}'}
    )
    again = compare_app(
        kube_client, [widget, crd], app=APP, namespace=NS, options=CompareOptions(health=checks)
    )
    assert again.result.status == "Synced", again.result.reason
    widget_status = next(r for r in again.result.resources if r.key.kind == "Widget")
    assert widget_status.health is not None and widget_status.health.message == "size 3"


def test_health_follows_the_rollout(kube_client: KubeClient, sandbox) -> None:
    import time

    sync(kube_client, [DEPLOYMENT])
    deadline = time.monotonic() + 10
    health = None
    while time.monotonic() < deadline:
        health = compare_app(kube_client, [DEPLOYMENT], app=APP, namespace=NS).result.health
        if health.status is HealthStatus.HEALTHY:
            break
        time.sleep(0.1)
    assert health is not None and health.status is HealthStatus.HEALTHY


def test_no_change_compare_reads_in_bulk(kube_client: KubeClient) -> None:
    manifests = [cm(f"c{i}") for i in range(60)] + [DEPLOYMENT, SERVICE]
    sync(kube_client, manifests)
    comparison = compare_app(kube_client, manifests, app=APP, namespace=NS)
    assert comparison.result.status == "Synced"
    assert comparison.live.requests == 3  # one list per kind in the namespace
    assert comparison.result.dry_runs == 0


@pytest.mark.parametrize("status", [403, 500])
def test_api_errors_on_one_kind_are_per_resource_and_5xx_fail_the_comparison(kube_client: KubeClient, sandbox, status: int) -> None:
    sync(kube_client, [DEPLOYMENT, cm("c")])
    sandbox.faults.add(
        path_contains="/configmaps", status=status, message=f"injected {status}", times=None, method="GET"
    )
    if status >= 500:
        # A 5xx says the cluster cannot be read now, not that this kind has no objects or its own
        # problem: the comparison as a whole fails with it (the caller names the cluster), as Argo CD's
        # does when its cluster cache cannot sync.
        with pytest.raises(ServerError, match=f"injected {status}"):
            compare_app(kube_client, [DEPLOYMENT, cm("c")], app=APP, namespace=NS)
    else:
        comparison = compare_app(kube_client, [DEPLOYMENT, cm("c")], app=APP, namespace=NS)
        by_kind = {r.key.kind: r for r in comparison.result.resources}
        assert by_kind["Deployment"].status == "Synced"
        assert by_kind["ConfigMap"].status == "Unknown"
        assert f"injected {status}" in by_kind["ConfigMap"].message
        assert comparison.result.status == "Unknown"
    sandbox.faults.clear()
    sandbox.faults.add(
        path_contains="/configmaps/c",
        status=status,
        message=f"apply refused {status}",
        times=None,
        method="PATCH",
    )
    _, results = sync(kube_client, [DEPLOYMENT, cm("c", k="changed")])
    assert results[("ConfigMap", "c")].status == "SyncFailed"
    assert f"apply refused {status}" in results[("ConfigMap", "c")].message
    assert results[("Deployment", "mon-app")].status == "Synced"


def test_wrong_token_gives_per_resource_errors(sandbox, tmp_path) -> None:
    from gitopsd.kube.credentials import ClusterCredentials

    bad = ClusterCredentials(server=sandbox.url, bearer_token="not-the-token", ca_data=sandbox.ca_pem)
    with KubeClient(bad, tmp_path / "bad", timeout=5) as client:
        comparison = compare_app(client, [DEPLOYMENT, cm("c")], app=APP, namespace=NS)
    assert comparison.result.status == "Unknown"
    assert len(comparison.result.errors) == 2
    assert all("Unauthorized" in e for e in comparison.result.errors)
    assert "not-the-token" not in comparison.result.reason + "".join(comparison.result.errors)


def test_slow_api_server_times_out_per_kind(
    kube_client: KubeClient, sandbox, sandbox_kubeconfig, tmp_path
) -> None:
    from gitopsd.kube.credentials import from_kubeconfig

    sync(kube_client, [DEPLOYMENT, cm("c")])
    sandbox.faults.add(path_contains="/configmaps", status=None, delay=1.5, times=1, method="GET")
    with KubeClient(
        from_kubeconfig(sandbox_kubeconfig, "sandbox"), tmp_path / "fast", timeout=0.5
    ) as impatient:
        comparison = compare_app(impatient, [DEPLOYMENT, cm("c")], app=APP, namespace=NS)
    by_kind = {r.key.kind: r for r in comparison.result.resources}
    assert (
        by_kind["ConfigMap"].status == "Unknown" and "did not answer in time" in by_kind["ConfigMap"].message
    )
    assert by_kind["Deployment"].status == "Synced"


def test_replace_sync_option(kube_client: KubeClient) -> None:
    replaced = cm("replaced", v="1")
    replaced["metadata"]["annotations"] = {"argocd.argoproj.io/sync-options": "Replace=true"}
    _, results = sync(kube_client, [replaced])
    assert results[("ConfigMap", "replaced")].action == "created"
    replaced["data"] = {"v": "2"}
    _, results = sync(kube_client, [replaced])
    assert results[("ConfigMap", "replaced")].action == "configured"
    live = kube_client.get("v1", "ConfigMap", "replaced", NS)
    assert live["data"] == {"v": "2"}
    # Written with PUT (an Update by gitopsd), not an Apply.
    assert any(
        m["manager"] == "gitopsd" and m["operation"] == "Update" for m in live["metadata"]["managedFields"]
    )


def test_removed_fields_and_secret_changes_are_drift_and_get_applied(kube_client: KubeClient) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": "hunter2"},
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"x": "1", "y": "2"}},
        "data": {"a": "1", "b": "2"},
    }
    sync(kube_client, [secret, config])
    assert compare_app(kube_client, [secret, config], app=APP, namespace=NS).result.status == "Synced"
    secret["stringData"] = {"password": "hunter3"}
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"x": "1"}},
        "data": {"a": "1"},
    }
    comparison, results = sync(kube_client, [secret, config])
    by_kind = {r.key.kind: r for r in comparison.result.resources}
    assert by_kind["Secret"].message == "data.password changed"
    assert "hunter" not in by_kind["Secret"].diff and "aHVudGVy" not in by_kind["Secret"].diff
    assert by_kind["ConfigMap"].message == "metadata.labels.y removed, data.b removed"
    assert "-  b: '2'" in by_kind["ConfigMap"].diff
    assert (
        results[("Secret", "db")].action == "configured"
        and results[("ConfigMap", "c")].action == "configured"
    )
    live = kube_client.get("v1", "ConfigMap", "c", NS)
    assert live["data"] == {"a": "1"} and live["metadata"]["labels"] == {"x": "1"}
    assert compare_app(kube_client, [secret, config], app=APP, namespace=NS).result.status == "Synced"


def _wait_hook(client: KubeClient, name: str) -> tuple[str, str]:
    import time

    from gitopsd.engine.hooks import RUNNING, hook_phase

    deadline = time.monotonic() + 10
    phase, message = RUNNING, ""
    while time.monotonic() < deadline:
        phase, message = hook_phase(client.get("batch/v1", "Job", name, NS))
        if phase != RUNNING:
            break
        time.sleep(0.1)
    return phase, message


@pytest.mark.parametrize(("result", "expected"), [("", "Succeeded"), ("fail", "Failed")])
def test_presync_hook_job_runs_and_is_recreated(kube_client: KubeClient, result: str, expected: str) -> None:
    job = yaml.safe_load(
        """
apiVersion: batch/v1
kind: Job
metadata:
  generateName: migrate-
  annotations: {argocd.argoproj.io/hook: PreSync}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: busybox, command: [sh, -c, "exit 0"]}]
"""
    )
    if result:
        job["metadata"]["annotations"]["sandbox.gitopsd.io/job-result"] = result
    comparison, results = sync(kube_client, [job, cm("app-config")])
    assert comparison.result.status == "OutOfSync"  # the ConfigMap; the hook is not compared
    (hook,) = [r for r in results.values() if r.hook_type == "PreSync"]
    assert hook.action == "created" and hook.key.name.startswith("migrate-")
    assert _wait_hook(kube_client, hook.key.name)[0] == expected
    uid = kube_client.get("batch/v1", "Job", hook.key.name, NS)["metadata"]["uid"]
    _, results = sync(kube_client, [job, cm("app-config")])
    (again,) = [r for r in results.values() if r.hook_type == "PreSync"]
    assert again.key == hook.key and "BeforeHookCreation" in again.message
    assert kube_client.get("batch/v1", "Job", hook.key.name, NS)["metadata"]["uid"] != uid
