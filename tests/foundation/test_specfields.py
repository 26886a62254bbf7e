"""Never silently wrong (issue 12's audit): every field of the Application and AppProject schemas in
proto/ has an entry in gitopsd.app.specfields, so a field added to proto/ without deciding what gitopsd
does with it fails here; each flagged field, when set, gives a condition naming it; and through the
daemon and the sandbox: flagged fields show as InvalidSpecError conditions, an `operation` block is
refused at create, managedNamespaceMetadata labels the namespace CreateNamespace makes, allowEmpty keeps
an automated sync from pruning everything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from reconcile.apps import application, configmap, create, status

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.specfields import FIELDS, FLAGGED, PROJECT_FIELDS, spec_conditions

# Server-set or refused as a whole: their insides are not user input.
_OPAQUE = {"status", "operation"}


def _paths(desc: Descriptor, prefix: str = "") -> list[str]:
    out: list[str] = []
    for field in desc.fields:
        path = f"{prefix}.{field.json_name}" if prefix else field.json_name
        out.append(path)
        kind = field.message_type
        if path in _OPAQUE or kind is None or kind.full_name.startswith("google."):
            continue
        if kind.GetOptions().map_entry:
            out.append(path + "{}")
            continue
        out += _paths(kind, path + ("[]" if field.is_repeated else ""))
    return out


@pytest.mark.parametrize(
    ("message", "table"),
    [(apppb.Application, FIELDS), (projpb.AppProject, PROJECT_FIELDS)],
    ids=["Application", "AppProject"],
)
def test_every_schema_field_says_what_gitopsd_does_with_it(message: type[Message], table: dict[str, str]) -> None:
    fields = _paths(message.DESCRIPTOR)
    missing = sorted(set(fields) - set(table))
    assert not missing, f"fields with no entry in gitopsd/app/specfields.py (decide and add them): {missing}"
    stale = sorted(set(table) - set(fields))
    assert not stale, f"entries for fields that no longer exist: {stale}"


def _set(message: Message, path: str) -> None:
    """Sets the field at a generic path ("spec.sources[].helm.version") to a value gitopsd does not do."""
    parts = path.split(".")
    target: Any = message
    for part in parts[:-1]:
        name = part.removesuffix("[]")
        field = next(f for f in target.DESCRIPTOR.fields if f.json_name == name)
        target = getattr(target, field.name).add() if part.endswith("[]") else getattr(target, field.name)
    leaf = parts[-1].removesuffix("[]")
    field = next(f for f in target.DESCRIPTOR.fields if f.json_name == leaf)
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        item = getattr(target, field.name)
        (item.add() if field.is_repeated else item).SetInParent()
        if field.message_type.fields_by_name.get("warn") is not None:
            item.warn = True
    elif field.is_repeated:
        getattr(target, field.name).append("x")
    elif field.type == FieldDescriptor.TYPE_BOOL:
        setattr(target, field.name, True)
    else:
        setattr(target, field.name, "v2")


@pytest.mark.parametrize("path", sorted(p for p, what in FIELDS.items() if what == FLAGGED))
def test_a_flagged_application_field_names_itself(path: str) -> None:
    app = apppb.Application()
    _set(app, path)
    messages = spec_conditions(app, None)
    concrete = path.replace("[]", "[0]")
    assert any(m.startswith(f"{concrete} is not implemented by gitopsd: ") for m in messages), messages


@pytest.mark.parametrize("path", sorted(p for p, what in PROJECT_FIELDS.items() if what == FLAGGED))
def test_a_flagged_project_field_names_itself_on_its_applications(path: str) -> None:
    project = projpb.AppProject()
    project.metadata.name = "team"
    _set(project, path)
    messages = spec_conditions(apppb.Application(), project)
    named = path.replace("[]", "[0]").removesuffix(".warn")
    assert any(f"project 'team': {named} is not implemented" in m for m in messages), messages


def test_fields_set_to_what_gitopsd_does_anyway_are_not_flagged() -> None:
    app = apppb.Application()
    app.spec.source.helm.version = "v3"
    app.spec.sync_policy.sync_options.append("CreateNamespace=true")
    app.spec.sync_policy.managed_namespace_metadata.labels["team"] = "a"
    assert spec_conditions(app, None) == []


def test_conditions_follow_each_change_of_the_application_or_its_project() -> None:
    # Answers are remembered by both specs: a change of either is a new answer.
    app = apppb.Application()
    app.spec.source.helm.version = "v2"
    project = projpb.AppProject()
    project.metadata.name = "team"
    assert [m.split(" is ")[0] for m in spec_conditions(app, project)] == ["spec.source.helm.version"]
    app.spec.source.helm.version = "v3"
    assert spec_conditions(app, project) == []
    project.spec.orphaned_resources.warn = True
    assert [m.split(" is ")[0] for m in spec_conditions(app, project)] == ["project 'team': spec.orphanedResources"]
    project.metadata.name = "other"
    assert spec_conditions(app, project)[0].startswith("project 'other': ")
    assert spec_conditions(app, None) == []


# -------------------------------------------------------------------- through the daemon


def _conditions(cli, name: str, ctype: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [c["message"] for c in status(cli, name).get("conditions", []) if c["type"] == ctype]


def test_flagged_fields_are_invalid_spec_conditions_and_operation_is_refused(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    project = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "watched"},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "orphanedResources": {"warn": True},
        },
    }
    path = tmp_path / "project.yaml"
    path.write_text(yaml.safe_dump(project))
    assert cli("proj", "create", "-f", str(path)).returncode == 0
    repo = git_repos.create("flagged")
    repo.commit({"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": configmap("flagged")})
    app = application("flagged", repo.url, "app", "flagged")
    app["spec"]["project"] = "watched"
    app["spec"]["source"]["kustomize"] = {"kubeVersion": "1.29"}
    create(cli, tmp_path, app)
    messages = wait_for(lambda: _conditions(cli, "flagged", "InvalidSpecError"), what="InvalidSpecError")
    assert any(m.startswith("spec.source.kustomize.kubeVersion is not implemented by gitopsd") for m in messages)
    assert any("project 'watched': spec.orphanedResources is not implemented" in m for m in messages), messages

    with_operation = application("with-op", repo.url, "app", "flagged")
    with_operation["operation"] = {"sync": {"revision": "main"}}
    path = tmp_path / "with-op.yaml"
    path.write_text(yaml.safe_dump(with_operation))
    refused = cli("app", "create", "-f", str(path))
    assert refused.returncode != 0 and "operation: gitopsd does not run an operation" in refused.stderr


def test_managed_namespace_metadata_labels_the_created_namespace(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("labelled")
    repo.commit({"app/cm.yaml": configmap("labelled")})
    app = application("labelled", repo.url, "app", "labelled-ns")
    app["spec"]["syncPolicy"]["managedNamespaceMetadata"] = {
        "labels": {"team": "payments"},
        "annotations": {"owner": "alice"},
    }
    create(cli, tmp_path, app)
    wait_for(lambda: status(cli, "labelled").get("sync", {}).get("status") == "OutOfSync", what="comparison")
    assert cli("app", "sync", "labelled").returncode == 0
    ns = json.loads(kubectl("get", "namespace", "labelled-ns", "-o", "json").stdout)
    assert ns["metadata"]["labels"]["team"] == "payments"
    assert ns["metadata"]["annotations"]["owner"] == "alice"
    assert not _conditions(cli, "labelled", "InvalidSpecError")


def test_automated_sync_does_not_prune_everything_unless_allow_empty(
    gitops_env: GitOpsEnv, git_repos: GitRepos, kubectl, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    cli = gitops_env.cli
    repo = git_repos.create("emptying")
    repo.commit({"app/cm.yaml": configmap("only"), "app/README.md": "docs\n"})
    create(cli, tmp_path, application("emptying", repo.url, "app", "emptying", automated=True))
    wait_for(lambda: status(cli, "emptying").get("sync", {}).get("status") == "Synced", what="first sync")
    # Every object removed from Git: an automated prune would delete the whole application.
    repo.commit({"app/cm.yaml": None})
    st = status(cli, "emptying", refresh=True)
    assert st["sync"]["status"] == "OutOfSync", st
    assert kubectl("-n", "emptying", "get", "cm", "only").returncode == 0
    # allowEmpty: true lets it.
    app = application("emptying", repo.url, "app", "emptying", automated=True)
    app["spec"]["syncPolicy"]["automated"]["allowEmpty"] = True
    path = tmp_path / "emptying-upsert.yaml"
    path.write_text(yaml.safe_dump(app))
    assert cli("app", "create", "--upsert", "-f", str(path)).returncode == 0
    cli("app", "get", "emptying", "--refresh")
    wait_for(
        lambda: kubectl("-n", "emptying", "get", "cm", "only").returncode != 0, timeout=60, what="the prune"
    )
