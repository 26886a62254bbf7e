"""The daemon's client of the Renderer gRPC service (Helm, Kustomize sidecars and plugins).

Builds RenderRequests from a checkout (files already checked by gitopsd.sources.safety)
and maps gRPC failures to the sources package's errors, keeping the renderer's message.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2, renderer_pb2_grpc
from gitopsd.sources.errors import (
    LimitExceededError,
    RendererError,
    RendererUnavailableError,
    RenderTimeoutError,
)
from gitopsd.sources.gitauth import RepoCredentials, Scrubber
from gitopsd.sources.safety import DEFAULT_LIMITS, Limits, RepoFile, human_size

# Room for protobuf framing around the file contents.
_MESSAGE_OVERHEAD = 4 * 1024 * 1024


@dataclass(frozen=True)
class RendererInfo:
    name: str
    version: str
    source_types: tuple[str, ...]
    tool_versions: dict[str, str] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """What the render cache keys on: a new renderer version invalidates renders."""
        tools = ",".join(f"{k}={v}" for k, v in sorted(self.tool_versions.items()))
        return f"{self.name}/{self.version}/{tools}"


def build_render_request(
    *,
    source_type: str,
    source: application_pb2.ApplicationSource,
    files: Sequence[RepoFile] = (),
    chart: renderer_pb2.ChartReference | None = None,
    app_name: str,
    namespace: str,
    kube_version: str = "",
    api_versions: Sequence[str] = (),
    revision: str = "",
    limits: Limits = DEFAULT_LIMITS,
    ref_files: Sequence[RepoFile] = (),
) -> renderer_pb2.RenderRequest:
    request = renderer_pb2.RenderRequest(
        source_type=source_type,
        app_name=app_name,
        namespace=namespace,
        kube_version=kube_version,
        api_versions=list(api_versions),
        revision=revision,
        limits=renderer_pb2.RenderLimits(
            max_output_bytes=limits.max_output_bytes,
            max_chart_bytes=limits.max_chart_bytes,
            timeout_seconds=max(1, int(limits.render_timeout)),
        ),
    )
    request.source.CopyFrom(source)
    request.files.extend(
        renderer_pb2.SourceFile(path=f.path, content=f.content, executable=f.executable) for f in files
    )
    request.ref_files.extend(renderer_pb2.SourceFile(path=f.path, content=f.content) for f in ref_files)
    if chart is not None:
        request.chart.CopyFrom(chart)
    return request


def chart_reference(
    source: application_pb2.ApplicationSource, version: str, creds: RepoCredentials | None
) -> renderer_pb2.ChartReference:
    repo_url = source.repo_url.strip()
    if "://" not in repo_url:
        # Argo CD's OCI form: "registry.example.com/charts" without a scheme.
        repo_url = "oci://" + repo_url
    ref = renderer_pb2.ChartReference(repo_url=repo_url, chart=source.chart, version=version)
    if creds is not None:
        ref.username = creds.username
        ref.password = creds.password
        ref.insecure_skip_tls_verify = creds.insecure_skip_server_verification
        ref.plain_http = creds.insecure_oci_force_http
    return ref


# Trailing metadata of a failed Render naming repositories fetched without credentials
# (gitopsd.sidecar.errors.NEEDS_CREDENTIALS_KEY; the sources layer does not import the sidecar's).
_NEEDS_CREDENTIALS_KEY = "gitopsd-needs-credentials-bin"


def _needs_credentials(exc: grpc.RpcError) -> tuple[str, ...]:
    """The repository URLs a failed render names in its trailing metadata (at most 100)."""
    trailers: Sequence[tuple[str, str | bytes]] = (
        (exc.trailing_metadata() or ()) if isinstance(exc, grpc.Call) else ()
    )
    for key, value in trailers:
        if key == _NEEDS_CREDENTIALS_KEY and isinstance(value, bytes) and len(value) < 64 * 1024:
            try:
                urls = json.loads(value)
            except ValueError:
                return ()
            if isinstance(urls, list):
                return tuple(u for u in urls[:100] if isinstance(u, str))
    return ()


class RendererClient:
    """One renderer endpoint (`unix:///path.sock` or `host:port`)."""

    def __init__(self, name: str, target: str, *, timeout: float = 90.0, max_message_bytes: int = 0) -> None:
        self.name = name
        self.target = target
        self.timeout = timeout
        size = max_message_bytes or (Limits().max_repo_bytes + _MESSAGE_OVERHEAD)
        self._channel = grpc.insecure_channel(
            target,
            options=[
                ("grpc.max_send_message_length", size),
                ("grpc.max_receive_message_length", size),
                # A restarted sidecar is found again quickly.
                ("grpc.initial_reconnect_backoff_ms", 100),
                ("grpc.min_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 1000),
            ],
        )
        self._stub = renderer_pb2_grpc.RendererStub(self._channel)
        self._health = health_pb2_grpc.HealthStub(self._channel)
        self._info: RendererInfo | None = None
        self._lock = threading.Lock()

    def where(self) -> str:
        if self.target.startswith("unix:"):
            return f"socket {self.target.removeprefix('unix://').removeprefix('unix:')}"
        return f"endpoint {self.target}"

    def close(self) -> None:
        self._channel.close()

    def healthy(self, timeout: float = 2.0) -> bool:
        try:
            reply = self._health.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError:
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def capabilities(self, *, timeout: float = 10.0, refresh: bool = False) -> RendererInfo:
        with self._lock:
            if self._info is not None and not refresh:
                return self._info
        try:
            caps = self._stub.GetCapabilities(renderer_pb2.CapabilitiesRequest(), timeout=timeout)
        except grpc.RpcError as exc:
            raise self._map_error(exc, timeout, Scrubber()) from None
        info = RendererInfo(
            name=caps.name or self.name,
            version=caps.version,
            source_types=tuple(caps.source_types),
            tool_versions=dict(caps.tool_versions),
        )
        with self._lock:
            self._info = info
        return info

    def forget_capabilities(self) -> None:
        """Called when the process behind the endpoint was restarted (its version may differ)."""
        with self._lock:
            self._info = None

    def render(
        self, request: renderer_pb2.RenderRequest, *, timeout: float | None = None
    ) -> tuple[list[dict[str, Any]], list[str], str]:
        """Renders; returns (manifests, warnings, resolved chart version)."""
        deadline = timeout if timeout is not None else self.timeout
        secrets = [request.chart.password] if request.chart.password else []
        secrets += [entry.password for entry in request.dependency_credentials if entry.password]
        scrub = Scrubber(secrets)
        try:
            reply = self._stub.Render(request, timeout=deadline)
        except grpc.RpcError as exc:
            error = self._map_error(exc, deadline, scrub)
            error.needs_credentials = _needs_credentials(exc)
            raise error from None
        limit = request.limits.max_output_bytes or Limits().max_output_bytes
        manifests: list[dict[str, Any]] = []
        used = 0
        for index, doc in enumerate(reply.manifests):
            used += len(doc)
            if used > limit:
                raise LimitExceededError(
                    f"renderer {self.name}: rendered output exceeds the size limit of {human_size(limit)}"
                )
            try:
                obj = json.loads(doc)
            except json.JSONDecodeError as exc:
                raise RendererError(
                    self.name,
                    f"renderer {self.name} returned manifest #{index + 1} that is not JSON: {exc.msg}",
                ) from None
            except RecursionError:
                raise RendererError(
                    self.name, f"renderer {self.name} returned manifest #{index + 1} nested too deeply"
                ) from None
            if obj is None:
                continue
            if not isinstance(obj, dict):
                raise RendererError(
                    self.name, f"renderer {self.name} returned manifest #{index + 1} that is not an object"
                )
            manifests.append(obj)
        return manifests, [scrub(w) for w in reply.warnings], reply.resolved_version

    def _map_error(self, exc: grpc.RpcError, deadline: float, scrub: Scrubber) -> RendererError:
        code = exc.code() if isinstance(exc, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = scrub((exc.details() if isinstance(exc, grpc.Call) else "") or "")
        name = self.name
        if code == grpc.StatusCode.UNAVAILABLE:
            return RendererUnavailableError(
                name, f"renderer {name} unavailable: not running ({self.where()}): {details}", code.name
            )
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return RenderTimeoutError(name, f"renderer {name} did not finish within {deadline:g}s", code.name)
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return RendererError(name, f"renderer {name} does not implement this call: {details}", code.name)
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return RendererError(name, f"renderer {name}: limit exceeded: {details}", code.name)
        if code == grpc.StatusCode.CANCELLED:
            return RendererUnavailableError(
                name, f"renderer {name} unavailable: call cancelled: {details}", code.name
            )
        return RendererError(name, f"renderer {name}: {details}", code.name)
