"""What an ApplicationSet may do to its applications: applicationsSync (create-only, create-update,
create-delete), preserveResourcesOnDeletion against resources really deployed to the sandbox, and
RBAC on the `applicationsets` resource for a read-only user."""

from __future__ import annotations

from pathlib import Path

import pytest
from appsets import CONFIGMAP, apps, appset, conditions, create, template
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from fixtures.sandbox import Kubectl


@pytest.fixture
def gitops_env_extra() -> dict[str, str]:
    """gitops_env's daemon with an account viewer holding role:readonly."""
    return {
        "GITOPSD_AUTH_ACCOUNTS": "{viewer: 'login, apiKey'}",
        "GITOPSD_RBAC_POLICY": "g, viewer, role:readonly",
    }


def _set(name: str, repo_url: str, elements: list[str], namespace: str, policy: str) -> dict[str, object]:
    return appset(
        name,
        [{"list": {"elements": [{"item": e} for e in elements]}}],
        template(f"{name}-{{{{item}}}}", repo_url, "app", namespace),
        syncPolicy={"applicationsSync": policy},
    )


def test_applications_sync_policies(gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path) -> None:
    repo = git_repos.create("apps")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    for name, policy in (("only", "create-only"), ("del", "create-delete"), ("upd", "create-update")):
        assert create(cli, tmp_path, _set(name, repo.url, ["a", "b"], "first", policy)).returncode == 0
    assert sorted(apps(cli)) == ["del-a", "del-b", "only-a", "only-b", "upd-a", "upd-b"]

    # The template changes (another namespace) and item b is gone from every set.
    for name, policy in (("only", "create-only"), ("del", "create-delete"), ("upd", "create-update")):
        changed = create(cli, tmp_path, _set(name, repo.url, ["a", "c"], "second", policy), "--upsert")
        assert changed.returncode == 0, changed.stderr
    made = apps(cli)
    namespace = {n: a["spec"]["destination"]["namespace"] for n, a in made.items()}
    # create-only: new apps only; nothing updated, nothing deleted.
    assert {n: v for n, v in namespace.items() if n.startswith("only-")} == {
        "only-a": "first",
        "only-b": "first",
        "only-c": "second",
    }
    # create-delete: b deleted, a not updated.
    assert {n: v for n, v in namespace.items() if n.startswith("del-")} == {
        "del-a": "first",
        "del-c": "second",
    }
    # create-update: a updated, b kept.
    assert {n: v for n, v in namespace.items() if n.startswith("upd-")} == {
        "upd-a": "second",
        "upd-b": "first",
        "upd-c": "second",
    }


def test_preserve_resources_on_deletion(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path, kubectl: Kubectl
) -> None:
    repo = git_repos.create("apps")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    auto = {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]}
    for name, preserve in (("kept", True), ("gone", False)):
        doc = appset(
            name,
            [{"list": {"elements": [{"ns": f"{name}-ns"}]}}],
            template(f"{name}-app", repo.url, "app", "{{ns}}", syncPolicy=auto),
            syncPolicy={"preserveResourcesOnDeletion": preserve},
        )
        assert create(cli, tmp_path, doc).returncode == 0
    for ns in ("kept-ns", "gone-ns"):
        wait_for(
            lambda ns=ns: kubectl("get", "configmap", "settings", "-n", ns).returncode == 0,
            timeout=60,
            what=f"the generated app to deploy into {ns}",
        )
    assert "resources-finalizer.argocd.argoproj.io" not in apps(cli)["kept-app"]["metadata"].get(
        "finalizers", []
    )
    for name in ("kept", "gone"):
        deleted = cli("appset", "delete", name)
        assert deleted.returncode == 0, deleted.stderr
    assert apps(cli) == {}
    # Preserved: the application went, its ConfigMap stays. Otherwise it went with it.
    assert kubectl("get", "configmap", "settings", "-n", "kept-ns").returncode == 0
    wait_for(
        lambda: kubectl("get", "configmap", "settings", "-n", "gone-ns").returncode != 0,
        what="the ConfigMap of the non-preserving set to be deleted",
    )


def _viewer_token(gitops_env: GitOpsEnv) -> str:
    from fixtures.daemon import DaemonProcess

    from gitopsd.api.gitopsd.v1 import session_pb2, session_pb2_grpc

    daemon: DaemonProcess = gitops_env.daemon
    with daemon.channel() as channel:
        session_pb2_grpc.AccountServiceStub(channel).UpdatePassword(
            session_pb2.UpdatePasswordRequest(
                name="viewer", current_password=daemon.initial_password(), new_password="viewer-password-1"
            ),
            timeout=10,
        )
    with daemon.channel(token="") as channel:
        return (
            session_pb2_grpc.SessionServiceStub(channel)
            .Create(
                session_pb2.CreateSessionRequest(username="viewer", password="viewer-password-1"), timeout=30
            )
            .token
        )


def test_read_only_user_may_look_but_not_change(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    repo = git_repos.create("apps")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    cli = gitops_env.cli
    assert create(cli, tmp_path, _set("team", repo.url, ["a"], "ns", "sync")).returncode == 0
    viewer = {"GITOPSD_AUTH_TOKEN": _viewer_token(gitops_env)}

    assert cli("appset", "get", "team", env=viewer).returncode == 0
    assert cli("appset", "list", "-o", "name", env=viewer).stdout.split() == ["team"]
    path = tmp_path / "other.yaml"
    path.write_text((tmp_path / "team-appset.yaml").read_text().replace("name: team\n", "name: other\n"))
    for args in (("create", "-f", str(path)), ("delete", "team"), ("create", "-f", str(path), "--upsert")):
        refused = cli("appset", *args, env=viewer)
        assert refused.returncode == 2, refused.stdout
        assert "permission denied" in refused.stderr.lower(), refused.stderr
    # Nothing changed: the set and its application are still there, the other set was never made.
    assert cli("appset", "list", "-o", "name").stdout.split() == ["team"]
    assert sorted(apps(cli)) == ["team-a"]


def test_apply_a_project_and_a_set_whose_apps_obey_the_project(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    import yaml

    repo = git_repos.create("apps")
    repo.commit({"app/cm.yaml": CONFIGMAP})
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team", "namespace": "argocd"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "team-*"}],
        },
    }
    tpl = template("team-{{ns}}", repo.url, "app", "{{ns}}")
    tpl["spec"]["project"] = "team"
    doc = appset("team-set", [{"list": {"elements": [{"ns": "team-a"}, {"ns": "other"}]}}], tpl)
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all([doc, project]))  # the set first: apply orders projects first
    applied = gitops_env.cli("apply", "-f", str(path))
    assert applied.stdout.splitlines() == [
        "appproject.argoproj.io/team created",
        "applicationset.argoproj.io/team-set created",
    ]
    made = apps(gitops_env.cli)
    # The project's destinations bind what the set generates: `other` is refused and named.
    assert sorted(made) == ["team-team-a"] and made["team-team-a"]["spec"]["project"] == "team"
    status, message = conditions(gitops_env.cli, "team-set")["ErrorOccurred"]
    assert status == "True" and "team-other" in message and "other" in message
    again = gitops_env.cli("apply", "-f", str(path))
    assert again.stdout.splitlines() == [
        "appproject.argoproj.io/team unchanged",
        "applicationset.argoproj.io/team-set unchanged",
    ]
