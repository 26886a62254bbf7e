"""VersionService: the daemon's version and its renderers'."""

from __future__ import annotations

import platform
from collections.abc import Callable

import grpc

from gitopsd import __version__
from gitopsd.api.gitopsd.v1 import common_pb2, version_pb2, version_pb2_grpc
from gitopsd.server.servicers.base import rpc

API_VERSION = "gitopsd.v1"


class VersionServicer(version_pb2_grpc.VersionServiceServicer):
    def __init__(self, renderer_versions: Callable[[], dict[str, str]] | None = None) -> None:
        self._renderer_versions = renderer_versions or dict

    @rpc
    def Version(self, request: common_pb2.Empty, context: grpc.ServicerContext) -> version_pb2.VersionInfo:
        try:
            import kubernetes

            kube_version = kubernetes.__version__
        except ImportError:  # pragma: no cover - a dependency, always present when installed properly
            kube_version = ""
        return version_pb2.VersionInfo(
            version=__version__,
            python_version=platform.python_version(),
            platform=f"{platform.system().lower()}/{platform.machine()}",
            api_version=API_VERSION,
            renderers=self._renderer_versions(),
            kubernetes_client_version=kube_version,
        )
