"""ApplicationService.List with `fields` (a field selection), through a real daemon: each item holds
exactly the selected fields (and metadata.name, spec.project), RBAC filters the reply as strictly as
a List of whole applications, unknown fields are refused, the JSON API's `?fields=` does the same,
and `gitopsd app list` (which asks for its table's fields) prints what whole applications print."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import grpc
import pytest
from authhelpers import login, rpc_error, start_policy_daemon
from fixtures.daemon import DaemonProcess, gitopsd_bin, wait_for

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import project_pb2_grpc as projgrpc
from gitopsd.cli.app_cmd import LIST_FIELDS, LIST_HEADERS, list_rows
from gitopsd.cli.output import print_table
from gitopsd.protojson import to_document

REPO = "https://git.example.com/team/web.git"
POLICY = "p, alpha, applications, get, alpha/*, allow"
PASSWORDS = {"alpha": "alpha-password-1"}
IN_CLUSTER = {"server": "https://kubernetes.default.svc"}


def _doc(name: str, project: str, spec: dict) -> str:  # type: ignore[type-arg]
    spec = {"project": project, "destination": {**IN_CLUSTER, "namespace": name}, **spec}
    meta = {"name": name, "labels": {"team": "web"}, "annotations": {"note": "not selected"}}
    return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": meta, "spec": spec})


SOURCE = {"repoURL": REPO, "path": "deploy", "targetRevision": "main"}
# Every column of the table in some state: sources, a chart, policies (enabled: false is Manual).
APPS = {
    "a-plain": ("alpha", {"source": SOURCE}),
    "a-auto": ("alpha", {"source": SOURCE, "syncPolicy": {"automated": {"prune": True, "selfHeal": True}}}),
    "a-off": ("alpha", {"source": SOURCE, "syncPolicy": {"automated": {"enabled": False}}}),
    "b-multi": (
        "beta",
        {"sources": [{"repoURL": REPO, "chart": "web", "targetRevision": "1.2.3"}, SOURCE], "syncPolicy": {"automated": {}}},
    ),
    "b-named": ("beta", {"source": {"repoURL": REPO, "path": "x"}, "destination": {"name": "in-cluster", "namespace": "n"}}),
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaemonProcess]:
    proc = start_policy_daemon(tmp_path_factory.mktemp("list-fields"), POLICY, PASSWORDS)
    try:
        with proc.channel() as channel:
            for project in ("alpha", "beta"):
                doc = {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "AppProject",
                    "metadata": {"name": project},
                    "spec": {"sourceRepos": ["*"], "destinations": [{**IN_CLUSTER, "namespace": "*"}, {"name": "*", "namespace": "*"}]},
                }
                projgrpc.ProjectServiceStub(channel).Create(
                    projpb.CreateProjectRequest(manifest=json.dumps(doc)), timeout=10
                )
            requests = [apppb.CreateApplicationRequest(manifest=_doc(n, *a)) for n, a in APPS.items()]
            appgrpc.ApplicationServiceStub(channel).BatchCreate(
                apppb.BatchCreateApplicationsRequest(requests=requests), timeout=30
            )
        # Their first comparison (a ComparisonError: the repository is not reachable) done, statuses
        # stay put while the tests compare one List with another.
        wait_for(lambda: all(a.status.reconciled_at for a in _list(proc)), what="the first comparisons")
        yield proc
    finally:
        proc.stop()


def _list(daemon: DaemonProcess, token: str | None = None, **fields: object) -> list[apppb.Application]:
    with daemon.channel(token=token) as channel:
        request = apppb.ListApplicationsRequest(**fields)  # type: ignore[arg-type]
        return list(appgrpc.ApplicationServiceStub(channel).List(request, timeout=10).items)


def _paths(doc: object, prefix: str = "") -> set[str]:
    """The dotted paths of every leaf value in a JSON document (list items: their own paths)."""
    if isinstance(doc, dict):
        return {p for k, v in doc.items() for p in _paths(v, f"{prefix}{k}.")} or {prefix.rstrip(".")}
    if isinstance(doc, list):
        return {p for v in doc for p in _paths(v, prefix)} or {prefix.rstrip(".")}
    return {prefix.rstrip(".")}


def test_items_hold_exactly_the_selected_fields(daemon: DaemonProcess) -> None:
    whole = {a.metadata.name: a for a in _list(daemon)}
    picked = _list(daemon, fields=["spec.source.repoURL,status.health", "metadata.uid"])
    assert [a.metadata.name for a in picked] == sorted(APPS)
    for item in picked:
        full = whole[item.metadata.name]
        expected = apppb.Application()
        expected.metadata.name, expected.metadata.uid = full.metadata.name, full.metadata.uid
        expected.spec.project = full.spec.project
        if full.spec.HasField("source"):
            expected.spec.source.repo_url = full.spec.source.repo_url
        if full.HasField("status"):  # a message that holds a selected part is there as in the whole
            expected.status.SetInParent()
        if full.status.HasField("health"):
            expected.status.health.CopyFrom(full.status.health)
        assert item == expected
        assert item.metadata.uid  # a server-set field, from its own column
    paths = set().union(*(_paths(to_document(a)) for a in picked))
    allowed = {"metadata.name", "metadata.uid", "spec.project", "spec.source.repoURL", "status"}
    assert paths <= allowed | {"status.health.status", "status.health.message"}


def test_a_field_of_every_element_and_presence_survive(daemon: DaemonProcess) -> None:
    items = {a.metadata.name: a for a in _list(daemon, fields=["spec.sources.chart", "spec.syncPolicy.automated"])}
    assert [s.chart for s in items["b-multi"].spec.sources] == ["web", ""]
    assert not items["b-multi"].spec.sources[1].repo_url
    # automated: {} (present, empty) and enabled: false (a proto3 optional set to its default)
    assert items["b-multi"].spec.sync_policy.HasField("automated")
    assert items["a-off"].spec.sync_policy.automated.HasField("enabled")
    assert not items["a-plain"].spec.sync_policy.HasField("automated")


def test_rbac_filters_a_selection_as_strictly(daemon: DaemonProcess) -> None:
    token = login(daemon, "alpha", PASSWORDS["alpha"])
    whole = [a.metadata.name for a in _list(daemon, token)]
    picked = _list(daemon, token, fields=["status.sync.status"])
    assert whole == [a.metadata.name for a in picked] == ["a-auto", "a-off", "a-plain"]
    assert not _list(daemon, token, fields=["metadata.name"], name="b-multi")
    assert all(a.spec.project == "alpha" and not a.metadata.annotations for a in picked)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        (["spec.nope"], "no field 'nope' in ApplicationSpec"),
        (["status..sync"], "no field ''"),
        (["metadata.name.first"], "metadata.name has no fields to select"),
        (["metadata.labels.team"], "metadata.labels is a map: select it whole"),
        (["spec." + "x" * 300], "is over 256 characters"),
        ([",".join(["metadata.name"] * 101)], "at most 100 paths"),
    ],
)
def test_unknown_or_unbounded_fields_are_refused(daemon: DaemonProcess, fields: list[str], says: str) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        error = rpc_error(stub.List, apppb.ListApplicationsRequest(fields=fields), timeout=10)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert says in error.details()


def _json_list(daemon: DaemonProcess, token: str, query: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    url = f"http://{daemon.http_address}/api/v1/applications?{query}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_json_api_takes_the_same_fields(daemon: DaemonProcess) -> None:
    token = login(daemon, "alpha", PASSWORDS["alpha"])
    status, body = _json_list(daemon, token, urllib.parse.urlencode({"fields": "spec.source.path,metadata.labels"}))
    assert status == 200
    assert [a["metadata"]["name"] for a in body["items"]] == ["a-auto", "a-off", "a-plain"]
    for item in body["items"]:
        assert item == {
            "metadata": {"name": item["metadata"]["name"], "labels": {"team": "web"}},
            "spec": {"project": "alpha", "source": {"path": "deploy"}},
        }
    status, body = _json_list(daemon, token, "fields=spec.nope")
    assert status == 400
    assert "no field 'nope'" in json.dumps(body)


def test_app_list_prints_what_whole_applications_print(daemon: DaemonProcess, tmp_path: os.PathLike[str]) -> None:
    env = {
        **os.environ,
        "GITOPSD_SERVER": daemon.address,
        "GITOPSD_AUTH_TOKEN": daemon.token,
        "GITOPSD_SERVER_CA": str(daemon.cert_path),
        "GITOPSD_CONFIG_DIR": str(tmp_path),
    }

    def run(*args: str) -> str:
        done = subprocess.run([gitopsd_bin(), "app", "list", *args], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    import io

    whole = _list(daemon)
    rendered = io.StringIO()
    print_table(LIST_HEADERS, list_rows(whole), out=rendered)
    assert run() == run("-o", "wide") == rendered.getvalue()
    assert "Auto-Prune" in rendered.getvalue() and "in-cluster" in rendered.getvalue()
    assert run("-o", "name").split() == sorted(APPS)
    # json prints whole applications, as before
    assert [json.dumps(d, sort_keys=True) for d in json.loads(run("-o", "json"))] == [
        json.dumps(to_document(a), sort_keys=True) for a in whole
    ]
    # The table reads nothing it does not ask for: rendering a selection equals rendering the whole.
    selected = io.StringIO()
    print_table(LIST_HEADERS, list_rows(_list(daemon, fields=LIST_FIELDS)), out=selected)
    assert selected.getvalue() == rendered.getvalue()
