"""ApplicationService.List's filters (name, selector, repo, projects) combined with one another and
with RBAC: a caller sees only the applications it may `get`, whatever it asks for, and each item is
the whole application, as Get answers it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from authhelpers import login, start_policy_daemon
from fixtures.daemon import DaemonProcess

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import project_pb2_grpc as projgrpc

WEB = "https://git.example.com/team/web.git"
DB = "https://git.example.com/team/db.git"
POLICY = "\n".join(
    [
        # alpha may read the applications of project alpha, and those of default named web-*.
        "p, alpha, applications, get, alpha/*, allow",
        "p, alpha, applications, get, default/web-*, allow",
    ]
)
PASSWORDS = {"alpha": "alpha-password-1"}
# name -> (project, team label, the repositories of its sources; two: a multi-source application)
APPS = {
    "a-web": ("alpha", "web", [WEB]),
    "a-db": ("alpha", "db", [WEB, DB]),
    "b-web": ("beta", "web", [WEB]),
    "b-db": ("beta", "db", [DB]),
    "web-1": ("default", "web", [WEB]),
    "other": ("default", "db", [DB]),
}


def _app_doc(name: str, project: str, team: str, repos: list[str]) -> str:
    sources = [{"repoURL": r, "path": f"deploy/{i}", "targetRevision": "HEAD"} for i, r in enumerate(repos)]
    spec: dict = {  # type: ignore[type-arg]
        "project": project,
        "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
    }
    if len(sources) == 1:
        spec["source"] = sources[0]
    else:
        spec["sources"] = sources
    doc = {"metadata": {"name": name, "labels": {"team": team}}, "spec": spec}
    return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", **doc})


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    proc = start_policy_daemon(tmp_path_factory.mktemp("list-filters"), POLICY, PASSWORDS)
    try:
        with proc.channel() as channel:
            for project in ("alpha", "beta"):
                doc = {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "AppProject",
                    "metadata": {"name": project},
                    "spec": {
                        "sourceRepos": [WEB, DB],
                        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "*"}],
                    },
                }
                projgrpc.ProjectServiceStub(channel).Create(
                    projpb.CreateProjectRequest(manifest=json.dumps(doc)), timeout=10
                )
            requests = [apppb.CreateApplicationRequest(manifest=_app_doc(n, *a)) for n, a in APPS.items()]
            appgrpc.ApplicationServiceStub(channel).BatchCreate(
                apppb.BatchCreateApplicationsRequest(requests=requests), timeout=30
            )
        yield proc
    finally:
        proc.stop()


def _names(daemon: DaemonProcess, fields: dict[str, object], token: str | None = None) -> list[str]:
    with daemon.channel(token=token) as channel:  # None: the admin's
        request = apppb.ListApplicationsRequest(**fields)  # type: ignore[arg-type]
        reply = appgrpc.ApplicationServiceStub(channel).List(request, timeout=10)
    return [a.metadata.name for a in reply.items]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["a-db", "a-web", "b-db", "b-web", "other", "web-1"]),
        ({"name": "b-web"}, ["b-web"]),
        ({"name": "b-web", "projects": ["alpha"]}, []),
        ({"name": "b-web", "projects": ["alpha", "beta"]}, ["b-web"]),
        ({"name": "no-such-app"}, []),
        ({"name": "b-web", "selector": "team=db"}, []),
        ({"selector": "team=web"}, ["a-web", "b-web", "web-1"]),
        ({"selector": "team=web", "projects": ["alpha", "beta"]}, ["a-web", "b-web"]),
        ({"selector": "team!=web", "projects": ["default"]}, ["other"]),
        ({"repo": DB}, ["a-db", "b-db", "other"]),  # a-db: its second source
        ({"repo": DB, "selector": "team=db", "projects": ["beta"]}, ["b-db"]),
        ({"repo": WEB, "name": "a-db"}, ["a-db"]),
        ({"repo": DB, "name": "web-1"}, []),
    ],
)
def test_filters_combine(daemon: DaemonProcess, fields: dict[str, object], expected: list[str]) -> None:
    assert _names(daemon, fields) == expected


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ["a-db", "a-web", "web-1"]),
        ({"selector": "team=web"}, ["a-web", "web-1"]),
        ({"name": "b-web"}, []),  # exists, but not the caller's to see
        ({"name": "web-1"}, ["web-1"]),
        ({"projects": ["beta"]}, []),
        ({"repo": DB}, ["a-db"]),
    ],
)
def test_a_caller_sees_only_what_it_may_get(
    daemon: DaemonProcess, fields: dict[str, object], expected: list[str]
) -> None:
    token = login(daemon, "alpha", PASSWORDS["alpha"])
    assert _names(daemon, fields, token) == expected


def test_each_listed_item_is_the_application_as_get_answers_it(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        listed = stub.List(apppb.ListApplicationsRequest(selector="team=db"), timeout=10).items
        assert [a.metadata.name for a in listed] == ["a-db", "b-db", "other"]
        for item in listed:
            got = stub.Get(apppb.GetApplicationRequest(name=item.metadata.name), timeout=10)
            got.status.ClearField("sync_windows")  # what Get adds: the project's windows now
            assert item == got
            assert item.metadata.uid and item.metadata.resource_version and item.metadata.creation_timestamp
