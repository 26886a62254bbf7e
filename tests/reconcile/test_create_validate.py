"""`validate` on CreateApplicationRequest and UpdateApplicationRequest (gitopsd.app.create_checks), through
a real daemon whose in-cluster cluster is the sandbox, real git repositories, the CLI and the JSON API: a
good source is stored; a missing path, a revision that does not exist, a cluster that is not registered, a
failing source of several and a repository that refuses the credentials are refused with INVALID_ARGUMENT
naming the field, and nothing is stored; checks that outlast the caller's deadline are answered in time;
without validate the same documents are stored as before."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import yaml
from fixtures.daemon import GitOpsEnv
from fixtures.gitrepos import GitHttpServer, GitRepo, GitRepos
from reconcile.apps import configmap

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc

IN_CLUSTER = "https://kubernetes.default.svc"


def _app(
    name: str, repo: str, path: str = "app", revision: str = "main", server: str = IN_CLUSTER
) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "source": {"repoURL": repo, "targetRevision": revision, "path": path},
            "destination": {"server": server, "namespace": name},
        },
    }


def _create(
    stub: appgrpc.ApplicationServiceStub, doc: dict[str, Any], validate: bool, timeout: float = 60
) -> Any:
    request = apppb.CreateApplicationRequest(manifest=json.dumps(doc), validate=validate)
    return stub.Create(request, timeout=timeout)


def _refusal(stub: appgrpc.ApplicationServiceStub, doc: dict[str, Any]) -> str:
    """The message of a validated create that must be refused; checks that nothing was stored."""
    with pytest.raises(grpc.RpcError) as err:
        _create(stub, doc, validate=True)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    _assert_not_stored(stub, doc["metadata"]["name"])
    return str(err.value.details())


def _assert_not_stored(stub: appgrpc.ApplicationServiceStub, name: str) -> None:
    with pytest.raises(grpc.RpcError) as err:
        stub.Get(apppb.GetApplicationRequest(name=name), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # Nor an event in its log: a name with no log and no application is NOT_FOUND.
    with pytest.raises(grpc.RpcError) as err:
        stub.ListEvents(apppb.ListEventsRequest(name=name), timeout=10)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def _repo(git_repos: GitRepos, name: str = "manifests") -> GitRepo:
    repo = git_repos.create(name)
    repo.commit({"app/cm.yaml": configmap("hello"), "other/cm.yaml": configmap("other")})
    return repo


def test_a_validated_create_stores_a_good_source_and_refuses_a_bad_one(
    gitops_env: GitOpsEnv, git_repos: GitRepos
) -> None:
    repo = _repo(git_repos)
    with gitops_env.daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        created = _create(stub, _app("good", repo.url), validate=True)
        assert created.metadata.uid
        assert stub.Get(apppb.GetApplicationRequest(name="good"), timeout=10).spec.source.path == "app"

        missing_path = _refusal(stub, _app("no-path", repo.url, path="nowhere"))
        assert missing_path.startswith("spec.source: cannot render: "), missing_path
        assert "nowhere" in missing_path

        bad_revision = _refusal(stub, _app("no-rev", repo.url, revision="no-such-branch"))
        assert bad_revision.startswith("spec.source: cannot render: "), bad_revision
        assert "no-such-branch" in bad_revision and "revision not found" in bad_revision

        no_repo = _refusal(stub, _app("no-repo", str(git_repos.root / "remotes" / "absent.git")))
        assert no_repo.startswith("spec.source: cannot render: "), no_repo

        no_cluster = _refusal(stub, _app("no-cluster", repo.url, server="https://nowhere.example:6443"))
        assert no_cluster.startswith(
            "spec.destination: cluster 'https://nowhere.example:6443' is not registered"
        ), no_cluster

        # The document's own rules still come first, and name their field as before.
        doc = _app("bad-ns", repo.url)
        doc["spec"]["destination"]["namespace"] = "Not_A_Namespace"
        assert "spec.destination.namespace" in _refusal(stub, doc)

        # Without validate: stored as before; the first comparison reports what is wrong.
        for doc in (
            _app("no-path", repo.url, path="nowhere"),
            _app("no-rev", repo.url, revision="no-such-branch"),
            _app("no-cluster", repo.url, server="https://nowhere.example:6443"),
        ):
            assert _create(stub, doc, validate=False).metadata.uid


def test_a_validated_create_names_the_failing_source_of_several(
    gitops_env: GitOpsEnv, git_repos: GitRepos
) -> None:
    repo = _repo(git_repos)
    doc = _app("multi", repo.url)
    source = doc["spec"].pop("source")
    doc["spec"]["sources"] = [dict(source, path="other"), dict(source, path="missing-dir")]
    with gitops_env.daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        message = _refusal(stub, doc)
        assert message.startswith("spec.sources: cannot render: spec.sources[1] "), message
        assert "missing-dir" in message
        doc["spec"]["sources"][1]["path"] = "app"
        assert len(_create(stub, doc, validate=True).spec.sources) == 2


def test_a_validated_batch_checks_each_request_and_stores_none_when_one_fails(
    gitops_env: GitOpsEnv, git_repos: GitRepos
) -> None:
    repo = _repo(git_repos)

    def batch(*docs: dict[str, Any]) -> apppb.BatchCreateApplicationsRequest:
        return apppb.BatchCreateApplicationsRequest(
            requests=[apppb.CreateApplicationRequest(manifest=json.dumps(d), validate=True) for d in docs]
        )

    with gitops_env.daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.BatchCreate(batch(_app("b-good", repo.url), _app("b-bad", repo.url, path="nowhere")), timeout=60)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
        assert str(err.value.details()).startswith("requests[1]: spec.source: cannot render: ")
        _assert_not_stored(stub, "b-good")
        _assert_not_stored(stub, "b-bad")
        reply = stub.BatchCreate(batch(_app("b-good", repo.url), _app("b-other", repo.url, path="other")), timeout=60)
        assert [a.metadata.name for a in reply.applications] == ["b-good", "b-other"]


def test_a_validated_update_and_the_json_api(gitops_env: GitOpsEnv, git_repos: GitRepos) -> None:
    repo = _repo(git_repos)
    with gitops_env.daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        _create(stub, _app("web", repo.url), validate=False)
        app = stub.Get(apppb.GetApplicationRequest(name="web"), timeout=10)
        app.spec.source.path = "nowhere"
        with pytest.raises(grpc.RpcError) as err:
            stub.Update(apppb.UpdateApplicationRequest(application=app, validate=True), timeout=60)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert str(err.value.details()).startswith("spec.source: cannot render: ")
        assert stub.Get(apppb.GetApplicationRequest(name="web"), timeout=10).spec.source.path == "app"
        app.spec.source.path = "other"
        updated = stub.Update(apppb.UpdateApplicationRequest(application=app, validate=True), timeout=60)
        assert updated.spec.source.path == "other"

    # The JSON API: Argo CD's `validate` query parameter, on the same servicer.
    headers = {"Authorization": f"Bearer {gitops_env.daemon.token}"}
    with httpx.Client(
        base_url=f"http://{gitops_env.daemon.http_address}", headers=headers, timeout=60
    ) as http:
        doc = _app("rest", repo.url, path="nowhere")
        refused = http.post("/api/v1/applications", params={"validate": "true"}, json=doc)
        assert refused.status_code == 400, refused.text
        assert refused.json()["message"].startswith("spec.source: cannot render: ")
        assert http.get("/api/v1/applications/rest").status_code == 404
        assert http.post("/api/v1/applications", params={"validate": "false"}, json=doc).status_code == 200


def test_the_cli_flag_validates_and_no_validate_keeps_todays_behaviour(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli = gitops_env.cli
    repo = _repo(git_repos)
    flags = ["--repo", repo.url, "--revision", "main", "--dest-server", IN_CLUSTER, "--dest-namespace", "web"]
    refused = cli("app", "create", "web", "--path", "nowhere", *flags, "--validate")
    assert refused.returncode == 2
    assert "spec.source: cannot render: " in refused.stderr and "nowhere" in refused.stderr
    assert cli("app", "get", "web").returncode != 0

    path = tmp_path / "web.yaml"
    path.write_text(yaml.safe_dump(_app("web", repo.url, path="nowhere")))
    from_file = cli("app", "create", "-f", str(path), "--validate")
    assert from_file.returncode == 2 and "spec.source: cannot render: " in from_file.stderr
    assert cli("app", "get", "web").returncode != 0

    stored = cli("app", "create", "web", "--path", "nowhere", *flags, "--no-validate")
    assert stored.returncode == 0, stored.stderr
    refused_set = cli("app", "set", "web", "--path", "still-nowhere", "--validate")
    assert refused_set.returncode == 2 and "still-nowhere" in refused_set.stderr
    assert cli("app", "set", "web", "--path", "app", "--validate").returncode == 0
    shown = json.loads(cli("app", "get", "web", "-o", "json").stdout)
    assert shown["spec"]["source"]["path"] == "app"


def test_a_refused_credential_is_named_without_the_secret(
    gitops_env: GitOpsEnv, git_repos: GitRepos, git_http_server: GitHttpServer
) -> None:
    cli = gitops_env.cli
    repo = _repo(git_repos, "private")
    url = git_http_server.url(repo)
    wrong = "Wrong-Pa55word-for-validate"
    assert cli("repo", "add", url, "--username", "deploy", "--password", wrong).returncode == 0
    with gitops_env.daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        message = _refusal(stub, _app("private", url))
        assert "authentication failed" in message, message
        assert wrong not in message and git_http_server.password not in message
        assert wrong not in gitops_env.daemon.log()


@pytest.fixture
def silent_git_server() -> Iterator[str]:
    """A git:// address that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"git://127.0.0.1:{listener.getsockname()[1]}/silent.git"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


