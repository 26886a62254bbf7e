"""The gRPC server under many streams and hostile request sizes, against a real daemon:
open Watch streams do not starve other RPCs, each user's streams are limited, and a
request without a valid token is refused before its body is read."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from authhelpers import login, set_password
from fixtures.daemon import DaemonProcess
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.api.gitopsd.v1 import common_pb2, session_pb2, session_pb2_grpc, version_pb2_grpc

APP = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Application",
    "metadata": {"name": "watched"},
    "spec": {
        "project": "default",
        "source": {"repoURL": "https://git.invalid/watched", "targetRevision": "main", "path": "."},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "watched"},
    },
}


def _start(tmp_path: Path, env: dict[str, str]) -> DaemonProcess:
    return DaemonProcess(
        data_dir=tmp_path / "data",
        log_path=tmp_path / "daemon.log",
        env={"GITOPSD_RECONCILE_INTERVAL": "3600", **env},
    ).start()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[DaemonProcess]:
    """A daemon holding one application, so that a Watch with send_initial answers at once."""
    daemon = _start(
        tmp_path,
        {
            "GITOPSD_GRPC_MAX_STREAMS_PER_USER": "3",
            "GITOPSD_AUTH_ACCOUNTS": "{viewer: login}",
            "GITOPSD_RBAC_POLICY": "g, viewer, role:readonly",
        },
    )
    try:
        with daemon.channel() as channel:
            appgrpc.ApplicationServiceStub(channel).Create(
                apppb.CreateApplicationRequest(manifest=json.dumps(APP)), timeout=30
            )
        yield daemon
    finally:
        daemon.stop()


def _open_watch(stub: appgrpc.ApplicationServiceStub, timeout: float = 120) -> grpc.Future:
    """A Watch stream the server is serving: its first event (the app, ADDED) has arrived."""
    stream = stub.Watch(apppb.WatchApplicationsRequest(send_initial=True), timeout=timeout)
    first = next(stream)
    assert (first.type, first.application.metadata.name) == ("ADDED", "watched")
    return stream


def test_a_thousand_open_watch_streams_leave_unary_rpcs_answering(tmp_path: Path) -> None:
    daemon = _start(tmp_path, {"GITOPSD_GRPC_MAX_STREAMS_PER_USER": "2000"})
    channels = [daemon.channel() for _ in range(4)]
    streams = []
    try:
        stubs = [appgrpc.ApplicationServiceStub(c) for c in channels]
        stubs[0].Create(apppb.CreateApplicationRequest(manifest=json.dumps(APP)), timeout=30)
        # The sync server served 32 streams, then nothing: the 33rd waited for its deadline.
        for i in range(1000):
            streams.append(_open_watch(stubs[i % len(stubs)]))
        with daemon.channel() as channel:
            info = version_pb2_grpc.VersionServiceStub(channel).Version(common_pb2.Empty(), timeout=20)
        assert info.api_version == "gitopsd.v1"
        with daemon.channel(token="") as channel:  # login too
            reply = session_pb2_grpc.SessionServiceStub(channel).Create(
                session_pb2.CreateSessionRequest(username="admin", password=daemon.initial_password()),
                timeout=30,
            )
        assert reply.token
        # Every stream still delivers: a change reaches all of them.
        app = stubs[1].Get(apppb.GetApplicationRequest(name="watched"), timeout=20)
        app.metadata.labels["touched"] = "yes"
        stubs[1].Update(apppb.UpdateApplicationRequest(application=app), timeout=20)
        for stream in streams:  # (the app's own status updates may come first)
            assert any(event.application.metadata.labels.get("touched") == "yes" for event in stream)
    finally:
        for stream in streams:
            stream.cancel()
        for channel in channels:
            channel.close()
        daemon.stop()


def test_streams_per_user_are_limited_and_other_users_are_not_affected(watched: DaemonProcess) -> None:
    set_password(watched, "viewer", "viewer-password-1")
    viewer_token = login(watched, "viewer", "viewer-password-1")
    with watched.channel() as channel, watched.channel(token=viewer_token) as viewer_channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        for _ in range(4):  # streams that fail give their place back
            with pytest.raises(grpc.RpcError) as missing:
                next(stub.Watch(apppb.WatchApplicationsRequest(name="nope", send_initial=True), timeout=20))
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        mine = [_open_watch(stub) for _ in range(3)]
        with pytest.raises(grpc.RpcError) as err:
            _open_watch(stub)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "grpc.max_streams_per_user" in (err.value.details() or "")
        # Another user has streams of their own, and unary calls are not streams.
        viewer = [_open_watch(appgrpc.ApplicationServiceStub(viewer_channel)) for _ in range(3)]
        stub.Get(apppb.GetApplicationRequest(name="watched"), timeout=20)
        # A closed stream gives its place back.
        mine.pop().cancel()
        for _ in range(100):
            try:
                mine.append(_open_watch(stub))
                break
            except grpc.RpcError as exc:  # the server may not have seen the cancel yet
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                threading.Event().wait(0.1)
        assert len(mine) == 3
        for stream in mine + viewer:
            stream.cancel()


def _memory_kib(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(value.split()[0])
        for key, _, value in (line.partition(":") for line in status.splitlines())
        if key in ("VmRSS", "VmHWM")
    }


def test_an_unauthenticated_huge_request_is_refused_without_being_read(watched: DaemonProcess) -> None:
    assert watched.proc is not None
    huge = apppb.CreateApplicationRequest(manifest="x" * (60 * 1024 * 1024))
    small = apppb.CreateApplicationRequest(manifest=json.dumps(APP))
    with watched.channel(token="") as anonymous, watched.channel(token="not-a-token") as forged:
        calls = [appgrpc.ApplicationServiceStub(c).Create for c in (anonymous, forged)]
        for create in calls:  # warm both paths up, so the figures below measure only the body
            with pytest.raises(grpc.RpcError):
                create(small, timeout=30)
        before = _memory_kib(watched.proc.pid)
        for create in calls * 2:
            with pytest.raises(grpc.RpcError) as err:
                create(huge, timeout=60)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        after = _memory_kib(watched.proc.pid)
    # 4 x 60 MB were sent; the sync server read each in full (+400 MiB) before the token check.
    grown_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    assert grown_mib < 8, f"the daemon's peak memory grew by {grown_mib:.0f} MiB"
    # Authenticated calls still accept large messages (up to the 64 MiB limit).
    with watched.channel() as channel:
        with pytest.raises(grpc.RpcError) as err:
            appgrpc.ApplicationServiceStub(channel).Create(huge, timeout=60)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_oversized_login_is_refused_before_it_is_parsed(watched: DaemonProcess) -> None:
    with watched.channel(token="") as channel:
        login_call = session_pb2_grpc.SessionServiceStub(channel).Create
        with pytest.raises(grpc.RpcError) as err:
            login_call(
                session_pb2.CreateSessionRequest(username="admin", password="p" * (8 * 1024 * 1024)),
                timeout=60,
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "65536-byte limit of calls without a token" in (err.value.details() or "")
        # A login of ordinary size still works.
        reply = login_call(
            session_pb2.CreateSessionRequest(username="admin", password=watched.initial_password()), timeout=30
        )
        assert reply.token


def test_oversized_logins_are_read_one_at_a_time(watched: DaemonProcess) -> None:
    # gRPC receives a message whole before its size is known: a login body is read, but only one
    # at a time (a 60 MB read alone peaks near 130 MiB in the daemon).
    assert watched.proc is not None
    huge = session_pb2.CreateSessionRequest(username="admin", password="p" * (60 * 1024 * 1024))
    channels = [watched.channel(token="") for _ in range(4)]
    try:
        stubs = [session_pb2_grpc.SessionServiceStub(c) for c in channels]
        with pytest.raises(grpc.RpcError):  # warm-up
            stubs[0].Create(session_pb2.CreateSessionRequest(username="admin", password="x"), timeout=30)
        before = _memory_kib(watched.proc.pid)
        codes: list[grpc.StatusCode] = []

        def attempt(stub: session_pb2_grpc.SessionServiceStub) -> None:
            try:
                stub.Create(huge, timeout=120)
            except grpc.RpcError as exc:
                codes.append(exc.code())

        for _ in range(2):
            threads = [threading.Thread(target=attempt, args=(stub,)) for stub in stubs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        after = _memory_kib(watched.proc.pid)
    finally:
        for channel in channels:
            channel.close()
    # 8 x 60 MB sent, 4 at a time. Read together, then parsed and hashed, they took +540 MiB (the
    # first 4 alone); one at a time, refused before parsing, +210-330 MiB here (gRPC and TLS buffers
    # of one read, and what flow control lets the waiting ones send ahead).
    peak_mib = (after["VmHWM"] - before["VmHWM"]) / 1024
    assert peak_mib < 450, f"the daemon's peak memory grew by {peak_mib:.0f} MiB"
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * 8


def test_health_checks_answer_anyone_but_refuse_oversized_requests(watched: DaemonProcess) -> None:
    with watched.channel(token="") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            stub.Check(health_pb2.HealthCheckRequest(service="s" * (4 * 1024 * 1024)), timeout=60)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "limit of calls without a token" in (err.value.details() or "")
        reply = stub.Check(health_pb2.HealthCheckRequest(service="gitopsd.v1.VersionService"), timeout=20)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        watch = stub.Watch(health_pb2.HealthCheckRequest(service=""), timeout=20)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        watch.cancel()
