"""The daemon's API in front of its application layer (gitopsd/server/app_layer.py): the auth
interceptor, the servicers, the gRPC server and the HTTP listener (webhooks, /metrics, the JSON API).

Built here, started by gitopsd/server/daemon.py. The HTTP socket is bound as it is built, before the
gRPC server binds its port, so a taken HTTP port fails the start before anything is served.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from gitopsd.app.controller_core import source_of
from gitopsd.server.app_layer import AppLayer
from gitopsd.server.auth_interceptor import AuthInterceptor
from gitopsd.server.config import Config
from gitopsd.server.grpc_server import GrpcServer, Servicers
from gitopsd.server.http import HttpHandlers, HttpServer
from gitopsd.server.metrics_access import MetricsAccess
from gitopsd.server.permissions import Lookups
from gitopsd.server.rest.gateway import Gateway
from gitopsd.server.servicers.application import ApplicationServicer
from gitopsd.server.servicers.cluster import ClusterServicer
from gitopsd.server.servicers.project import ProjectServicer
from gitopsd.server.servicers.repository import RepositoryServicer
from gitopsd.server.servicers.session import AccountServicer, SessionServicer
from gitopsd.server.servicers.settings import SettingsServicer
from gitopsd.server.servicers.version import VersionServicer
from gitopsd.sources.sidecars import SidecarSupervisor


@dataclass
class Endpoints:
    grpc: GrpcServer
    http: HttpServer | None  # None without `http_listen`


def build_endpoints(cfg: Config, layer: AppLayer, http_tls: tuple[str, str] | None) -> Endpoints:
    """The gRPC server and the HTTP listener over `layer`, not started (the HTTP socket is bound)."""
    interceptor = _interceptor(cfg, layer)
    http: HttpServer | None = None

    def dashboard_url() -> str:
        """Where users open the dashboard: http.public_url, else the HTTP listener's own address."""
        if cfg.http.public_url:
            return cfg.http.public_url.rstrip("/")
        return f"{http.scheme}://{http.address}" if http is not None else ""

    servicers = Servicers(
        ApplicationServicer(layer.apps, layer.events, layer.controller, layer.reconciler),
        ProjectServicer(layer.projects, layer.accounts),
        ClusterServicer(layer.clusters),
        RepositoryServicer(layer.repos, layer.repo_cache),
        SessionServicer(layer.accounts, layer.authorizer),
        AccountServicer(layer.accounts, layer.authorizer),
        VersionServicer(lambda: _renderer_versions(layer.sidecars)),
        settings=SettingsServicer(cfg, dashboard_url),
        applicationsets=layer.appsets.servicer,
    )
    grpc = GrpcServer(cfg.grpc.workers, interceptor, servicers)
    if cfg.http_listen:
        # Bound before the gRPC port, so a taken HTTP port fails the start cleanly.
        http = HttpServer(
            cfg.http_listen,
            _http_handlers(cfg, layer, interceptor, servicers),
            cfg.http,
            tls_files=http_tls,
            workers=cfg.grpc.workers,
        )
    return Endpoints(grpc, http)


def _interceptor(cfg: Config, layer: AppLayer) -> AuthInterceptor:
    apps, clusters = layer.apps, layer.clusters
    return AuthInterceptor(
        layer.accounts,
        layer.authorizer,
        Lookups(
            app_project=lambda name: apps.get(name).spec.project or "default",
            cluster_server=lambda name: clusters.get(name=name).server,
            project_exists=layer.projects.exists,
            app_target_revision=lambda name: source_of(apps.get(name)).target_revision,
            appset_project=layer.appsets.controller.appsets.project,
        ),
        max_streams_per_user=cfg.grpc.max_streams_per_user,
        foreground=layer.foreground,
    )


def _http_handlers(
    cfg: Config, layer: AppLayer, interceptor: AuthInterceptor, servicers: Servicers
) -> HttpHandlers:
    reconciler = layer.reconciler
    return HttpHandlers(
        cfg.webhook,
        layer.metrics,
        layer.apps.specs_of_all,
        lambda name: reconciler.refresh_soon(name, resolve=True),
        MetricsAccess.of(cfg.metrics.auth, layer.accounts, layer.authorizer, layer.apps.rbac_objects).check,
        on_push=layer.appsets.controller.on_push,
        # The JSON API: the same servicers, through the same interceptor as gRPC.
        api=Gateway(
            interceptor,
            [getattr(servicers, f.name) for f in dataclasses.fields(servicers)],
            cfg.http.max_body_bytes,
            float(cfg.webhook.read_timeout),
        ),
        # A push refreshes the applications whose files it changed before the others.
        refresh_in_order=reconciler.order.submit,
    )


def _renderer_versions(sidecars: SidecarSupervisor) -> dict[str, str]:
    versions = {}
    for name in sidecars.names():
        try:
            caps = sidecars.client(name).capabilities()
            versions[name] = caps.version
        except Exception as exc:  # a renderer that is down says so instead of failing `version`
            versions[name] = f"unavailable ({type(exc).__name__})"
    return versions
