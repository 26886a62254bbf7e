"""AppProjects: the article's project YAML as-is, enforced at create/update and at every sync."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from fixtures.daemon import CLI, GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "apps" / "production-project.yaml"
QUOTA = "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {pods: '10'}}\n"


def _project(repo_pattern: str) -> dict:
    doc = yaml.safe_load(PROJECT.read_text())
    doc["spec"]["sourceRepos"].append(repo_pattern)
    return doc


def test_seed_project_round_trips(cli: CLI) -> None:
    created = cli("proj", "create", "-f", str(PROJECT))
    assert created.returncode == 0, created.stderr
    doc = json.loads(cli("proj", "get", "production", "-o", "json").stdout)
    assert doc["spec"] == yaml.safe_load(PROJECT.read_text())["spec"]
    names = cli("proj", "list", "-o", "name").stdout.split()
    assert names == ["default", "production"]
    got = cli("proj", "get", "production").stdout
    assert "core/ResourceQuota" in got and "https://github.com/mon-org/*" in got


def test_application_outside_the_project_is_refused(cli: CLI, tmp_path: Path) -> None:
    assert cli("proj", "create", "-f", str(PROJECT)).returncode == 0
    base = ["app", "create", "web", "--project", "production", "--dest-server", "https://kubernetes.default.svc"]
    wrong_repo = cli(*base, "--repo", "https://gitlab.com/other/repo", "--path", ".", "--dest-namespace", "production")
    assert wrong_repo.returncode == 2
    assert "repository 'https://gitlab.com/other/repo' is not permitted in project 'production'" in wrong_repo.stderr
    assert "spec.sourceRepos" in wrong_repo.stderr
    wrong_ns = cli(*base, "--repo", "https://github.com/mon-org/k8s-manifests", "--path", ".", "--dest-namespace", "kube-system")
    assert wrong_ns.returncode == 2
    assert "namespace 'kube-system' is not permitted in project 'production'" in wrong_ns.stderr
    ok = cli(*base, "--repo", "https://github.com/mon-org/k8s-manifests", "--path", ".", "--dest-namespace", "production")
    assert ok.returncode == 0, ok.stderr
    assert cli("proj", "delete", "production").returncode == 2  # in use


def test_denied_kind_fails_the_sync_and_nothing_is_applied(gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("team")
    repo.commit({"app/cm.yaml": configmap("settings"), "app/quota.yaml": QUOTA})
    path = tmp_path / "proj.yaml"
    path.write_text(yaml.safe_dump(_project(repo.url)))
    assert cli("proj", "create", "-f", str(path)).returncode == 0
    app = application("team", repo.url, "app", "production")
    app["spec"]["project"] = "production"
    create(cli, tmp_path, app)
    wait_for(lambda: status(cli, "team").get("sync", {}).get("status") == "OutOfSync", what="comparison")

    result = cli("app", "sync", "team", "-o", "json")
    assert result.returncode == 1
    op = json.loads(result.stdout)
    assert "ResourceQuota is not permitted in project 'production' (spec.namespaceResourceBlacklist)" in op["message"]
    assert kubectl("-n", "production", "get", "cm", "settings").returncode != 0  # nothing was applied

    # Without the quota the sync goes through; then a project change still binds the app.
    repo.commit({"app/quota.yaml": None})
    assert cli("app", "get", "team", "--refresh").returncode == 0
    assert cli("app", "sync", "team").returncode == 0
    narrowed = _project(repo.url)
    narrowed["spec"]["destinations"] = [{"server": "https://kubernetes.default.svc", "namespace": "staging"}]
    path.write_text(yaml.safe_dump(narrowed))
    assert cli("proj", "create", "-f", str(path), "--upsert").returncode == 0
    again = cli("app", "sync", "team", "-o", "json")
    assert again.returncode == 1
    assert "namespace 'production' is not permitted in project 'production'" in json.loads(again.stdout)["message"]
