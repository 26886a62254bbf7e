"""The CLI's connection to the daemon: one gRPC channel, stubs per service, and
turning gRPC failures into one clear line for the user."""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import grpc

from gitopsd.api.gitopsd.v1 import (
    application_pb2_grpc,
    applicationset_pb2_grpc,
    cluster_pb2_grpc,
    common_pb2,
    project_pb2_grpc,
    repository_pb2_grpc,
    session_pb2_grpc,
    settings_pb2_grpc,
    version_pb2_grpc,
)
from gitopsd.cli import userconfig
from gitopsd.cli.errors import CLIError

DEFAULT_SERVER = "127.0.0.1:8443"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


__all__ = ["CLIError", "Client", "error_line", "server_address"]


def server_address(flag: str | None) -> str:
    """--server, then GITOPSD_SERVER, then the server of the last `gitopsd login`, then the default."""
    return normalize_server(
        flag or os.environ.get("GITOPSD_SERVER") or userconfig.current_server() or DEFAULT_SERVER
    )


def normalize_server(text: str) -> str:
    """HOST:PORT or unix:///path from what a user may type: `https://host:port/` (as argocd takes it)
    becomes `host:port`, `https://host` `host:443`."""
    text = text.strip()
    lowered = text.lower()
    if lowered.startswith("http://"):
        raise CLIError(
            f"--server {text}: the gRPC API is not plain HTTP; give HOST:PORT (with --plaintext "
            "for a plaintext listener) or https://HOST:PORT"
        )
    for scheme in ("https://", "grpcs://"):
        if lowered.startswith(scheme):
            rest = text[len(scheme) :].rstrip("/")
            if "/" in rest:
                raise CLIError(f"--server {text}: expected https://HOST:PORT, without a path")
            host, _, port = rest.rpartition(":")
            return rest if port.isdigit() and host and not rest.endswith("]") else f"{rest}:443"
    return text


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


@dataclass(frozen=True)
class Connection:
    """How to reach and authenticate to one server: flags, then environment, then the user config."""

    token: str = ""
    ca_pem: bytes | None = None
    plaintext: bool = False
    insecure: bool = False


def connection_for(
    address: str,
    token: str | None = None,
    server_ca: str | None = None,
    plaintext: bool = False,
    insecure: bool = False,
) -> Connection:
    entry = userconfig.server_entry(userconfig.load(), address)
    token = token or os.environ.get("GITOPSD_AUTH_TOKEN") or str(entry.get("auth-token") or "")
    ca_file = server_ca or os.environ.get("GITOPSD_SERVER_CA") or str(entry.get("server-ca") or "")
    ca_pem = None
    if ca_file:
        try:
            ca_pem = open(ca_file, "rb").read()
        except OSError as exc:
            raise CLIError(f"cannot read the server CA file {ca_file}: {exc.strerror}") from None
    return Connection(
        token=token,
        ca_pem=ca_pem,
        plaintext=plaintext or _truthy(os.environ.get("GITOPSD_PLAINTEXT")) or bool(entry.get("plaintext")),
        insecure=insecure or _truthy(os.environ.get("GITOPSD_INSECURE")) or bool(entry.get("insecure")),
    )


def fetch_certificate(address: str, timeout: float = 10.0) -> str:
    """The PEM certificate the server presents, unverified (for --insecure and trust-on-first-use)."""
    host, _, port = address.rpartition(":")
    try:
        return ssl.get_server_certificate((host.strip("[]"), int(port)), timeout=timeout)
    except (OSError, ValueError) as exc:
        raise CLIError(f"cannot fetch the TLS certificate of {address}: {exc}") from None


def certificate_names(pem: str) -> list[str]:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(pem.encode())
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return [str(v) for v in san.get_values_for_type(x509.DNSName)] + [
            str(v) for v in san.get_values_for_type(x509.IPAddress)
        ]
    except x509.ExtensionNotFound:
        return []


class _TokenInterceptor(
    grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor  # type: ignore[misc]
):
    """Adds `authorization: Bearer TOKEN` to every call (plaintext channels included)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def _details(self, details: Any) -> Any:
        metadata = [*(details.metadata or []), ("authorization", f"Bearer {self._token}")]
        # grpc hands interceptors a namedtuple of call details.
        return details._replace(metadata=metadata)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


def grpc_target(address: str) -> str:
    if address.startswith("unix://"):
        return "unix:" + address.removeprefix("unix://")
    return address


@dataclass
class Client:
    address: str
    timeout: float = 60.0
    connection: Connection = Connection()

    @cached_property
    def channel(self) -> grpc.Channel:
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
        conn = self.connection
        target = grpc_target(self.address)
        if conn.plaintext or self.address.startswith("unix:"):
            channel = grpc.insecure_channel(target, options=options)
        else:
            roots = conn.ca_pem
            if conn.insecure:
                # Trust whatever certificate the server presents now (the user asked for it).
                pem = fetch_certificate(self.address)
                roots = pem.encode()
                names = certificate_names(pem)
                if names:
                    options.append(("grpc.ssl_target_name_override", names[0]))
            channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=roots), options=options)
        if conn.token:
            channel = grpc.intercept_channel(channel, _TokenInterceptor(conn.token))
        return channel

    @cached_property
    def apps(self) -> application_pb2_grpc.ApplicationServiceStub:
        return application_pb2_grpc.ApplicationServiceStub(self.channel)

    @cached_property
    def appsets(self) -> applicationset_pb2_grpc.ApplicationSetServiceStub:
        return applicationset_pb2_grpc.ApplicationSetServiceStub(self.channel)

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

    @cached_property
    def dashboard_url(self) -> str:
        """The daemon's dashboard address (its settings' url), "" when it has none or cannot say:
        `app get` then prints no URL line rather than fail."""
        try:
            reply = settings_pb2_grpc.SettingsServiceStub(self.channel).Get(
                common_pb2.Empty(), timeout=self.timeout
            )
        except grpc.RpcError:
            return ""
        return reply.url.rstrip("/")

    def close(self) -> None:
        if "channel" in self.__dict__:
            self.channel.close()


# The daemon puts this in the trailing metadata of every error it sends itself
# (gitopsd/server/sync_calls.py); a status without it came from the transport.
_ANSWER_TRAILER = ("gitopsd-answer", "1")


def answered_by_daemon(err: grpc.RpcError) -> bool:
    """Whether the error status was sent by the daemon (not a transport failure on the way)."""
    trailers: Any = err.trailing_metadata() if hasattr(err, "trailing_metadata") else None
    return any(tuple(item) == _ANSWER_TRAILER for item in trailers or ())


def describe_rpc_error(err: grpc.RpcError, address: str) -> str:
    code = err.code() if hasattr(err, "code") else None
    details = err.details() if hasattr(err, "details") else str(err)
    if answered_by_daemon(err):
        # The daemon is up: UNAVAILABLE here means something behind it (a renderer, a repository).
        return f"{code.name if code is not None else 'ERROR'}: {details}"
    if code == grpc.StatusCode.UNAVAILABLE and any(
        word in (details or "").lower() for word in ("ssl", "handshake", "certificate", "tls")
    ):
        return (
            f"the TLS certificate of {address} is not trusted: pass --server-ca FILE (or GITOPSD_SERVER_CA), "
            "run `gitopsd login` to review and save it, or --insecure to skip verification; "
            "--plaintext for a plaintext listener"
        )
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
