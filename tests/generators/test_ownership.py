"""The ownership mechanism on a real SQLite store: children created, updated and pruned by their owner
only; apps owned by nobody or by another owner are conflicts, never overwritten or deleted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.applications import Applications
from gitopsd.app.generators.ownership import (
    APPLICATION,
    APPLICATION_SET,
    ChildPolicy,
    Children,
    Owner,
)
from gitopsd.app.projects import Projects
from gitopsd.store import Store


def _app(name: str, namespace: str = "web", project: str = "default") -> apppb.Application:
    app = apppb.Application()
    app.metadata.name = name
    app.spec.project = project
    app.spec.source.repo_url = "https://example.com/repo.git"
    app.spec.source.path = "deploy"
    app.spec.destination.server = "https://kubernetes.default.svc"
    app.spec.destination.namespace = namespace
    return app


@pytest.fixture
def children(tmp_path: Path) -> Iterator[Children]:
    store = Store.open_data_dir(tmp_path)
    projects = Projects(store)
    yield Children(store, Applications(store, projects=projects), projects)
    store.close()


def test_owner_creates_updates_and_prunes_only_its_children(children: Children) -> None:
    root = Owner(APPLICATION, "root")
    children.apps.create(_app("hand-made"))  # a user's application of a name the owner also wants
    other = Owner(APPLICATION_SET, "set")
    children.reconcile_children(other, [_app("theirs")])

    first = children.reconcile_children(root, [_app("a"), _app("b"), _app("hand-made"), _app("theirs")])
    assert (first.created, sorted(n for n, _ in first.conflicts)) == (["a", "b"], ["hand-made", "theirs"])
    assert "not owned by any parent" in dict(first.conflicts)["hand-made"]
    assert "owned by ApplicationSet 'set'" in dict(first.conflicts)["theirs"]
    assert children.children_of(root) == ["a", "b"]
    got = children.apps.get("a")
    assert [(r.kind, r.name) for r in got.metadata.owner_references] == [("Application", "root")]
    assert children.apps.get("hand-made").metadata.owner_references == []

    changed = _app("a", namespace="web2")
    second = children.reconcile_children(root, [changed])
    assert (second.configured, second.deleted) == (["a"], ["b"])
    assert children.apps.get("a").spec.destination.namespace == "web2"
    assert not children.apps.exists("b")
    assert children.apps.exists("hand-made") and children.apps.exists("theirs")
    assert children.owner_of("theirs") == other

    third = children.reconcile_children(root, [changed])
    assert third.unchanged == ["a"] and third.ok


def test_policy_create_only_neither_updates_nor_deletes(children: Children) -> None:
    owner = Owner(APPLICATION_SET, "set")
    children.reconcile_children(owner, [_app("a"), _app("b")])
    only_create = ChildPolicy(update=False, delete=False)
    outcome = children.reconcile_children(owner, [_app("a", namespace="else")], only_create)
    assert outcome.deleted == [] and children.apps.exists("b")
    assert children.apps.get("a").spec.destination.namespace == "web"


def test_a_parent_in_a_restricted_project_cannot_reach_a_forbidden_destination(children: Children) -> None:
    team = projpb.AppProject()
    team.metadata.name = "team"
    team.spec.source_repos.append("*")
    team.spec.destinations.add(server="https://kubernetes.default.svc", namespace="team-*")
    children.projects.create(team)
    root = Owner(APPLICATION, "root")
    # The default project would permit it, but the parent's project does not.
    outcome = children.reconcile_children(
        root, [_app("ok", "team-a", "team"), _app("escape", "kube-system", "team"), _app("hop", "team-b")],
        parent_project="team",
    )
    assert outcome.created == ["ok"]
    errors = dict(outcome.errors)
    assert "kube-system" in errors["escape"] and "not permitted" in errors["escape"]
    assert "project 'default' is neither the project of Application 'root'" in errors["hop"]
    assert not children.apps.exists("escape") and not children.apps.exists("hop")


def test_parent_deleted_without_cascade_leaves_children_owned_by_nobody(children: Children) -> None:
    root = Owner(APPLICATION, "root")
    children.reconcile_children(root, [_app("a")])
    children.on_owner_deleted(root, cascade=False)
    assert children.apps.exists("a") and children.owner_of("a") is None
    children.reconcile_children(Owner(APPLICATION, "root2"), [_app("b")])
    children.on_owner_deleted(Owner(APPLICATION, "root2"), cascade=True)
    assert not children.apps.exists("b")
