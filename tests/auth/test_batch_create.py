"""BatchCreate: many applications in one call, all or none, each request checked as its own Create
would be (RBAC on the project each document names, fields, project rules, existing names), over gRPC,
the JSON API and `gitopsd app create -f` with several documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
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
from fixtures.daemon import CLI, DaemonProcess

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import project_pb2_grpc as projgrpc


def _doc(name: str, project: str = "default", namespace: str = "apps") -> dict:  # type: ignore[type-arg]
    return app_doc(name, project, namespace, path=name)


def _batch(*docs: dict, upsert: bool = False) -> apppb.BatchCreateApplicationsRequest:  # type: ignore[type-arg]
    return apppb.BatchCreateApplicationsRequest(
        requests=[apppb.CreateApplicationRequest(manifest=json.dumps(d), upsert=upsert) for d in docs]
    )


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    proc = start_policy_daemon(tmp_path_factory.mktemp("batch-create"), "\n".join(APP_POLICY), APP_PASSWORDS)
    try:
        with proc.channel() as channel:
            project = project_doc("production", [APPS_REPO], "prod")
            projgrpc.ProjectServiceStub(channel).Create(
                projpb.CreateProjectRequest(manifest=json.dumps(project)), timeout=10
            )
            appgrpc.ApplicationServiceStub(channel).Create(
                apppb.CreateApplicationRequest(manifest=json.dumps(_doc("existing"))), timeout=10
            )
        yield proc
    finally:
        proc.stop()


def _names(daemon: DaemonProcess) -> set[str]:
    with daemon.channel() as channel:
        items = appgrpc.ApplicationServiceStub(channel).List(apppb.ListApplicationsRequest(), timeout=10).items
    return {a.metadata.name for a in items}


def test_a_batch_is_stored_in_order_with_json_yaml_and_typed_requests(daemon: DaemonProcess) -> None:
    typed = apppb.CreateApplicationRequest()
    typed.application.metadata.name = "batch-typed"
    typed.application.spec.source.repo_url = APPS_REPO
    typed.application.spec.source.path = "typed"
    typed.application.spec.destination.server = "https://kubernetes.default.svc"
    typed.application.spec.destination.namespace = "apps"
    request = apppb.BatchCreateApplicationsRequest(
        requests=[
            apppb.CreateApplicationRequest(manifest=json.dumps(_doc("batch-json"))),
            apppb.CreateApplicationRequest(manifest=yaml.safe_dump(_doc("batch-yaml", "production", "prod"))),
            typed,
        ]
    )
    with daemon.channel() as channel:
        apps = appgrpc.ApplicationServiceStub(channel)
        reply = apps.BatchCreate(request, timeout=30)
        assert [a.metadata.name for a in reply.applications] == ["batch-json", "batch-yaml", "batch-typed"]
        versions = [int(a.metadata.resource_version) for a in reply.applications]
        assert versions == sorted(versions) and len(set(versions)) == 3
        assert all(a.metadata.uid and a.metadata.generation == 1 for a in reply.applications)
        stored = apps.Get(apppb.GetApplicationRequest(name="batch-yaml"), timeout=10)
        assert stored.spec.project == "production" and stored.spec.destination.namespace == "prod"
        assert stored.metadata.uid == reply.applications[1].metadata.uid
        events = apps.ListEvents(apppb.ListEventsRequest(name="batch-typed"), timeout=10)
        assert any("created the application" in e.message for e in events.items), events


@pytest.mark.parametrize(
    ("bad", "code", "words"),
    [
        (_doc("existing"), grpc.StatusCode.ALREADY_EXISTS, "requests[1]: application 'existing' already exists"),
        ({**_doc("bad-field"), "spek": {}}, grpc.StatusCode.INVALID_ARGUMENT, "requests[1]: "),
        (_doc("no-project", "nowhere"), grpc.StatusCode.INVALID_ARGUMENT, "requests[1]: spec.project"),
        (_doc("wrong-ns", "production", "kube-system"), grpc.StatusCode.INVALID_ARGUMENT, "requests[1]: spec"),
        (_doc("all-a"), grpc.StatusCode.INVALID_ARGUMENT, "requests[1]: application 'all-a' is also requests[0]"),
    ],
    ids=["exists", "unknown-field", "no-project", "destination-not-permitted", "same-name-twice"],
)
def test_one_bad_request_stores_none_and_is_named(
    daemon: DaemonProcess, bad: dict, code: grpc.StatusCode, words: str  # type: ignore[type-arg]
) -> None:
    before = _names(daemon)
    with daemon.channel() as channel:
        err = rpc_error(
            appgrpc.ApplicationServiceStub(channel).BatchCreate, _batch(_doc("all-a"), bad, _doc("all-c")), timeout=30
        )
    assert err.code() == code, err.details()
    assert words in err.details()
    assert _names(daemon) == before  # neither all-a nor all-c


def test_every_request_is_authorized_on_the_project_it_names(daemon: DaemonProcess) -> None:
    before = _names(daemon)
    channel = daemon.channel(token=login(daemon, "dev", APP_PASSWORDS["dev"]))
    with channel:
        apps = appgrpc.ApplicationServiceStub(channel)
        err = rpc_error(apps.BatchCreate, _batch(_doc("dev-ok"), _doc("sneaky", "production", "prod")), timeout=30)
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err.details()
        assert "production/sneaky" in err.details()
        assert _names(daemon) == before
        # A YAML request naming another project is checked against it too (never as default/...).
        yaml_request = apppb.BatchCreateApplicationsRequest(
            requests=[
                apppb.CreateApplicationRequest(manifest=yaml.safe_dump(_doc("sneaky", "production", "prod")))
            ]
        )
        assert rpc_error(apps.BatchCreate, yaml_request, timeout=30).code() == grpc.StatusCode.PERMISSION_DENIED
        reply = apps.BatchCreate(_batch(_doc("dev-ok"), _doc("dev-ok-2")), timeout=30)
        assert [a.metadata.name for a in reply.applications] == ["dev-ok", "dev-ok-2"]
    creator = daemon.channel(token=login(daemon, "creator", APP_PASSWORDS["creator"]))
    with creator:
        # Replacing an existing application (upsert) is an update of it: creator may only create.
        err = rpc_error(
            appgrpc.ApplicationServiceStub(creator).BatchCreate,
            _batch(_doc("creator-new"), _doc("existing", namespace="elsewhere"), upsert=True),
            timeout=30,
        )
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, err.details()
        assert "update" in err.details() and "default/existing" in err.details()
    assert "creator-new" not in _names(daemon)


def test_upsert_replaces_and_an_identical_upsert_changes_nothing(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        apps = appgrpc.ApplicationServiceStub(channel)
        apps.BatchCreate(_batch(_doc("up-a"), _doc("up-b")), timeout=30)
        first = apps.Get(apppb.GetApplicationRequest(name="up-b"), timeout=10)
        reply = apps.BatchCreate(_batch(_doc("up-a", namespace="moved"), _doc("up-b"), upsert=True), timeout=30)
        assert reply.applications[0].spec.destination.namespace == "moved"
        assert reply.applications[0].metadata.generation == 2
        assert reply.applications[1].metadata.resource_version == first.metadata.resource_version
        events = apps.ListEvents(apppb.ListEventsRequest(name="up-a"), timeout=10)
        assert any("updated the application: spec.destination" in e.message for e in events.items), events


def test_size_limits(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        apps = appgrpc.ApplicationServiceStub(channel)
        err = rpc_error(apps.BatchCreate, _batch(*(_doc(f"many-{i}") for i in range(1001))), timeout=60)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "at most 1000" in err.details()
        err = rpc_error(apps.BatchCreate, apppb.BatchCreateApplicationsRequest(), timeout=10)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        missing = apppb.BatchCreateApplicationsRequest(requests=[apppb.CreateApplicationRequest()])
        err = rpc_error(apps.BatchCreate, missing, timeout=10)
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT and "requests[0]" in err.details()
    assert not any(n.startswith("many-") for n in _names(daemon))


def test_json_api_batch_create(daemon: DaemonProcess) -> None:
    body = {"requests": [{"manifest": json.dumps(_doc("rest-a"))}, {"application": _doc("rest-b")}]}
    headers = {"Authorization": f"Bearer {daemon.token}"}
    with httpx.Client(base_url=f"http://{daemon.http_address}", headers=headers, timeout=30) as http:
        reply = http.post("/api/v1/applications:batchCreate", json=body)
        assert reply.status_code == 200, reply.text
        assert [a["metadata"]["name"] for a in reply.json()["applications"]] == ["rest-a", "rest-b"]
        again = http.post("/api/v1/applications:batchCreate", json=body)
        assert again.status_code == 409, again.text
        assert "requests[0]" in again.json()["message"]


def test_cli_creates_a_file_of_many_documents_and_reports_each_bad_one(
    daemon: DaemonProcess, tmp_path: Path
) -> None:
    cli = CLI(daemon.address, tmp_path)
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump_all([_doc(f"cli-{i}") for i in range(3)]))
    done = cli("app", "create", "-f", str(good))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"application 'cli-{i}' created" for i in range(3)]
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text(yaml.safe_dump_all([_doc("cli-3"), _doc("cli-0"), _doc("cli-4")]))
    done = cli("app", "create", "-f", str(mixed))
    assert done.returncode == 2
    assert done.stdout.splitlines() == ["application 'cli-3' created", "application 'cli-4' created"]
    assert "document 2 (cli-0)" in done.stderr and "already exists" in done.stderr
