"""App of apps through the daemon, the sandbox cluster and real git: a parent application whose
render holds Argo CD Application and AppProject documents creates them as gitopsd applications
(never as cluster objects), owns them, shows them in its resource list with their health, orders them
by sync wave, prunes them (with their resources when they carry the resources finalizer), and never
takes over an application it does not own or reaches past its project's rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

FINALIZER = "resources-finalizer.argocd.argoproj.io"


def _child(name: str, repo: str, path: str, namespace: str, **extra: Any) -> dict[str, Any]:
    app = application(name, repo, path, namespace, automated=True)
    app["spec"]["project"] = extra.pop("project", "default")
    if "finalizers" in extra:
        app["metadata"]["finalizers"] = extra.pop("finalizers")
    if "wave" in extra:
        app["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(extra.pop("wave"))}
    return app


def _project(name: str, namespaces: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": namespaces}],
        },
    }


def _docs(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs)


def _sync(cli, name: str, *extra: str) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    result = cli("app", "sync", name, "-o", "json", *extra)
    return result.returncode, json.loads(result.stdout) if result.stdout.strip() else {"stderr": result.stderr}


def _app(cli, name: str) -> dict[str, Any] | None:  # type: ignore[no-untyped-def]
    result = cli("app", "get", name, "-o", "json")
    return json.loads(result.stdout) if result.returncode == 0 else None


def _children_in(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: r
        for r in st.get("resources", [])
        if r.get("group") == "argoproj.io" and r.get("kind") in ("Application", "AppProject")
    }


def test_parent_creates_owns_shows_and_prunes_its_children(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("aoa")
    child_a = _child("child-a", repo.url, "a", "team-a", project="team", finalizers=[FINALIZER])
    child_b = _child("child-b", repo.url, "b", "team-b", wave=1)
    repo.commit(
        {
            "root/apps.yaml": _docs(_project("team", "team-*"), child_a, child_b),
            "a/cm.yaml": configmap("a-config"),
            "b/cm.yaml": configmap("b-config"),
        }
    )
    create(cli, tmp_path, application("root", repo.url, "root", "argocd"))
    st = wait_for(lambda: (s := status(cli, "root")).get("sync", {}).get("status") == "OutOfSync" and s)
    shown = _children_in(st)
    assert {n: r["status"] for n, r in shown.items()} == {
        "team": "Missing",
        "child-a": "Missing",
        "child-b": "Missing",
    }
    assert _app(cli, "child-a") is None  # nothing is created before the parent syncs

    code, op = _sync(cli, "root")
    assert code == 0, op
    names = [r["name"] for r in op["syncResult"]["resources"]]
    # The project first, then wave 0 (child-a), which had to be Healthy before wave 1 (child-b).
    assert names.index("team") < names.index("child-a") < names.index("child-b")
    a = _app(cli, "child-a")
    assert a is not None and a["metadata"]["ownerReferences"][0]["name"] == "root"
    assert a["spec"]["project"] == "team" and a["metadata"]["finalizers"] == [FINALIZER]
    assert re.search(r"^Owned By: +Application root$", cli("app", "get", "child-a").stdout, re.M)
    # The children are real applications: their automated syncs deploy their resources.
    wait_for(lambda: kubectl("-n", "team-a", "get", "cm", "a-config").returncode == 0, what="child-a deployed")
    wait_for(lambda: kubectl("-n", "team-b", "get", "cm", "b-config").returncode == 0, what="child-b deployed")
    # No Application object went to the cluster: there is no such kind there.
    assert kubectl("get", "applications.argoproj.io", "-A").returncode != 0

    def settled() -> dict[str, Any] | None:
        s = status(cli, "root")  # no refresh asked: the children's syncs wake their parent
        kids = _children_in(s)
        ok = s["sync"]["status"] == "Synced" and s["health"]["status"] == "Healthy"
        return s if ok and kids["child-b"].get("health", {}).get("status") == "Healthy" else None

    st = wait_for(settled, timeout=60, what="parent Synced and Healthy with its children")
    assert _children_in(st)["child-a"]["health"]["status"] == "Healthy"
    assert _children_in(st)["child-a"]["message"] == "application Synced"  # the child's own sync status

    # Someone changes a child by hand: the parent shows OutOfSync, and its sync puts Git's spec back.
    changed = dict(child_b, spec={**child_b["spec"], "destination": {**child_b["spec"]["destination"], "namespace": "elsewhere"}})
    changed["metadata"] = {"name": "child-b"}
    (tmp_path / "changed.yaml").write_text(yaml.safe_dump(changed))
    assert cli("app", "create", "--upsert", "-f", str(tmp_path / "changed.yaml")).returncode == 0
    st = wait_for(lambda: (s := status(cli, "root", refresh=True))["sync"]["status"] == "OutOfSync" and s)
    assert _children_in(st)["child-b"]["status"] == "OutOfSync"
    code, op = _sync(cli, "root")
    assert code == 0, op
    assert _app(cli, "child-b")["spec"]["destination"]["namespace"] == "team-b"  # type: ignore[index]

    # Both children leave Git: a prune deletes them; child-a's finalizer takes its ConfigMap with it,
    # child-b (no finalizer) leaves its ConfigMap in the cluster.
    repo.commit({"root/apps.yaml": _docs(_project("team", "team-*"))})
    code, op = _sync(cli, "root", "--prune")
    assert code == 0, op
    assert _app(cli, "child-a") is None and _app(cli, "child-b") is None
    wait_for(lambda: kubectl("-n", "team-a", "get", "cm", "a-config").returncode != 0, what="a-config deleted")
    assert kubectl("-n", "team-b", "get", "cm", "b-config").returncode == 0


def test_an_application_the_parent_does_not_own_is_a_conflict_not_overwritten(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("conflict")
    repo.commit({"root/apps.yaml": _docs(_child("taken", repo.url, "elsewhere", "mine")), "x/cm.yaml": configmap("x")})
    create(cli, tmp_path, application("taken", repo.url, "x", "users-own"))  # a user's own application
    create(cli, tmp_path, application("parent", repo.url, "root", "argocd"))
    st = wait_for(lambda: (s := status(cli, "parent")).get("sync", {}).get("status") == "OutOfSync" and s)
    assert "not owned by any parent" in _children_in(st)["taken"]["message"]

    code, op = _sync(cli, "parent")
    assert code != 0
    assert "taken" in op["message"] and "not owned by any parent" in op["message"]
    mine = _app(cli, "taken")
    assert mine is not None and mine["spec"]["source"]["path"] == "x"  # untouched
    assert "ownerReferences" not in mine["metadata"]


def test_a_parent_in_a_restricted_project_cannot_create_a_child_past_its_rules(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("restricted")
    (tmp_path / "proj.yaml").write_text(yaml.safe_dump(_project("restricted", "allowed")))
    assert cli("proj", "create", "-f", str(tmp_path / "proj.yaml")).returncode == 0
    sneaky = _child("sneaky", repo.url, "x", "kube-system", project="restricted")
    repo.commit({"root/apps.yaml": _docs(sneaky), "x/cm.yaml": configmap("x")})
    boss = application("boss", repo.url, "root", "allowed")
    boss["spec"]["project"] = "restricted"
    create(cli, tmp_path, boss)
    wait_for(lambda: status(cli, "boss").get("sync", {}).get("status") == "OutOfSync", what="comparison")

    code, op = _sync(cli, "boss")
    assert code != 0
    assert "not permitted by the project, nothing was applied" in op["message"]
    assert "kube-system" in op["message"]
    assert _app(cli, "sneaky") is None


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_example_app_of_apps_and_a_cascading_delete_of_its_parent(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("k8s-manifests")
    files = EXAMPLES / "repo"
    repo.commit({str(p.relative_to(files)): p.read_text() for p in files.rglob("*") if p.is_file()})
    parent = (EXAMPLES / "apps" / "app-of-apps.yaml").read_text()
    (tmp_path / "parent.yaml").write_text(parent.replace("https://github.com/mon-org/k8s-manifests", repo.url))
    applied = cli("apply", "-f", str(tmp_path / "parent.yaml"))
    assert applied.stdout.strip() == "application.argoproj.io/app-of-apps created", applied.stderr

    # The parent is automated: it creates its project and children, which deploy themselves.
    wait_for(lambda: _app(cli, "demo-frontend"), timeout=90, what="the wave-1 child")
    wait_for(lambda: kubectl("-n", "demo-guestbook", "get", "deploy", "guestbook").returncode == 0, what="guestbook")
    wait_for(lambda: kubectl("-n", "demo-frontend", "get", "cm", "frontend-config").returncode == 0, what="frontend")
    assert cli("proj", "get", "demo-team").returncode == 0

    # Deleting the parent with cascade deletes its children and project; demo-guestbook's finalizer
    # takes its resources along, demo-frontend (no finalizer) leaves its ConfigMap.
    deleted = cli("app", "delete", "app-of-apps", "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert _app(cli, "demo-guestbook") is None and _app(cli, "demo-frontend") is None
    assert cli("proj", "get", "demo-team").returncode != 0
    wait_for(lambda: kubectl("-n", "demo-guestbook", "get", "deploy", "guestbook").returncode != 0, what="cascade")
    assert kubectl("-n", "demo-frontend", "get", "cm", "frontend-config").returncode == 0
