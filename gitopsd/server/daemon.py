"""`gitopsd serve`: wires the store, the application layer and the gRPC API together,
and owns the process lifecycle (readiness, signals, graceful shutdown)."""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd import __version__
from gitopsd.app.app_states import app_states
from gitopsd.app.applications import Applications
from gitopsd.app.clusters import Clusters
from gitopsd.app.connections import Connections
from gitopsd.app.controller import AppController
from gitopsd.app.controller_core import ControllerSettings, source_of
from gitopsd.app.events import EventBus
from gitopsd.app.foreground import Foreground
from gitopsd.app.generators.ownership import Children
from gitopsd.app.generators.parents import ParentRefresher
from gitopsd.app.livewatch import LiveWatches
from gitopsd.app.operations import HistoryStore, OperationStore
from gitopsd.app.projects import Projects
from gitopsd.app.repo_checks import check_repository
from gitopsd.app.repositories import Repositories
from gitopsd.app.scheduler import Reconciler
from gitopsd.auth.accounts import Accounts, AuthSettings
from gitopsd.auth.authorizer import Authorizer
from gitopsd.auth.rbac import Policy
from gitopsd.engine.health import LuaHealthChecks
from gitopsd.engine.schema import KnownTypeFields
from gitopsd.kube.client import KubeClient
from gitopsd.kube.credentials import ClusterCredentials, KubeconfigError, from_kubeconfig
from gitopsd.kube.incluster import in_cluster_credentials
from gitopsd.logs import fields
from gitopsd.server import malloc, memprofile
from gitopsd.server.appset_wiring import AppSetWiring, wire_appsets
from gitopsd.server.auth_interceptor import AuthInterceptor
from gitopsd.server.config import Config, customizations_of
from gitopsd.server.datadir import lock_data_dir, write_run_file
from gitopsd.server.grpc_server import GrpcServer, Servicers
from gitopsd.server.http import HttpHandlers, HttpServer
from gitopsd.server.listeners import grpc_credentials, http_tls_files
from gitopsd.server.metrics import Metrics
from gitopsd.server.metrics import Sources as MetricSources
from gitopsd.server.metrics_access import MetricsAccess
from gitopsd.server.notify import sd_notify
from gitopsd.server.permissions import Lookups
from gitopsd.server.rest.gateway import Gateway
from gitopsd.server.servicers.application import ApplicationServicer
from gitopsd.server.servicers.cluster import ClusterServicer
from gitopsd.server.servicers.project import ProjectServicer
from gitopsd.server.servicers.repository import RepositoryServicer
from gitopsd.server.servicers.session import AccountServicer, SessionServicer
from gitopsd.server.servicers.settings import SettingsServicer
from gitopsd.server.servicers.version import VersionServicer
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.localrepos import ProtectedPaths
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.safety import Limits
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor
from gitopsd.store import Store

# Seconds a thread runs before the interpreter lets another one in (see serve()).
SWITCH_INTERVAL = 0.0005
# Allocations between collections of the youngest generation, then collections between older ones.
GC_THRESHOLDS = (50_000, 20, 100)

log = logging.getLogger("gitopsd.server")


