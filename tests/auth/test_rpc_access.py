"""Every RPC of every service, called without a token, with a bad token and with a
read-only user's token, over the real TLS socket of a running daemon."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from authhelpers import SecretScan, login, set_password, start_daemon
from google.protobuf import message_factory
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gitopsd.api.gitopsd.v1 import (
    application_pb2,
    cluster_pb2,
    common_pb2,
    project_pb2,
    project_pb2_grpc,
    repository_pb2,
    session_pb2,
    session_pb2_grpc,
    settings_pb2,
    version_pb2,
)
from gitopsd.server.permissions import PUBLIC, RULES, Check, Filter

SERVICES = [
    service
    for module in (
        application_pb2, project_pb2, cluster_pb2, repository_pb2, session_pb2, version_pb2, settings_pb2
    )
    for service in module.DESCRIPTOR.services_by_name.values()
]
METHODS = [(f"/{s.full_name}/{m.name}", m) for s in SERVICES for m in s.methods]
IDS = [path for path, _ in METHODS]


def _method(service: str, name: str):  # type: ignore[no-untyped-def]
    return next(s for s in SERVICES if s.name == service).methods_by_name[name]


def _named(name: str) -> common_pb2.NameRequest:
    return common_pb2.NameRequest(name=name)


def _call(channel: grpc.Channel, path: str, method, request=None):  # type: ignore[no-untyped-def]
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    request = request if request is not None else request_cls()
    if method.server_streaming:
        stream = channel.unary_stream(
            path,
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        return list(stream(request, timeout=10))
    unary = channel.unary_unary(
        path, request_serializer=request_cls.SerializeToString, response_deserializer=response_cls.FromString
    )
    return unary(request, timeout=10)


def _error(channel: grpc.Channel, path: str, method, request=None) -> grpc.RpcError | None:  # type: ignore[no-untyped-def]
    try:
        _call(channel, path, method, request)
    except grpc.RpcError as exc:
        return exc
    return None


def test_every_rpc_has_an_access_rule() -> None:
    # The interceptor refuses methods missing from the table; this keeps the table complete.
    assert sorted(RULES) == sorted(IDS)
    assert len(IDS) > 40


@pytest.fixture(scope="module")
def access_daemon(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("access")
    daemon = start_daemon(tmp)
    try:
        set_password(daemon, "viewer", "viewer-password-1")
        yield daemon
    finally:
        daemon.stop()


@pytest.mark.parametrize(("path", "method"), METHODS, ids=IDS)
def test_without_a_token_every_rpc_is_unauthenticated(access_daemon, path: str, method) -> None:  # type: ignore[no-untyped-def]
    with access_daemon.channel(token="") as channel:
        err = _error(channel, path, method)
    if RULES[path] == PUBLIC:  # login itself: an empty login fails as a login
        assert err is not None and err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.details() == "invalid username or password"
        return
    assert err is not None, f"{path} answered without a token"
    assert err.code() == grpc.StatusCode.UNAUTHENTICATED, (err.code(), err.details())
    assert "no token" in err.details()


def test_health_and_reflection_need_no_token(access_daemon) -> None:  # type: ignore[no-untyped-def]
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    with access_daemon.channel(token="") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        assert "gitopsd.v1.ApplicationService" in set(
            ProtoReflectionDescriptorDatabase(channel).get_services()
        )


def _writes() -> list[tuple[str, object]]:
    return [
        (path, method)
        for path, method in METHODS
        if isinstance(RULES[path], Check) and RULES[path].action != "get"  # type: ignore[union-attr]
    ]


def _request_for(path: str, method):  # type: ignore[no-untyped-def]
    request = message_factory.GetMessageClass(method.input_type)()
    # Account RPCs on one's own account are self-service: aim at another account.
    if path.startswith("/gitopsd.v1.AccountService/"):
        request.name = "admin"
    return request


@pytest.mark.parametrize(("path", "method"), _writes(), ids=[p for p, _ in _writes()])
def test_a_readonly_token_is_denied_every_write(access_daemon, path: str, method) -> None:  # type: ignore[no-untyped-def]
    token = login(access_daemon, "viewer", "viewer-password-1")
    with access_daemon.channel(token=token) as channel:
        err = _error(channel, path, method, _request_for(path, method))
    assert err is not None, f"{path} let a read-only user write"
    assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (err.code(), err.details())
    assert "permission denied: viewer may not" in err.details()


def test_a_readonly_token_reads_and_a_user_without_role_sees_nothing(access_daemon, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scan = SecretScan(logs=[access_daemon.log_path])
    viewer = login(access_daemon, "viewer", scan.secret("viewer-password-1"))
    scan.secret(viewer)
    set_password(access_daemon, "alice", scan.secret("alice-password-1"))
    alice = scan.secret(login(access_daemon, "alice", "alice-password-1"))
    reads = [
        (p, m)
        for p, m in METHODS
        if isinstance(RULES[p], (Check, Filter)) and getattr(RULES[p], "action", "get") == "get"
    ]
    assert reads
    for path, method in reads:
        with access_daemon.channel(token=viewer) as channel:
            err = _error(channel, path, method)
        # Missing objects are NOT_FOUND, empty requests INVALID_ARGUMENT: never refused.
        assert err is None or err.code() not in (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAUTHENTICATED,
        ), (path, err.code(), err.details())
        if err is not None:
            scan.error(path, err)
    with access_daemon.channel(token=alice) as channel:
        # No role: lists come back empty rather than failing, Gets are refused.
        listed = project_pb2_grpc.ProjectServiceStub(channel).List(
            project_pb2.ListProjectsRequest(), timeout=5
        )
        assert list(listed.items) == []
        err = _error(
            channel, "/gitopsd.v1.ProjectService/Get", _method("ProjectService", "Get"), _named("default")
        )
        assert err is not None and err.code() == grpc.StatusCode.PERMISSION_DENIED
        scan.error("project get", err)
        info = session_pb2_grpc.SessionServiceStub(channel).GetUserInfo(common_pb2.Empty(), timeout=5)
        assert info.username == "alice" and list(info.groups) == []
        scan.seen("user info", str(info))
    scan.check()


def test_a_bad_authorization_header_is_unauthenticated(access_daemon) -> None:  # type: ignore[no-untyped-def]
    path = "/gitopsd.v1.VersionService/Version"
    method = version_pb2.DESCRIPTOR.services_by_name["VersionService"].methods_by_name["Version"]
    for token in ("not-a-jwt", "a.b.c", "x" * 5000):
        with access_daemon.channel(token=token) as channel:
            err = _error(channel, path, method)
        assert err is not None and err.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "malformed token" in err.details() or "signature" in err.details()
        assert token not in err.details()
