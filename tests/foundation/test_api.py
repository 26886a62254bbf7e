"""The gRPC API of a real `gitopsd serve` over a loopback socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from pathlib import Path

import grpc
import pytest
from fixtures.daemon import DaemonProcess
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc, version_pb2_grpc

SEED_APP = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "mon-app", "namespace": "argocd"},
    "spec": {
        "project": "default",
        "source": {
            "repoURL": "https://github.com/mon-org/k8s-manifests",
            "targetRevision": "main",
            "path": "apps/mon-app",
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "production"},
        "syncPolicy": {"automated": {"selfHeal": True, "prune": True}},
    },
}


def _create(stub: appgrpc.ApplicationServiceStub, doc: dict, upsert: bool = False) -> apppb.Application:
    return stub.Create(apppb.CreateApplicationRequest(manifest=json.dumps(doc), upsert=upsert), timeout=10)


def test_health_reports_serving(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert (
            health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
            == health_pb2.HealthCheckResponse.SERVING
        )
        reply = health.Check(
            health_pb2.HealthCheckRequest(service="gitopsd.v1.ApplicationService"), timeout=5
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_and_describes_the_services(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = set(db.get_services())
        assert {
            "gitopsd.v1.ApplicationService",
            "gitopsd.v1.ProjectService",
            "gitopsd.v1.ClusterService",
            "gitopsd.v1.RepositoryService",
            "gitopsd.v1.SessionService",
            "gitopsd.v1.AccountService",
            "gitopsd.v1.VersionService",
            "grpc.health.v1.Health",
        } <= services
        # A client in another language would build its stubs from these descriptors.
        pool = descriptor_pool.DescriptorPool(db)
        sync = pool.FindServiceByName("gitopsd.v1.ApplicationService").FindMethodByName("Watch")
        assert sync.server_streaming
        assert (
            pool.FindMessageTypeByName("gitopsd.v1.ApplicationSource").fields_by_name["repo_url"].json_name
            == "repoURL"
        )


def test_application_crud_round_trip(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        created = _create(stub, SEED_APP)
        assert created.metadata.uid and created.metadata.creation_timestamp
        assert created.spec.sync_policy.automated.self_heal

        got = stub.Get(apppb.GetApplicationRequest(name="mon-app"), timeout=5)
        assert got.spec == created.spec
        assert [a.metadata.name for a in stub.List(apppb.ListApplicationsRequest(), timeout=5).items] == [
            "mon-app"
        ]

        got.spec.destination.namespace = "staging"
        updated = stub.Update(apppb.UpdateApplicationRequest(application=got), timeout=5)
        assert updated.spec.destination.namespace == "staging"
        assert updated.metadata.generation == created.metadata.generation + 1

        # The resourceVersion read before the update is stale now.
        with pytest.raises(grpc.RpcError) as err:
            stub.Update(apppb.UpdateApplicationRequest(application=got), timeout=5)
        assert err.value.code() == grpc.StatusCode.ABORTED

        stub.Delete(apppb.DeleteApplicationRequest(name="mon-app"), timeout=5)
        with pytest.raises(grpc.RpcError) as err:
            stub.Get(apppb.GetApplicationRequest(name="mon-app"), timeout=5)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_create_existing_needs_upsert(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        _create(stub, SEED_APP)
        with pytest.raises(grpc.RpcError) as err:
            _create(stub, SEED_APP)
        assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS
        changed = json.loads(json.dumps(SEED_APP))
        changed["spec"]["source"]["targetRevision"] = "v2.1.0"
        assert _create(stub, changed, upsert=True).spec.source.target_revision == "v2.1.0"


def _mutate(path: str, value: object) -> dict:
    doc = json.loads(json.dumps(SEED_APP))
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


def _with_sources(count: int) -> dict:
    doc = _mutate("spec.source", _DELETE)
    source = SEED_APP["spec"]["source"]
    doc["spec"]["sources"] = [dict(source, path=f"overlays/{index}") for index in range(count)]
    return doc


def _mutate_sources(count: int, last: dict) -> dict:
    doc = _with_sources(count)
    doc["spec"]["sources"][-1].update(last)
    return doc


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (_mutate("kind", "Deployment"), "kind: expected Application, got 'Deployment'"),
        (_mutate("apiVersion", "apps/v1"), "apiVersion: expected argoproj.io/v1alpha1"),
        (_mutate("spec.source.repoURL", _DELETE), "spec.source.repoURL: required"),
        (_mutate("spec.destination", _DELETE), "spec.destination: required"),
        (_mutate("spec.destination.server", _DELETE), "spec.destination: server or name is required"),
        (_mutate("spec.source.repoUrl", "x"), "spec.source.repoUrl: unknown field"),
        (
            _mutate("spec.syncPolicy.automated.prune", "yes"),
            "spec.syncPolicy.automated.prune: expected true or false",
        ),
        (_mutate("metadata.name", "Mon_App"), "metadata.name: 'Mon_App' is not a valid name"),
        (_mutate("metadata.name", _DELETE), "metadata.name: required"),
        (_mutate("spec.source.path", "../../etc"), "spec.source.path: '../../etc' must be relative"),
        (
            _mutate("spec.syncPolicy.syncOptions", ["CreateNamespaces=true"]),
            "unknown sync option 'CreateNamespaces'",
        ),
        (_mutate("spec.project", "nope"), "spec.project: project 'nope' does not exist"),
        (
            # Multi-source applications are accepted (issue 12); a value file of a ref nobody defines is not.
            _mutate_sources(2, {"helm": {"valueFiles": ["$values/prod.yaml"]}}),
            "spec.sources[1].helm.valueFiles[0]: '$values/prod.yaml': no source has ref: values",
        ),
        (
            _mutate("spec.ignoreDifferences", [{"kind": "Deployment", "jqPathExpressions": [".spec.[[["]}]),
            "spec.ignoreDifferences[0].jqPathExpressions[0]: jq path expression '.spec.[[[' is not valid: jq: error",
        ),
        (
            _mutate("spec.ignoreDifferences", [{"kind": "Deployment", "jqPathExpressions": ["[range(1e9)]"]}]),
            "jqPathExpressions[0]: jq path expression '[range(1e9)]': 'range' is not allowed here",
        ),
    ],
)
def test_invalid_applications_are_refused_and_nothing_is_stored(
    daemon: DaemonProcess, doc: dict, expected: str
) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            _create(stub, doc)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert expected in err.value.details()
        assert list(stub.List(apppb.ListApplicationsRequest(), timeout=5).items) == []


def test_login_with_a_wrong_password_is_refused(daemon: DaemonProcess) -> None:
    # (SessionService was the last service answering UNIMPLEMENTED; tests/auth covers it in depth.)
    with daemon.channel(token="") as channel:
        with pytest.raises(grpc.RpcError) as err:
            session_pb2_grpc.SessionServiceStub(channel).Create(
                session_pb2.CreateSessionRequest(username="admin", password="not-the-password"), timeout=5
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == "invalid username or password"


def test_version(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        info = version_pb2_grpc.VersionServiceStub(channel).Version(common_pb2.Empty(), timeout=5)
    assert info.version and info.api_version == "gitopsd.v1"


def test_watch_streams_changes(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        stream = stub.Watch(apppb.WatchApplicationsRequest(name="mon-app"), timeout=20)
        events: list[apppb.ApplicationEvent] = []
        done = threading.Event()

        def read() -> None:
            for event in stream:
                events.append(event)
                if event.type == "DELETED":
                    break
            done.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        # Let the subscription register before changing anything.
        for _ in range(50):
            if stream.is_active():
                break
        threading.Event().wait(0.5)
        _create(stub, SEED_APP)
        stub.Delete(apppb.DeleteApplicationRequest(name="mon-app"), timeout=5)
        assert done.wait(10)
        stream.cancel()
    assert [e.type for e in events] == ["ADDED", "DELETED"]
    assert events[0].application.spec.destination.namespace == "production"


def test_restart_keeps_data(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        uid = _create(appgrpc.ApplicationServiceStub(channel), SEED_APP).metadata.uid
    assert daemon.stop() == 0
    daemon.start()
    with daemon.channel() as channel:
        got = appgrpc.ApplicationServiceStub(channel).Get(
            apppb.GetApplicationRequest(name="mon-app"), timeout=5
        )
    assert got.metadata.uid == uid


def test_sigterm_shuts_down_cleanly_and_notifies_systemd(tmp_path: Path) -> None:
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    proc = DaemonProcess(tmp_path / "data", tmp_path / "d.log", env={"NOTIFY_SOCKET": str(sock_path)}).start()
    try:
        ready = sock.recv(4096).decode()
        assert "READY=1" in ready
        assert proc.stop(signal.SIGTERM) == 0
        assert "STOPPING=1" in sock.recv(4096).decode()
    finally:
        proc.stop()
        sock.close()
    log = proc.log()
    assert "msg=stopped" in log
    # Every line is one structured event.
    assert all(line.startswith("ts=") for line in log.splitlines() if line.strip())
    # A clean stop folds the WAL back into the database file.
    wal = tmp_path / "data" / "gitopsd.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert not (tmp_path / "data" / "run" / "grpc.addr").exists()


def test_in_flight_watch_ends_on_shutdown(daemon: DaemonProcess) -> None:
    channel = daemon.channel()
    stream = appgrpc.ApplicationServiceStub(channel).Watch(apppb.WatchApplicationsRequest(), timeout=60)
    threading.Event().wait(0.3)
    assert daemon.stop() == 0
    # The server ends the stream itself (status OK) rather than leaving it to the deadline.
    events = list(stream)
    assert stream.code() == grpc.StatusCode.OK
    assert events == []
    channel.close()


def test_newer_database_stops_startup_with_a_clear_message(tmp_path: Path) -> None:
    import sqlite3

    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "gitopsd.db", isolation_level=None)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (999, 'x')")
    conn.close()
    proc = DaemonProcess(data, tmp_path / "d.log")
    with pytest.raises(RuntimeError) as err:
        proc.start(timeout=20)
    assert "newer than this gitopsd supports" in str(err.value)
    assert os.path.exists(data / "gitopsd.db")


def test_a_single_entry_sources_list_is_accepted(daemon: DaemonProcess) -> None:
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        _create(stub, _with_sources(1))
        got = stub.Get(apppb.GetApplicationRequest(name=SEED_APP["metadata"]["name"]), timeout=5)
        assert [s.path for s in got.spec.sources] == ["overlays/0"]