@dataclass
class Daemon:
    config: Config
    store: Store = field(init=False)
    events: EventBus = field(init=False)
    clusters: Clusters = field(init=False)
    repos: Repositories = field(init=False)
    repo_cache: RepoCache = field(init=False)
    sidecars: SidecarSupervisor = field(init=False)
    renderer: SourceRenderer = field(init=False)
    connections: Connections = field(init=False)
    controller: AppController = field(init=False)
    reconciler: Reconciler = field(init=False)
    parents: ParentRefresher = field(init=False)
    live: LiveWatches = field(init=False)
    metrics: Metrics = field(init=False)
    accounts: Accounts = field(init=False)
    http: HttpServer | None = field(init=False, default=None)
    appsets: AppSetWiring = field(init=False)
    address: str = field(init=False, default="")
    _grpc: GrpcServer = field(init=False)
    _stopped: threading.Event = field(init=False, default_factory=threading.Event)
    _lock_fd: int = field(init=False, default=-1)

    def start(self) -> None:
        data = self.config.data_path
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(data, 0o700)  # a data dir made beforehand (0755) holds credentials and keys too
        self._lock_fd = lock_data_dir(data)
        # Refused before anything starts: plaintext HTTP off loopback (see listeners.http_tls_files).
        http_tls = http_tls_files(self.config) if self.config.http_listen else None
        self.store = Store.open_data_dir(data)
        self.events = EventBus()
        projects = Projects(self.store)
        cfg = self.config
        # No file:// repository may point into the daemon's own files (repo cache, keys, sockets).
        protected = ProtectedPaths.of(
            [
                data,
                data / "run" / "renderers",
                *(Path(f).parent for f in (cfg.tls.cert_file, cfg.tls.key_file) if f),
            ]
        )
        apps = Applications(self.store, self.events, projects, protected)
        self.clusters = Clusters(self.store, self._probe_cluster)
        auth = self.config.auth
        self.accounts = Accounts(
            self.store,
            data,
            AuthSettings(
                session_ttl=auth.session_ttl,
                admin_enabled=auth.admin_enabled,
                accounts=dict(auth.accounts),
                max_failures=auth.login_max_failures,
                failure_window=auth.login_failure_window,
            ),
            projects,
        )
        if self.accounts.ensure_admin():
            log.info("admin account created", extra=fields(initial_password="gitopsd admin initial-password"))
        authorizer = Authorizer(
            Policy.parse(self.config.rbac.policy), self.config.rbac.default_role, projects
        )
        self._register_in_cluster()
        self.repos = Repositories(
            self.store,
            lambda url, kind, creds: check_repository(self.repo_cache, url, kind, creds),
            protected,
        )
        # One ls-remote per repository per reconcile interval, however many apps use it.
        self.repo_cache = RepoCache(
            data / "git",
            self.repos.credentials_for,
            ls_remote_ttl=float(cfg.reconcile.interval),
            max_fetch_bytes=cfg.render.max_fetch_bytes,
            protected=protected,
        )
        self.sidecars = SidecarSupervisor(
            SidecarConfig(
                socket_dir=data / "run" / "renderers",
                endpoints={
                    k: v
                    for k, v in (
                        ("helm", cfg.sidecars.helm),
                        ("kustomize", cfg.sidecars.kustomize),
                        ("jsonnet", cfg.sidecars.jsonnet),
                    )
                    if v
                },
                plugins=dict(cfg.plugins),
                render_timeout=float(cfg.render.timeout),
                max_memory_bytes=cfg.render.max_memory_bytes,
                cmp_path=cfg.cmp.path,
            )
        )
        self.sidecars.start(wait=False)
        limits = Limits(
            max_repo_bytes=cfg.render.max_repo_bytes,
            max_output_bytes=cfg.render.max_output_bytes,
            render_timeout=float(cfg.render.timeout),
            value_file_url_schemes=("http", "https") if cfg.render.allow_remote_value_files else (),
        )
        self.renderer = SourceRenderer(
            self.repo_cache,
            self.sidecars,
            limits,
            cfg.render.cache_size,
            self.repos.credentials_for,
            cache_max_bytes=cfg.render.cache_max_bytes,
        )
        self.connections = Connections(self.clusters, data / "kube-cache")
        self.clusters.on_change.append(self.connections.forget)
        customizations = customizations_of(cfg)  # checked by load_config
        for note in customizations.notes:
            log.warning(note)
        known_types = KnownTypeFields.parse(customizations.by_kind)
        lua = customizations.health_scripts()
        children = Children(self.store, apps, projects)  # app of apps (gitopsd.app.generators)
        foreground = Foreground()  # API calls before background work (gitopsd.app.foreground)
        self.controller = AppController(
            apps,
            self.renderer,
            self.connections,
            OperationStore(self.store),
            HistoryStore(self.store),
            self.events,
            projects,
            ControllerSettings(
                health_checks=LuaHealthChecks(lua) if lua else None,
                known_types=known_types,
                delete_timeout=float(cfg.reconcile.delete_timeout),
                foreground=foreground,
                operation_workers=cfg.reconcile.operation_workers,
            ),
            children=children,
        )
        children.deleter = self.controller
        self.metrics = Metrics(
            MetricSources(
                lambda: app_states(self.store),
                self.repo_cache.all_stats,
                self.renderer.counters,
                self.accounts.login_failures_total,
            )
        )
        self.controller.on_reconciled.append(self.metrics.observe_reconcile)
        self.controller.on_operation_finished.append(self.metrics.observe_operation)
        self.controller.recover()
        self.reconciler = Reconciler(
            self.controller,
            self.repo_cache,
            cfg.reconcile.interval,
            cfg.reconcile.jitter,
            cfg.reconcile.workers,
        )
        self.live = LiveWatches(self.connections, self.reconciler.refresh_soon)
        self.reconciler.on_refreshed.append(self.live.ensure)
        # Children are refreshed as soon as their parent creates or changes them, and a parent as soon
        # as a child's health is not what the parent last saw.
        children.on_changed.append(self.reconciler.track)
        self.parents = ParentRefresher(
            apps.get,
            lambda name: self.controller.refresh(name, resolve=False),
            children.children_of,
        )
        self.controller.on_reconciled.append(self.parents.child_reconciled)
        # ApplicationSets (gitopsd/server/appset_wiring.py), through the same children mechanism.
        self.appsets = wire_appsets(
            cfg,
            self.store,
            apps,
            projects,
            self.clusters,
            self.repo_cache,
            self.controller,
            self.reconciler,
            children,
        )

        interceptor = AuthInterceptor(
            self.accounts,
            authorizer,
            Lookups(
                app_project=lambda name: apps.get(name).spec.project or "default",
                cluster_server=lambda name: self.clusters.get(name=name).server,
                project_exists=projects.exists,
                app_target_revision=lambda name: source_of(apps.get(name)).target_revision,
                appset_project=self.appsets.controller.appsets.project,
            ),
            max_streams_per_user=cfg.grpc.max_streams_per_user,
            foreground=foreground,
        )
        servicers = Servicers(
            ApplicationServicer(apps, self.events, self.controller, self.reconciler),
            ProjectServicer(projects, self.accounts),
            ClusterServicer(self.clusters),
            RepositoryServicer(self.repos, self.repo_cache),
            SessionServicer(self.accounts, authorizer),
            AccountServicer(self.accounts, authorizer),
            VersionServicer(self._renderer_versions),
            settings=SettingsServicer(cfg, self._dashboard_url),
            applicationsets=self.appsets.servicer,
        )
        self._grpc = GrpcServer(cfg.grpc.workers, interceptor, servicers)
        if cfg.http_listen:
            # Bound before the gRPC port, so a taken HTTP port fails the start cleanly.
            self.http = HttpServer(
                cfg.http_listen,
                HttpHandlers(
                    cfg.webhook,
                    self.metrics,
                    apps.specs_of_all,
                    lambda name: self.reconciler.refresh_soon(name, resolve=True),
                    MetricsAccess.of(cfg.metrics.auth, self.accounts, authorizer, apps.rbac_objects).check,
                    on_push=self.appsets.controller.on_push,
                    # The JSON API: the same servicers, through the same interceptor as gRPC.
                    api=Gateway(
                        interceptor,
                        [getattr(servicers, f.name) for f in dataclasses.fields(servicers)],
                        cfg.http.max_body_bytes,
                        float(cfg.webhook.read_timeout),
                    ),
                    # A push refreshes the applications whose files it changed before the others.
                    refresh_in_order=self.reconciler.order.submit,
                ),
                cfg.http,
                tls_files=http_tls,
                workers=cfg.grpc.workers,
            )
        self.address = self._grpc.start(self.config.listen, grpc_credentials(self.config))
        self.reconciler.start()
        self.appsets.start(self.reconciler, cfg.reconcile.interval)
        if self.http is not None:
            self.http.start()
            write_run_file(self.config.data_path, "http.addr", self.http.address)
        self._write_address()
        log.info(
            "serving",
            extra=fields(
                grpc=self.address,
                http=self.http.address if self.http else "off",
                data_dir=str(data),
                version=__version__,
            ),
        )
        sd_notify(f"READY=1\nSTATUS=serving gRPC on {self.address}")

    def _dashboard_url(self) -> str:
        """Where users open the dashboard: http.public_url, else the HTTP listener's own address."""
        if self.config.http.public_url:
            return self.config.http.public_url.rstrip("/")
        return f"{self.http.scheme}://{self.http.address}" if self.http is not None else ""

    def _renderer_versions(self) -> dict[str, str]:
        versions = {}
        for name in self.sidecars.names():
            try:
                caps = self.sidecars.client(name).capabilities()
                versions[name] = caps.version
            except Exception as exc:  # a renderer that is down says so instead of failing `version`
                versions[name] = f"unavailable ({type(exc).__name__})"
        return versions

    def _probe_cluster(self, creds: ClusterCredentials) -> str:
        with KubeClient(creds, self.config.data_path / "kube-cache", timeout=5.0) as client:
            return client.check()

    def _register_in_cluster(self) -> None:
        source = self.config.kubeconfig
        if not source:
            return
        try:
            creds = in_cluster_credentials() if source == "in-cluster" else from_kubeconfig(source)
        except KubeconfigError as exc:
            raise ValueError(f"kubeconfig: {exc}") from None
        self.clusters.register_in_cluster(creds)
        log.info("in-cluster registered", extra=fields(connects_to=creds.server))

    def _write_address(self) -> None:
        # Lets scripts and tests that ask for port 0 find the real address.
        write_run_file(self.config.data_path, "grpc.addr", self.address)

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        sd_notify("STOPPING=1")
        log.info("stopping", extra=fields(grace_seconds=self.config.shutdown_grace))
        self._grpc.begin_stop()
        if self.http is not None:
            self.http.begin_stop()  # /healthz says 503 from now on
        self.reconciler.stop()
        self.appsets.stop()
        self.live.close()
        self.parents.close()
        self.events.close()
        # In-flight RPCs get the grace period; new ones are refused from now on.
        self._grpc.stop(self.config.shutdown_grace)
        if self.http is not None:
            self.http.stop()
        self.controller.close(timeout=self.config.shutdown_grace)
        self.sidecars.stop()
        self.connections.close()
        self.store.close()
        for run_file in ("grpc.addr", "http.addr"):
            (self.config.data_path / "run" / run_file).unlink(missing_ok=True)
        os.close(self._lock_fd)  # the next daemon on this data dir may start
        log.info("stopped")

    def wait(self) -> None:
        self._stopped.wait()


