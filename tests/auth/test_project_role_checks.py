"""Permission checks of project-role tokens: the role's rules are remembered, so a repeated check
reads no project, and every project write (policies edited, role or token deleted, project deleted)
takes effect on the very next call.

Through real Authorizer and Projects over a real SQLite store, and through a real daemon with the CLI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from authhelpers import ScannedCLI, SecretScan, start_daemon
from fixtures.daemon import CLI
from reconcile.apps import application, create

from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.projects import Projects
from gitopsd.auth.accounts import Principal
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.project_roles import role_subject
from gitopsd.auth.rbac import Policy
from gitopsd.store import Store, StoreError

GET = "p, proj:{p}:ci, applications, get, {p}/*, allow"
SYNC = "p, proj:{p}:ci, applications, sync, {p}/*, allow"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open_data_dir(tmp_path)
    yield s
    s.close()


def _project(projects: Projects, name: str, *policies: str) -> projpb.AppProject:
    project = projpb.AppProject(api_version="argoproj.io/v1alpha1", kind="AppProject")
    project.metadata.name = name
    project.spec.source_repos.append("*")
    project.spec.destinations.add(server="*", namespace="*")
    project.spec.roles.add(name="ci", policies=[p.format(p=name) for p in policies])
    return projects.create(project)


def _ci(project: str) -> Principal:
    return Principal(role_subject(project, "ci"), "t", 0, 0)


def test_a_role_checked_before_reads_no_project(store: Store) -> None:
    projects = Projects(store)
    _project(projects, "production", GET)
    authz = Authorizer(Policy.parse(""), "", projects)
    ci = _ci("production")
    assert authz.allowed(ci, "applications", "get", "production/web")
    store.close()  # from here on any read of the database fails
    assert authz.allowed(ci, "applications", "get", "production/web")
    assert not authz.allowed(ci, "applications", "sync", "production/web")
    assert authz.allowed(ci, "projects", "get", "production")  # a role's implicit rule
    # A role not checked before is read from its project: that needs the database.
    with pytest.raises(StoreError, match="closed"):
        authz.allowed(_ci("staging"), "applications", "get", "staging/web")


def test_every_project_write_takes_effect_on_the_next_check(store: Store) -> None:
    authz = Authorizer(Policy.parse(""), "", Projects(store))
    projects = Projects(store)  # another instance than the Authorizer's: its writes count alike
    _project(projects, "production", GET)
    _project(projects, "staging", GET)
    ci, other = _ci("production"), _ci("staging")
    assert not authz.allowed(ci, "applications", "sync", "production/web")
    assert authz.allowed(other, "applications", "get", "staging/web")

    # A policy added, then removed.
    project = projects.get("production")
    project.spec.roles[0].policies.append(SYNC.format(p="production"))
    projects.update(project)
    assert authz.allowed(ci, "applications", "sync", "production/web")
    del project.spec.roles[0].policies[:]
    projects.update(project)
    assert not authz.allowed(ci, "applications", "sync", "production/web")
    assert not authz.allowed(ci, "applications", "get", "production/web")
    # The role removed, then the other project deleted.
    assert authz.allowed(other, "applications", "get", "staging/web")
    project = projects.get("staging")
    del project.spec.roles[:]
    projects.update(project)
    assert not authz.allowed(other, "applications", "get", "staging/web")
    projects.delete("staging")
    assert not authz.allowed(other, "projects", "get", "staging")
    # Created again with the role: granted again, on the next check.
    _project(projects, "staging", GET)
    assert authz.allowed(other, "applications", "get", "staging/web")


def test_remembered_roles_are_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gitopsd.auth.authorizer.MAX_REMEMBERED_ROLES", 4)
    projects = Projects(store)
    names = [f"p{i}" for i in range(10)]
    for name in names:
        _project(projects, name, GET)
    authz = Authorizer(Policy.parse(""), "", projects)
    for name in names:
        assert authz.allowed(_ci(name), "applications", "get", f"{name}/web")
    assert len(authz._role_rules) <= 4
    assert all(authz.allowed(_ci(n), "applications", "get", f"{n}/web") for n in names)


def test_daemon_answers_a_role_edit_on_the_very_next_call(tmp_path: Path, scan: SecretScan) -> None:
    daemon = start_daemon(tmp_path)
    scan.logs.append(daemon.log_path)
    cli = ScannedCLI(CLI(daemon.address, tmp_path), scan)
    try:
        doc = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "production"},
            "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]},
        }
        path = tmp_path / "production.yaml"
        path.write_text(yaml.safe_dump(doc))
        assert cli("proj", "create", "-f", str(path)).returncode == 0
        app = application("web", "https://git.invalid/web", ".", "web")
        app["spec"]["project"] = "production"
        create(cli.cli, tmp_path, app)
        get = GET.format(p="production")
        assert cli("proj", "role", "create", "production", "ci", "--policy", get).returncode == 0
        issued = cli.token_output("proj", "role", "create-token", "production", "ci", "--id", "gitlab")
        assert issued.returncode == 0, issued.stderr
        env = {"GITOPSD_AUTH_TOKEN": scan.secret(issued.stdout.strip())}

        def app_get() -> str:
            result = cli("app", "get", "web", env=env)
            return "ok" if result.returncode == 0 else result.stderr

        # Each answer twice: the second is the one a remembered rule would give.
        assert [app_get(), app_get()] == ["ok", "ok"]
        assert cli("proj", "role", "remove-policy", "production", "ci", "--policy", get).returncode == 0
        denied = [app_get(), app_get()]
        assert all("PERMISSION_DENIED" in d and "proj:production:ci may not get" in d for d in denied), denied
        assert cli("proj", "role", "add-policy", "production", "ci", "--policy", get).returncode == 0
        assert [app_get(), app_get()] == ["ok", "ok"]
        assert cli("proj", "role", "delete", "production", "ci").returncode == 0
        gone = app_get()
        assert "UNAUTHENTICATED" in gone and "role 'ci' of project 'production' no longer exists" in gone
    finally:
        daemon.stop()
    scan.secret(daemon.token)
