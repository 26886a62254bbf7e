"""RPCs that take a document as text (Application/AppProject `manifest`, JSON or YAML) are
authorized on the document they act on: a YAML manifest naming another project is checked
against that project, never against a default; a document the check cannot read is refused.

Regression for the RBAC bypass where YAML manifests were checked as `default/<name>`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
import pytest
import yaml
from authhelpers import (
    APP_PASSWORDS,
    APP_POLICY,
    APPS_REPO,
    app_doc,
    login,
    project_doc,
    rpc_error,
    start_policy_daemon,
)
from fixtures.daemon import DaemonProcess

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import project_pb2_grpc as projgrpc

POLICY = "\n".join(
    [
        *APP_POLICY,
        # projadmin may administer every project except production.
        "p, projadmin, projects, *, *, allow",
        "p, projadmin, projects, *, production, deny",
    ]
)
PASSWORDS = {**APP_PASSWORDS, "projadmin": "projadmin-password-1"}


def _app_doc(name: str, project: str, namespace: str, automated: bool = False) -> dict:  # type: ignore[type-arg]
    doc = app_doc(name, project, namespace)
    if automated:
        doc["spec"]["syncPolicy"] = {"automated": {"prune": True, "selfHeal": True}}
    return doc


def _forms(doc: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {"json": json.dumps(doc), "yaml": yaml.safe_dump(doc)}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    proc = start_policy_daemon(tmp_path_factory.mktemp("manifest-rbac"), POLICY, PASSWORDS)
    try:
        with proc.channel() as channel:
            projgrpc.ProjectServiceStub(channel).Create(
                projpb.CreateProjectRequest(manifest=json.dumps(project_doc("production", [APPS_REPO]))),
                timeout=10,
            )
            appgrpc.ApplicationServiceStub(channel).Create(
                apppb.CreateApplicationRequest(
                    manifest=json.dumps(_app_doc("prod-app", "production", "prod"))
                ),
                timeout=10,
            )
            appgrpc.ApplicationServiceStub(channel).Create(
                apppb.CreateApplicationRequest(manifest=json.dumps(_app_doc("dev-app", "default", "dev"))),
                timeout=10,
            )
        yield proc
    finally:
        proc.stop()


def _stubs(daemon: DaemonProcess, user: str) -> tuple[grpc.Channel, appgrpc.ApplicationServiceStub]:
    channel = daemon.channel(token=login(daemon, user, PASSWORDS[user]))
    return channel, appgrpc.ApplicationServiceStub(channel)


def _admin_app(daemon: DaemonProcess, name: str) -> apppb.Application:
    with daemon.channel() as channel:
        return appgrpc.ApplicationServiceStub(channel).Get(apppb.GetApplicationRequest(name=name), timeout=10)


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_manifest_naming_another_project_is_checked_against_it(daemon: DaemonProcess, form: str) -> None:
    hijack = _app_doc("prod-app", "production", "attacker-ns", automated=True)
    channel, apps = _stubs(daemon, "dev")
    with channel:
        err = rpc_error(
            apps.Create,
            apppb.CreateApplicationRequest(manifest=_forms(hijack)[form], upsert=True),
            timeout=10,
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err.details()
        assert "production/prod-app" in err.details()
        # The same document moved to the caller's project still needs the permission on the existing app.
        moved = _app_doc("prod-app", "default", "attacker-ns", automated=True)
        err = rpc_error(
            apps.Create, apppb.CreateApplicationRequest(manifest=_forms(moved)[form], upsert=True), timeout=10
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err.details()
        assert "production/prod-app" in err.details()
    app = _admin_app(daemon, "prod-app")
    assert app.spec.destination.namespace == "prod"
    assert not app.spec.sync_policy.HasField("automated")


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_allowed_manifest_is_the_one_stored(daemon: DaemonProcess, form: str) -> None:
    name = f"dev-{form}"
    channel, apps = _stubs(daemon, "dev")
    with channel:
        created = apps.Create(
            apppb.CreateApplicationRequest(manifest=_forms(_app_doc(name, "default", f"ns-{form}"))[form]),
            timeout=10,
        )
    assert created.spec.project == "default"
    stored = _admin_app(daemon, name)
    assert stored.spec.destination.namespace == f"ns-{form}"


def test_multi_document_and_unreadable_manifests_are_refused(daemon: DaemonProcess) -> None:
    benign = yaml.safe_dump(_app_doc("dev-multi", "default", "x"))
    hostile = yaml.safe_dump(_app_doc("prod-app", "production", "attacker-ns"))
    channel, apps = _stubs(daemon, "dev")
    with channel:
        for text in (
            f"{benign}---\n{hostile}",  # two documents: which one would be acted on?
            f"{hostile}---\n{benign}",
            "metadata: {name: prod-app\nspec: [",  # not YAML at all
            "- just\n- a list\n",
            "",  # nothing: no application at all
        ):
            err = rpc_error(
                apps.Create, apppb.CreateApplicationRequest(manifest=text, upsert=True), timeout=10
            )
            assert err.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED), (
                text,
                err.code(),
                err.details(),
            )
    assert _admin_app(daemon, "prod-app").spec.destination.namespace == "prod"
    with daemon.channel() as channel:
        names = {
            a.metadata.name
            for a in appgrpc.ApplicationServiceStub(channel)
            .List(apppb.ListApplicationsRequest(), timeout=10)
            .items
        }
    assert "dev-multi" not in names


def test_manifest_and_typed_application_together_are_refused(daemon: DaemonProcess) -> None:
    channel, apps = _stubs(daemon, "dev")
    with channel:
        request = apppb.CreateApplicationRequest(
            manifest=yaml.safe_dump(_app_doc("prod-app", "production", "z"))
        )
        request.application.metadata.name = "dev-decoy"
        err = rpc_error(apps.Create, request, timeout=10)
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "either application or manifest" in err.details()


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_upsert_of_an_existing_app_needs_update(daemon: DaemonProcess, form: str) -> None:
    channel, apps = _stubs(daemon, "creator")
    with channel:
        err = rpc_error(
            apps.Create,
            apppb.CreateApplicationRequest(
                manifest=_forms(_app_doc("dev-app", "default", "elsewhere"))[form], upsert=True
            ),
            timeout=10,
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err.details()
        assert "may not update" in err.details()
        # A new application is theirs to create, upsert or not.
        apps.Create(
            apppb.CreateApplicationRequest(
                manifest=_forms(_app_doc(f"creator-{form}", "default", "c"))[form], upsert=True
            ),
            timeout=10,
        )
    assert _admin_app(daemon, "dev-app").spec.destination.namespace == "dev"


@pytest.mark.parametrize("form", ["json", "yaml"])
def test_project_manifest_is_checked_against_its_own_name(daemon: DaemonProcess, form: str) -> None:
    channel = daemon.channel(token=login(daemon, "projadmin", PASSWORDS["projadmin"]))
    with channel:
        projects = projgrpc.ProjectServiceStub(channel)
        takeover = _forms(project_doc("production", ["*"]))[form]
        err = rpc_error(
            projects.Create, projpb.CreateProjectRequest(manifest=takeover, upsert=True), timeout=10
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err.details()
        assert "'production'" in err.details()
        multi = yaml.safe_dump_all([project_doc("team-x", ["*"]), project_doc("production", ["*"])])
        err = rpc_error(projects.Create, projpb.CreateProjectRequest(manifest=multi, upsert=True), timeout=10)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()
        # Their own projects they may create.
        created = projects.Create(
            projpb.CreateProjectRequest(manifest=_forms(project_doc(f"team-{form}", [APPS_REPO]))[form]),
            timeout=10,
        )
        assert created.metadata.name == f"team-{form}"
    with daemon.channel() as channel:
        production = projgrpc.ProjectServiceStub(channel).Get(
            common_pb2.NameRequest(name="production"), timeout=10
        )
    assert list(production.spec.source_repos) == [APPS_REPO]


def test_the_daemon_log_names_the_real_object(daemon: DaemonProcess) -> None:
    # The refusal is logged against the project the document names, for the audit trail.
    channel, apps = _stubs(daemon, "dev")
    with channel:
        rpc_error(
            apps.Create,
            apppb.CreateApplicationRequest(
                manifest=yaml.safe_dump(_app_doc("prod-app", "production", "q")), upsert=True
            ),
            timeout=10,
        )
    assert "production/prod-app" in daemon.log()
