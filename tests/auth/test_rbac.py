"""RBAC policy lines as Argo CD writes them: globs, groups, deny wins, built-in roles, default role;
and a bad policy stops the daemon with a message naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest
from authhelpers import AUTH_ENV
from fixtures.daemon import DaemonProcess

from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.projects import Projects
from gitopsd.auth.accounts import Principal
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.project_roles import validate_roles
from gitopsd.auth.rbac import Policy, PolicyError
from gitopsd.store import Store

POLICY = """
# CI may sync production apps but never the database one
p, role:ci, applications, sync, production/*, allow
p, role:ci, applications, get, production/*, allow
p, role:ci, applications, sync, production/database, deny
g, deployer, role:ci
g, lead, deployer
p, auditor, *, get, *, allow
p, auditor, clusters, get, *, deny
"""


@pytest.fixture
def projects(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = Store.open_data_dir(tmp_path)
    yield Projects(store)
    store.close()


def _who(subject: str) -> Principal:
    return Principal(subject, "id", 0, 0)


def test_policy_lines_groups_and_deny(projects: Projects) -> None:
    authz = Authorizer(Policy.parse(POLICY), "", projects)
    deployer, lead = _who("deployer"), _who("lead")
    assert authz.allowed(deployer, "applications", "sync", "production/web")
    assert authz.allowed(lead, "applications", "sync", "production/web")  # g through g
    assert not authz.allowed(deployer, "applications", "sync", "production/database")  # deny wins
    assert not authz.allowed(deployer, "applications", "sync", "staging/web")
    assert not authz.allowed(deployer, "applications", "delete", "production/web")
    auditor = _who("auditor")
    assert authz.allowed(auditor, "repositories", "get", "https://github.com/mon-org/x")
    assert not authz.allowed(auditor, "clusters", "get", "https://kubernetes.default.svc")
    assert not authz.allowed(auditor, "applications", "update", "production/web")
    assert authz.allowed(_who("admin"), "clusters", "delete", "anything")  # role:admin
    assert not authz.allowed(_who("nobody"), "applications", "get", "default/x")
    assert authz.groups_of(lead) == {"deployer", "role:ci"}


def test_default_role_applies_to_every_user(projects: Projects) -> None:
    authz = Authorizer(Policy.parse(""), "role:readonly", projects)
    assert authz.allowed(_who("someone"), "applications", "get", "default/x")
    assert not authz.allowed(_who("someone"), "applications", "sync", "default/x")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("q, a, b", "starts with 'p' or 'g'"),
        ("p, role:x, applications, sync", "expected 'p, SUBJECT, RESOURCE, ACTION, OBJECT"),
        ("p, role:x, secrets, get, *, allow", "unknown resource 'secrets'"),
        ("p, role:x, applications, exec, *, allow", "unknown action 'exec'"),
        ("p, role:x, applications, get, *, maybe", "effect must be allow or deny"),
        ("g, onlyone", "expected 'g, MEMBER, ROLE'"),
    ],
)
def test_bad_lines_are_named(line: str, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        Policy.parse(f"p, role:ok, applications, get, *, allow\n{line}")
    assert "rbac.policy line 2" in str(err.value) and message in str(err.value)


def test_project_roles_grant_only_inside_their_project(projects: Projects) -> None:
    project = projpb.AppProject()
    project.metadata.name = "production"
    role = project.spec.roles.add(name="ci")
    for bad, message in [
        (
            "p, proj:production:ci, applications, sync, staging/*, allow",
            "must be inside project 'production'",
        ),
        ("p, proj:production:ci, applications, sync, *, allow", "must be inside project 'production'"),
        (
            "p, proj:staging:ci, applications, sync, production/*, allow",
            "subject must be 'proj:production:ci'",
        ),
        ("p, proj:production:ci, clusters, get, production/*, allow", "only grant on 'applications'"),
        ("g, proj:production:ci, role:admin", "'g' lines are not allowed"),
    ]:
        del role.policies[:]
        role.policies.append(bad)
        with pytest.raises(InvalidArgument, match=message):
            validate_roles(project)
    # A stored line that escapes (written before validation, or by hand) grants nothing.
    del role.policies[:]
    role.policies.extend(
        [
            "p, proj:production:ci, applications, sync, *, allow",
            "p, proj:production:ci, applications, sync, production/web, allow",
        ]
    )
    projects.create(project)
    authz = Authorizer(
        Policy.parse("p, proj:production:ci, applications, sync, *, allow"), "role:admin", projects
    )
    token = _who("proj:production:ci")
    assert authz.allowed(token, "applications", "sync", "production/web")
    assert not authz.allowed(
        token, "applications", "sync", "default/web"
    )  # nor the global policy nor default role
    assert authz.allowed(token, "projects", "get", "production")
    assert not authz.allowed(token, "projects", "update", "production")


def test_a_bad_policy_stops_the_daemon(tmp_path: Path) -> None:
    proc = DaemonProcess(
        tmp_path / "data",
        tmp_path / "d.log",
        env={**AUTH_ENV, "GITOPSD_RBAC_POLICY": "p, role:x, applications, fly, *, allow"},
    )
    with pytest.raises(RuntimeError) as err:
        proc.start(timeout=30)
    assert "rbac.policy line 1: unknown action 'fly'" in str(err.value)