def serve(config: Config) -> int:
    """Runs the daemon until SIGTERM or SIGINT; returns the process exit code."""
    memprofile.install_from_env()
    # Before the daemon's threads start taking arenas of their own (gitopsd/server/malloc.py).
    malloc.limit_arenas()
    # A thread back from SQLite, a socket or git waits for the interpreter until the running thread
    # yields it: every switch interval (5 ms by default). The daemon's threads hold the store's write
    # lock across such returns, so each wait also stalls every writer behind it; 0.5 ms cut a no-change
    # pass of 3,000 applications from 4.3 s to 2.7 s and creating them from 22 s to 17 s here (one run
    # each of bench/reconcile_bench.py), for more switching.
    sys.setswitchinterval(SWITCH_INTERVAL)
    # The cyclic collector runs after every 700 allocations by default, and each run costs more the
    # more objects the daemon holds (live cache, render cache, queues): creating 8,000 applications
    # took 17.8 s with the default and 13.4 s with these (one run each, bench/reconcile_bench.py's
    # applications). Most of what a call allocates is freed by reference counting long before.
    gc.set_threshold(*GC_THRESHOLDS)
    daemon = Daemon(config)
    try:
        daemon.start()
    except Exception as exc:  # startup errors are the user's to fix: one clear line
        log.error("cannot start", extra=fields(error=str(exc)))
        return 1
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("signal received", extra=fields(signal=signal.Signals(signum).name))
        stop_requested.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop_requested.wait(1.0):
        pass
    daemon.stop()
    return 0
