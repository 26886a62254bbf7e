"""The live-resource RPCs and their CLI commands, through the daemon against the sandbox cluster:
the resource tree (Deployment → ReplicaSet → Pods, with health) and its watch, Kubernetes events,
pod logs (tail and follow), resource actions (restart; RBAC `action/...`), patching and deleting a
resource, the application Patch, can-i and settings."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import grpc
import pytest
import yaml
from auth.authhelpers import rpc_error
from fixtures.daemon import wait_for
from resources.resenv import PASSWORD, ResEnv, configmap, deployment, start, stop

from gitopsd.api.gitopsd.v1 import common_pb2, settings_pb2_grpc
from gitopsd.api.gitopsd.v1 import resource_pb2 as respb


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResEnv]:
    e = start(tmp_path_factory.mktemp("resources"))
    try:
        yield e
    finally:
        stop(e)


def _tree(env: ResEnv, name: str, user: str = "admin") -> respb.ApplicationTree:
    channel, apps = env.apps(user)
    with channel:
        return apps.ResourceTree(respb.ResourcesQuery(application_name=name), timeout=30)


def _kinds(tree: respb.ApplicationTree) -> dict[str, list[respb.ResourceNode]]:
    out: dict[str, list[respb.ResourceNode]] = {}
    for n in tree.nodes:
        out.setdefault(n.kind, []).append(n)
    return out


def _pods_ready(env: ResEnv, name: str, count: int) -> respb.ApplicationTree | None:
    tree = _tree(env, name)
    pods = _kinds(tree).get("Pod", [])
    running = [p for p in pods if p.health.status == "Healthy"]
    return tree if len(pods) == count and len(running) == count else None


def test_the_tree_of_a_deployment_app_shows_its_replicaset_and_pods_with_health(env: ResEnv) -> None:
    env.deploy("tree", {"deploy.yaml": deployment("web", 2), "cm.yaml": configmap("web-config", {"a": "1"})}, "tree-ns")
    tree = wait_for(lambda: _pods_ready(env, "tree", 2), what="two healthy pods in the tree")
    kinds = _kinds(tree)
    [dep], [rs], [cm] = kinds["Deployment"], kinds["ReplicaSet"], kinds["ConfigMap"]
    assert (dep.group, dep.namespace, dep.sync_status, dep.health.status) == ("apps", "tree-ns", "Synced", "Healthy")
    assert dep.images == ["nginx:1.27"] and dep.uid and dep.created_at
    assert cm.sync_status == "Synced" and not cm.HasField("health")  # no health notion for a ConfigMap
    assert [(p.kind, p.name) for p in rs.parent_refs] == [("Deployment", "web")]
    assert rs.health.status == "Healthy" and rs.sync_status == ""  # a child: not managed
    assert any(i.name == "Revision" and i.value == "Rev:1" for i in rs.info)
    for pod in kinds["Pod"]:
        assert [(p.kind, p.name) for p in pod.parent_refs] == [("ReplicaSet", rs.name)]
        info = {i.name: i.value for i in pod.info}
        assert info["Status Reason"] == "Running" and info["Containers"] == "1/1", info
        assert pod.images == ["nginx:1.27"]
    # The CLI draws it as a tree: pods under their ReplicaSet, under the Deployment.
    out = env.cli("app", "resources", "tree")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:6] == ["GROUP", "KIND", "NAMESPACE", "NAME", "STATUS", "HEALTH"]
    rs_line = next(line for line in lines if "ReplicaSet" in line)
    assert "└─ReplicaSet" in rs_line and rs.name in rs_line
    pod_lines = [line for line in lines if "Pod" in line]
    assert len(pod_lines) == 2 and all("─Pod" in line and "Running" in line for line in pod_lines)
    assert lines.index(rs_line) < min(lines.index(p) for p in pod_lines)


def test_watch_resource_tree_sends_the_tree_again_when_a_deployment_is_scaled(env: ResEnv) -> None:
    env.deploy("watched", {"deploy.yaml": deployment("api", 1)}, "watched-ns")
    wait_for(lambda: _pods_ready(env, "watched", 1), what="one healthy pod")
    channel, apps = env.apps()
    seen: list[int] = []
    done = threading.Event()
    stream = apps.WatchResourceTree(respb.ResourcesQuery(application_name="watched"), timeout=120)

    def read() -> None:
        for tree in stream:
            seen.append(len([n for n in tree.nodes if n.kind == "Pod" and n.health.status == "Healthy"]))
            if seen[-1] == 3:
                done.set()
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    with channel:
        wait_for(lambda: seen, what="the first tree")
        scaled = env.kubectl("-n", "watched-ns", "scale", "deployment", "api", "--replicas=3")
        assert scaled.returncode == 0, scaled.stderr
        assert done.wait(60), f"trees seen (healthy pods): {seen}"
        stream.cancel()
    assert seen[0] == 1


def test_events_of_the_app_and_its_resources_are_listed(env: ResEnv) -> None:
    env.deploy("evented", {"deploy.yaml": deployment("ev", 1)}, "evented-ns")
    channel, apps = env.apps()
    with channel:
        def events() -> list[respb.KubeEvent] | None:
            items = list(apps.ListResourceEvents(respb.ResourceEventsQuery(name="evented"), timeout=30).items)
            kinds = {e.involved_object.kind for e in items}
            return items if {"Deployment", "ReplicaSet", "Pod", "Application"} <= kinds else None

        items = wait_for(events, what="events of the deployment, its replicaset and pod, and the app")
    reasons = {(e.involved_object.kind, e.reason) for e in items}
    assert ("Deployment", "ScalingReplicaSet") in reasons, reasons
    assert ("ReplicaSet", "SuccessfulCreate") in reasons, reasons
    assert ("Application", "ResourceCreated") in reasons, reasons
    assert all(e.involved_object.namespace in ("evented-ns", "") for e in items)


def _job(name: str, seconds: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": {"sandbox.gitopsd.io/job-duration": seconds}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"sandbox.gitopsd.io/logs": "migrating\nstill migrating"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox:1"}]},
            },
        },
    })


def test_logs_tail_and_follow(env: ResEnv) -> None:
    env.deploy("logged", {"deploy.yaml": deployment("lw", 2, log_lines="hello from lw\nlistening on :80")}, "logged-ns")
    wait_for(lambda: _pods_ready(env, "logged", 2), what="two healthy pods")
    # Every pod of the app, the last line of each.
    out = env.cli("app", "logs", "logged", "--tail", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["sandbox: container lw is running"] * 2
    # Of the Deployment's pods, whole, through the RPC: lines named by pod, in time order per pod.
    channel, apps = env.apps()
    with channel:
        entries = list(apps.PodLogs(
            respb.ApplicationPodLogsQuery(name="logged", kind="Deployment", group="apps", resource_name="lw"),
            timeout=30,
        ))
    assert entries[-1].last
    by_pod: dict[str, list[str]] = {}
    for e in entries[:-1]:
        assert e.time_stamp.startswith("20"), e
        by_pod.setdefault(e.pod_name, []).append(e.content)
    assert len(by_pod) == 2
    for lines in by_pod.values():
        assert lines == [
            "sandbox: starting container lw (nginx:1.27)", "hello from lw", "listening on :80",
            "sandbox: container lw is running",
        ]
    # Follow: the stream stays open while the Job's container runs, and ends with its exit line.
    repo_files = {"job.yaml": _job("migrate", "4")}
    created = _create_only(env, "followed", repo_files, "followed-ns")
    assert created
    wait_for(lambda: any(
        n.kind == "Pod" and {i.name: i.value for i in n.info}.get("Status Reason") == "Running"
        for n in _tree(env, "followed").nodes), what="the job's pod running")
    follow = env.cli("app", "logs", "followed", "--kind", "Job", "--name", "migrate", "-f")
    assert follow.returncode == 0, follow.stderr
    lines = follow.stdout.splitlines()
    assert lines[:3] == ["sandbox: starting container run (busybox:1)", "migrating", "still migrating"], lines
    assert lines[-1] == "sandbox: container run completed", lines
    # A hostile query is refused with what is wrong.
    bad = env.cli("app", "logs", "logged", "--tail", "-1")
    assert bad.returncode != 0 and "--tail" in bad.stderr
    channel, apps = env.apps()
    with channel:
        err = rpc_error(lambda: list(apps.PodLogs(
            respb.ApplicationPodLogsQuery(name="logged", tail_lines=10**12), timeout=30)))
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "tailLines: must be between 0 and" in err.details()
        err = rpc_error(lambda: list(apps.PodLogs(
            respb.ApplicationPodLogsQuery(name="logged", pod_name="web-0"), timeout=30)))
        assert err.code() == grpc.StatusCode.NOT_FOUND and "is not a pod of application 'logged'" in err.details()


def _create_only(env: ResEnv, name: str, files: dict[str, str], namespace: str) -> bool:
    """Create and sync without waiting for health (a Job that runs for a while)."""
    repo = env.repos.create(name)
    repo.commit({f"{name}/{p}": t for p, t in files.items()})
    app = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "targetRevision": "main", "path": name},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
        },
    }
    path = env.tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(app))
    assert env.cli("app", "create", "-f", str(path)).returncode == 0
    synced = env.cli("app", "sync", name, "--async")
    if synced.returncode != 0:
        synced = env.cli("app", "sync", name)
    return synced.returncode == 0


def _restarted_at(env: ResEnv, ns: str, name: str) -> str | None:
    dep = env.kube_json("-n", ns, "get", "deployment", name)
    return ((dep["spec"]["template"].get("metadata") or {}).get("annotations") or {}).get(
        "kubectl.kubernetes.io/restartedAt"
    )


def test_restart_action_sets_the_template_annotation_and_a_read_only_user_is_refused(env: ResEnv) -> None:
    env.deploy("acting", {"deploy.yaml": deployment("act", 1)}, "acting-ns")
    listed = env.cli("app", "actions", "list", "acting", "--kind", "Deployment", "--resource-name", "act")
    assert listed.returncode == 0, listed.stderr
    assert ["apps", "Deployment", "act", "restart", "false"] in [line.split() for line in listed.stdout.splitlines()]
    # A read-only user may list, not run (RBAC action/apps/Deployment/restart).
    viewer = env.as_user("viewer")
    refused = viewer("app", "actions", "run", "acting", "restart", "--kind", "Deployment", "--resource-name", "act")
    assert refused.returncode != 0
    assert "may not action/apps/Deployment/restart applications 'default/acting'" in refused.stderr, refused.stderr
    assert _restarted_at(env, "acting-ns", "act") is None
    # A user granted exactly `action/apps/Deployment/restart` may run it.
    ran = env.as_user("operator")(
        "app", "actions", "run", "acting", "restart", "--kind", "Deployment", "--resource-name", "act"
    )
    assert ran.returncode == 0, ran.stderr
    stamp = _restarted_at(env, "acting-ns", "act")
    assert stamp and stamp.endswith("Z")
    # The restart rolls the pods, and is not drift: the application stays Synced.
    wait_for(lambda: len(_kinds(_tree(env, "acting")).get("ReplicaSet", [])) == 2, what="a second ReplicaSet")
    assert env.status("acting", refresh=True)["sync"]["status"] == "Synced"
    # An action the kind does not have, or a resource that is not the app's, is named.
    unknown = env.cli("app", "actions", "run", "acting", "explode", "--kind", "Deployment", "--resource-name", "act")
    assert unknown.returncode != 0 and "has no action 'explode' (its actions: restart)" in unknown.stderr
    other = env.cli("app", "actions", "run", "acting", "restart", "--kind", "Deployment", "--resource-name", "web")
    assert other.returncode != 0 and "is not a live resource of application 'acting'" in other.stderr


def test_create_job_action_of_a_cronjob_makes_a_job_owned_by_it(env: ResEnv) -> None:
    cron = yaml.safe_dump({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
        "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "run", "image": "busybox:1"}]}}}}},
    })
    env.deploy("cron", {"cron.yaml": cron}, "cron-ns")
    refused = env.as_user("operator")(
        "app", "actions", "run", "cron", "create-job", "--kind", "CronJob", "--resource-name", "nightly"
    )
    assert refused.returncode != 0 and "may not action/batch/CronJob/create-job" in refused.stderr
    ran = env.cli("app", "actions", "run", "cron", "create-job", "--kind", "CronJob", "--resource-name", "nightly")
    assert ran.returncode == 0, ran.stderr
    jobs = env.kube_json("-n", "cron-ns", "get", "jobs")["items"]
    assert len(jobs) == 1 and jobs[0]["metadata"]["name"].startswith("nightly-")
    assert jobs[0]["metadata"]["ownerReferences"][0]["name"] == "nightly"
    # The tree shows CronJob → Job → Pod.
    tree = wait_for(lambda: (t := _tree(env, "cron")) and "Pod" in _kinds(t) and t, what="the job's pod")
    [job] = _kinds(tree)["Job"]
    assert [(p.kind, p.name) for p in job.parent_refs] == [("CronJob", "nightly")]
    assert [(p.kind, p.name) for p in _kinds(tree)["Pod"][0].parent_refs] == [("Job", job.name)]


def test_patch_and_delete_a_resource_of_the_app(env: ResEnv) -> None:
    env.deploy("patched", {"deploy.yaml": deployment("pw", 1), "cm.yaml": configmap("pw-config", {"a": "1"})}, "patched-ns")
    channel, apps = env.apps()
    with channel:
        reply = apps.PatchResource(
            respb.ApplicationResourcePatchRequest(
                name="patched", kind="ConfigMap", resource_name="pw-config", namespace="patched-ns",
                version="v1", patch=json.dumps({"data": {"a": "2"}}), patch_type="merge",
            ),
            timeout=30,
        )
        assert json.loads(reply.manifest)["data"] == {"a": "2"}
        # The live object changed, so the application is out of sync with Git now.
        assert env.kube_json("-n", "patched-ns", "get", "configmap", "pw-config")["data"] == {"a": "2"}
        assert env.status("patched", refresh=True)["sync"]["status"] == "OutOfSync"
        # A read-only user may read it, not patch or delete it.
        viewer_channel, viewer = env.apps("viewer")
        with viewer_channel:
            got = viewer.GetResource(
                respb.ApplicationResourceRequest(name="patched", kind="ConfigMap", resource_name="pw-config"),
                timeout=30,
            )
            assert json.loads(got.manifest)["metadata"]["name"] == "pw-config"
            err = rpc_error(viewer.DeleteResource, respb.ApplicationResourceDeleteRequest(
                name="patched", kind="ConfigMap", resource_name="pw-config"), timeout=30)
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED
        # Another application's object is out of reach, whatever the caller's rights.
        err = rpc_error(apps.GetResource, respb.ApplicationResourceRequest(
            name="patched", kind="ConfigMap", resource_name="web-config", namespace="tree-ns"), timeout=30)
        assert err.code() == grpc.StatusCode.NOT_FOUND
        bad = rpc_error(apps.PatchResource, respb.ApplicationResourcePatchRequest(
            name="patched", kind="ConfigMap", resource_name="pw-config", patch="{not json", patch_type="merge"),
            timeout=30)
        assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and "not JSON" in bad.details()
    # Delete a pod of the app: gone (its ReplicaSet makes another).
    pod = next(n.name for n in _tree(env, "patched").nodes if n.kind == "Pod")
    out = env.cli("app", "delete-resource", "patched", "--kind", "Pod", "--resource-name", pod, "--force")
    assert out.returncode == 0, out.stderr
    wait_for(lambda: env.kubectl("-n", "patched-ns", "get", "pod", pod).returncode != 0, what="pod deleted")
    # Delete the ConfigMap: it is Missing now.
    out = env.cli("app", "delete-resource", "patched", "--kind", "ConfigMap", "--resource-name", "pw-config")
    assert out.returncode == 0, out.stderr
    assert env.kubectl("-n", "patched-ns", "get", "configmap", "pw-config").returncode != 0


def test_patch_of_the_application(env: ResEnv) -> None:
    env.deploy("appatch", {"cm.yaml": configmap("ap-config", {"a": "1"})}, "appatch-ns")
    out = env.cli("app", "patch", "appatch", "--type", "merge", "--patch",
                  json.dumps({"spec": {"source": {"targetRevision": "HEAD"}}, "metadata": {"labels": {"team": "x"}}}))
    assert out.returncode == 0, out.stderr
    got = json.loads(env.cli("app", "get", "appatch", "-o", "json").stdout)
    assert got["spec"]["source"]["targetRevision"] == "HEAD" and got["metadata"]["labels"] == {"team": "x"}
    out = env.cli("app", "patch", "appatch", "--patch",
                  json.dumps([{"op": "replace", "path": "/spec/source/targetRevision", "value": "main"}]))
    assert out.returncode == 0, out.stderr
    got = json.loads(env.cli("app", "get", "appatch", "-o", "json").stdout)
    assert got["spec"]["source"]["targetRevision"] == "main"
    # Validated as an update: an unknown field, an invalid value, a move to another project are refused.
    bad = env.cli("app", "patch", "appatch", "--type", "merge", "--patch", json.dumps({"spec": {"bogus": 1}}))
    assert bad.returncode != 0 and "bogus" in bad.stderr
    bad = env.cli("app", "patch", "appatch", "--patch", json.dumps([{"op": "remove", "path": "/spec/nope"}]))
    assert bad.returncode != 0 and "patch:" in bad.stderr
    bad = env.cli("app", "patch", "appatch", "--type", "merge", "--patch", json.dumps({"spec": {"project": "other"}}))
    assert bad.returncode != 0 and "spec.project cannot be changed" in bad.stderr
    refused = env.as_user("viewer")("app", "patch", "appatch", "--type", "merge", "--patch", "{}")
    assert refused.returncode != 0 and "may not update" in refused.stderr


def test_can_i_answers_for_admin_and_a_read_only_user(env: ResEnv) -> None:
    admin = env.cli("account", "can-i", "sync", "applications", "default/anything")
    assert (admin.returncode, admin.stdout.strip()) == (0, "yes"), admin.stderr
    viewer = env.as_user("viewer")
    assert viewer("account", "can-i", "get", "applications", "default/x").stdout.strip() == "yes"
    assert viewer("account", "can-i", "sync", "applications", "default/x").stdout.strip() == "no"
    assert viewer("account", "can-i", "action/apps/Deployment/restart", "applications", "*").stdout.strip() == "no"
    deployer = env.as_user("deployer")
    assert deployer("account", "can-i", "sync", "applications", "default/x").stdout.strip() == "yes"
    assert deployer("account", "can-i", "override", "applications", "default/x").stdout.strip() == "no"
    bad = viewer("account", "can-i", "fly", "applications", "*")
    assert bad.returncode != 0 and "action: 'fly' is not one of" in bad.stderr


def test_sync_to_another_revision_needs_override(env: ResEnv) -> None:
    env.deploy("overridden", {"cm.yaml": configmap("ov-config", {"a": "1"})}, "overridden-ns")
    deployer = env.as_user("deployer")
    plain = deployer("app", "sync", "overridden")
    assert plain.returncode == 0, plain.stderr
    sha = env.status("overridden")["sync"]["revision"]
    other = deployer("app", "sync", "overridden", "--revision", sha)
    assert other.returncode != 0 and "may not override applications 'default/overridden'" in other.stderr
    same = deployer("app", "sync", "overridden", "--revision", "main")  # the target itself
    assert same.returncode == 0, same.stderr
    assert env.cli("app", "sync", "overridden", "--revision", sha).returncode == 0  # admin may


def test_settings_say_what_a_client_needs_and_no_secret(env: ResEnv) -> None:
    channel = env.daemon.channel(token=env.tokens["viewer"])
    with channel:
        settings = settings_pb2_grpc.SettingsServiceStub(channel).Get(common_pb2.Empty(), timeout=30)
        unauthenticated = rpc_error(
            settings_pb2_grpc.SettingsServiceStub(env.daemon.channel(token="")).Get, common_pb2.Empty(), timeout=30
        )
    assert unauthenticated.code() == grpc.StatusCode.UNAUTHENTICATED
    assert settings.url == f"http://{env.daemon.http_address}"
    assert settings.app_label_key == "gitopsd.io/tracking-id" and settings.tracking_method == "annotation"
    assert not settings.user_logins_disabled and settings.login_max_failures == 5
    assert PASSWORD not in str(settings) and env.daemon.initial_password() not in str(settings)



def test_get_resource_masks_a_secret(env: ResEnv) -> None:
    secret_value = "s3cr3t-resource-value"
    secret = yaml.safe_dump({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}, "stringData": {"password": secret_value},
    })
    env.deploy("secretive", {"secret.yaml": secret}, "secretive-ns")
    channel, apps = env.apps()
    with channel:
        got = apps.GetResource(
            respb.ApplicationResourceRequest(name="secretive", kind="Secret", resource_name="db"), timeout=30
        )
    manifest = json.loads(got.manifest)
    assert manifest["kind"] == "Secret" and set(manifest["data"]) == {"password"}
    assert manifest["data"]["password"].strip("+") == ""
    assert secret_value not in got.manifest and "czNjcjN0" not in got.manifest  # nor its base64


ROLLOUT_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "rollouts.argoproj.io"},
    "spec": {
        "group": "argoproj.io",
        "names": {"kind": "Rollout", "plural": "rollouts", "singular": "rollout", "listKind": "RolloutList"},
        "scope": "Namespaced",
        "versions": [{
            "name": "v1alpha1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            "subresources": {"status": {}},
        }],
    },
}


def test_rollout_actions_when_the_crd_is_present(env: ResEnv) -> None:
    crd = env.tmp / "rollout-crd.json"
    crd.write_text(json.dumps(ROLLOUT_CRD))
    applied = env.kubectl("apply", "-f", str(crd))
    assert applied.returncode == 0, applied.stderr
    wait_for(lambda: env.kubectl("get", "rollouts", "-A").returncode == 0, what="the Rollout kind served")
    rollout = yaml.safe_dump({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "canary"},
        "spec": {
            "paused": True, "replicas": 1, "selector": {"matchLabels": {"app": "canary"}},
            "template": {"metadata": {"labels": {"app": "canary"}},
                         "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}},
        },
    })
    # Synced, not waited healthy: a paused Rollout with no controller is not Healthy where its health is assessed.
    assert _create_only(env, "rolling", {"rollout.yaml": rollout}, "rolling-ns")
    wait_for(lambda: any(n.kind == "Rollout" for n in _tree(env, "rolling").nodes), what="the Rollout live")
    listed = env.cli("app", "actions", "list", "rolling", "--kind", "Rollout", "--resource-name", "canary", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    actions = {a["name"]: a.get("disabled", False) for a in json.loads(listed.stdout)}
    assert actions == {"restart": False, "resume": False, "promote-full": False, "abort": False}
    for action in ("restart", "resume", "abort"):
        ran = env.cli("app", "actions", "run", "rolling", action, "--kind", "Rollout", "--resource-name", "canary")
        assert ran.returncode == 0, (action, ran.stderr)
    live = env.kube_json("-n", "rolling-ns", "get", "rollout", "canary")
    assert live["spec"]["restartAt"].endswith("Z") and live["spec"]["paused"] is False
    assert live["status"]["abort"] is True
    listed = env.cli("app", "actions", "list", "rolling", "--kind", "Rollout", "--resource-name", "canary", "-o", "json")
    actions = {a["name"]: a.get("disabled", False) for a in json.loads(listed.stdout)}
    assert actions["resume"] is True and actions["abort"] is True  # nothing to resume or abort now


def test_an_object_another_application_tracks_is_out_of_reach(env: ResEnv) -> None:
    env.deploy("owner", {"cm.yaml": configmap("shared", {"a": "1"})}, "shared-ns")
    # A second application whose manifests name the same object: it lists it, but may not touch it.
    repo = env.repos.create("claimer")
    repo.commit({"claimer/cm.yaml": configmap("shared", {"a": "2"})})
    app = {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "claimer"},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo.url, "targetRevision": "main", "path": "claimer"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "shared-ns"},
        },
    }
    path = env.tmp / "claimer.yaml"
    path.write_text(yaml.safe_dump(app))
    assert env.cli("app", "create", "-f", str(path)).returncode == 0
    st = env.status("claimer", refresh=True)
    assert [r["name"] for r in st.get("resources", [])] == ["shared"]
    assert [n.name for n in _tree(env, "claimer").nodes] == []
    out = env.cli("app", "delete-resource", "claimer", "--kind", "ConfigMap", "--resource-name", "shared")
    assert out.returncode != 0 and "is not a live resource of application 'claimer'" in out.stderr
    assert env.kube_json("-n", "shared-ns", "get", "configmap", "shared")["data"] == {"a": "1"}
    assert [n.name for n in _tree(env, "owner").nodes] == ["shared"]