def test_checks_that_outlast_the_callers_deadline_are_answered_and_store_nothing(
    gitops_env: GitOpsEnv, silent_git_server: str, tmp_path: Path
) -> None:
    with gitops_env.daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            _create(stub, _app("silent", silent_git_server), validate=True, timeout=10)
        # The daemon answers before the caller's deadline, saying why; on a machine too slow for its
        # answer to arrive in time the client's own deadline ends the call. Never INVALID_ARGUMENT or OK.
        code = err.value.code()
        assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED), err.value.details()
        if code == grpc.StatusCode.UNAVAILABLE:
            assert "did not finish within" in str(err.value.details())
            assert "nothing was stored" in str(err.value.details())
        _assert_not_stored(stub, "silent")

        # A repository its project does not permit is never asked: the project's refusal, at once.
        project = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "narrow"},
            "spec": {
                "sourceRepos": ["https://git.example.invalid/*"],
                "destinations": [{"server": "*", "namespace": "*"}],
            },
        }
        path = tmp_path / "narrow.yaml"
        path.write_text(yaml.safe_dump(project))
        assert gitops_env.cli("proj", "create", "-f", str(path)).returncode == 0
        doc = _app("narrow-app", silent_git_server)
        doc["spec"]["project"] = "narrow"
        message = _refusal(stub, doc)
        assert "is not permitted in project 'narrow'" in message, message
