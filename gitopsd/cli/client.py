"""The CLI's connection to the daemon: one gRPC channel, stubs per service, and
turning gRPC failures into one clear line for the user."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import grpc

from gitopsd.api.gitopsd.v1 import (
    application_pb2_grpc,
    cluster_pb2_grpc,
    project_pb2_grpc,
    repository_pb2_grpc,
    session_pb2_grpc,
    version_pb2_grpc,
)

DEFAULT_SERVER = "127.0.0.1:8443"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class CLIError(Exception):
    """Printed as-is on stderr; the command exits with `code`."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def server_address(flag: str | None) -> str:
    return flag or os.environ.get("GITOPSD_SERVER") or DEFAULT_SERVER


def grpc_target(address: str) -> str:
    if address.startswith("unix://"):
        return "unix:" + address.removeprefix("unix://")
    return address


@dataclass
class Client:
    address: str
    timeout: float = 60.0

    @cached_property
    def channel(self) -> grpc.Channel:
        return grpc.insecure_channel(
            grpc_target(self.address),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )

    @cached_property
    def apps(self) -> application_pb2_grpc.ApplicationServiceStub:
        return application_pb2_grpc.ApplicationServiceStub(self.channel)

    @cached_property
    def projects(self) -> project_pb2_grpc.ProjectServiceStub:
        return project_pb2_grpc.ProjectServiceStub(self.channel)

    @cached_property
    def clusters(self) -> cluster_pb2_grpc.ClusterServiceStub:
        return cluster_pb2_grpc.ClusterServiceStub(self.channel)

    @cached_property
    def repos(self) -> repository_pb2_grpc.RepositoryServiceStub:
        return repository_pb2_grpc.RepositoryServiceStub(self.channel)

    @cached_property
    def sessions(self) -> session_pb2_grpc.SessionServiceStub:
        return session_pb2_grpc.SessionServiceStub(self.channel)

    @cached_property
    def version(self) -> version_pb2_grpc.VersionServiceStub:
        return version_pb2_grpc.VersionServiceStub(self.channel)

    def close(self) -> None:
        if "channel" in self.__dict__:
            self.channel.close()


def describe_rpc_error(err: grpc.RpcError, address: str) -> str:
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else str(err)
    if code == grpc.StatusCode.UNAVAILABLE:
        return f"cannot reach the gitopsd daemon at {address}: {details} (is `gitopsd serve` running? set --server or GITOPSD_SERVER)"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"the gitopsd daemon at {address} did not answer in time"
    name = code.name if code is not None else "ERROR"
    return f"{name}: {details}"


def error_line(exc: BaseException, address: str) -> str:
    """The one line a user sees for a failed command; unexpected errors are re-raised."""
    if isinstance(exc, grpc.RpcError):
        return describe_rpc_error(exc, address)
    if isinstance(exc, CLIError):
        return str(exc)
    raise exc
