"""The daemon's application layer, built over its open store: accounts and RBAC, repositories and
their cache, the renderers, clusters, the application controller and its reconciler, ApplicationSets
and /metrics, wired to one another. Nothing here listens on a port: gitopsd/server/endpoints.py puts
the API in front of it and gitopsd/server/daemon.py starts and stops both.

The parts are made in the order they need one another. Building writes to the store (the admin
account on a first start, the in-cluster cluster, the sync operations a stopped daemon left Running
marked failed) and starts the renderer sidecars without waiting for them; nothing is served before
daemon.py starts the listeners. Nothing built is stopped when a later part fails: `gitopsd serve`
then exits with the error (daemon.serve).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from gitopsd.app.app_states import app_states
from gitopsd.app.applications import Applications
from gitopsd.app.clusters import Clusters
from gitopsd.app.connections import Connections
from gitopsd.app.controller import AppController
from gitopsd.app.controller_core import ControllerSettings
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
from gitopsd.server.appset_wiring import AppSetWiring, wire_appsets
from gitopsd.server.config import Config, customizations_of
from gitopsd.server.metrics import Metrics
from gitopsd.server.metrics import Sources as MetricSources
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.localrepos import ProtectedPaths
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.safety import Limits
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor
from gitopsd.store import Store

log = logging.getLogger("gitopsd.server")


@dataclass
class AppLayer:
    """The parts the API serves and the daemon stops."""

    store: Store
    events: EventBus
    projects: Projects
    apps: Applications
    clusters: Clusters
    accounts: Accounts
    authorizer: Authorizer
    repos: Repositories
    repo_cache: RepoCache
    sidecars: SidecarSupervisor
    renderer: SourceRenderer
    connections: Connections
    # API calls before background work (gitopsd.app.foreground): the API marks its calls on it.
    foreground: Foreground
    controller: AppController
    metrics: Metrics
    reconciler: Reconciler
    live: LiveWatches
    parents: ParentRefresher
    appsets: AppSetWiring


def build_app_layer(cfg: Config, store: Store) -> AppLayer:
    """Every part of the application layer over `store`, wired; only the sidecars are started."""
    data = cfg.data_path
    events = EventBus()
    projects = Projects(store)
    protected = _protected_paths(cfg)
    apps = Applications(store, events, projects, protected)
    clusters = Clusters(store, lambda creds: _probe_cluster(cfg, creds))
    accounts = _accounts(cfg, store, projects)
    if accounts.ensure_admin():
        log.info("admin account created", extra=fields(initial_password="gitopsd admin initial-password"))
    authorizer = Authorizer(Policy.parse(cfg.rbac.policy), cfg.rbac.default_role, projects)
    _register_in_cluster(cfg, clusters)
    repos = Repositories(
        store,
        # The cache is made next (it reads credentials from the repositories): looked up when called.
        lambda url, kind, creds: check_repository(repo_cache, url, kind, creds),
        protected,
    )
    # One ls-remote per repository per reconcile interval, however many apps use it.
    repo_cache = RepoCache(
        data / "git",
        repos.credentials_for,
        ls_remote_ttl=float(cfg.reconcile.interval),
        max_fetch_bytes=cfg.render.max_fetch_bytes,
        protected=protected,
    )
    sidecars = SidecarSupervisor(_sidecar_config(cfg))
    sidecars.start(wait=False)
    renderer = SourceRenderer(
        repo_cache,
        sidecars,
        _render_limits(cfg),
        cfg.render.cache_size,
        repos.credentials_for,
        cache_max_bytes=cfg.render.cache_max_bytes,
    )
    connections = Connections(clusters, data / "kube-cache")
    clusters.on_change.append(connections.forget)
    foreground = Foreground()
    settings = _controller_settings(cfg, foreground)
    children = Children(store, apps, projects)  # app of apps (gitopsd.app.generators)
    controller = AppController(
        apps,
        renderer,
        connections,
        OperationStore(store),
        HistoryStore(store),
        events,
        projects,
        settings,
        children=children,
    )
    children.deleter = controller
    metrics = Metrics(
        MetricSources(
            lambda: app_states(store),
            repo_cache.all_stats,
            renderer.counters,
            accounts.login_failures_total,
            background_wait=lambda: foreground.waited_seconds,
        ),
        app_exists=apps.exists,
    )
    controller.on_reconciled.append(metrics.observe_reconcile)
    controller.on_operation_finished.append(metrics.observe_operation)
    # Every deletion (the API, an ApplicationSet, an app of apps) is an event of the bus.
    events.listeners.append(metrics.observe_event)
    controller.recover()
    reconciler = Reconciler(
        controller, repo_cache, cfg.reconcile.interval, cfg.reconcile.jitter, cfg.reconcile.workers
    )
    live = LiveWatches(connections, reconciler.refresh_soon)
    reconciler.on_refreshed.append(live.ensure)
    # Children are refreshed as soon as their parent creates or changes them, and a parent as soon
    # as a child's health is not what the parent last saw.
    children.on_changed.append(reconciler.track)
    parents = ParentRefresher(
        apps.get, lambda name: controller.refresh(name, resolve=False), children.children_of
    )
    controller.on_reconciled.append(parents.child_reconciled)
    # ApplicationSets (gitopsd/server/appset_wiring.py), through the same children mechanism.
    appsets = wire_appsets(
        cfg, store, apps, projects, clusters, repo_cache, controller, reconciler, children
    )
    return AppLayer(
        store=store,
        events=events,
        projects=projects,
        apps=apps,
        clusters=clusters,
        accounts=accounts,
        authorizer=authorizer,
        repos=repos,
        repo_cache=repo_cache,
        sidecars=sidecars,
        renderer=renderer,
        connections=connections,
        foreground=foreground,
        controller=controller,
        metrics=metrics,
        reconciler=reconciler,
        live=live,
        parents=parents,
        appsets=appsets,
    )


def _protected_paths(cfg: Config) -> ProtectedPaths:
    """No file:// repository may point into the daemon's own files (repo cache, keys, sockets)."""
    data = cfg.data_path
    return ProtectedPaths.of(
        [
            data,
            data / "run" / "renderers",
            *(Path(f).parent for f in (cfg.tls.cert_file, cfg.tls.key_file) if f),
        ]
    )


def _accounts(cfg: Config, store: Store, projects: Projects) -> Accounts:
    auth = cfg.auth
    return Accounts(
        store,
        cfg.data_path,
        AuthSettings(
            session_ttl=auth.session_ttl,
            admin_enabled=auth.admin_enabled,
            accounts=dict(auth.accounts),
            max_failures=auth.login_max_failures,
            failure_window=auth.login_failure_window,
        ),
        projects,
    )


def _sidecar_config(cfg: Config) -> SidecarConfig:
    endpoints = (
        ("helm", cfg.sidecars.helm),
        ("kustomize", cfg.sidecars.kustomize),
        ("jsonnet", cfg.sidecars.jsonnet),
    )
    return SidecarConfig(
        socket_dir=cfg.data_path / "run" / "renderers",
        endpoints={k: v for k, v in endpoints if v},
        plugins=dict(cfg.plugins),
        render_timeout=float(cfg.render.timeout),
        max_memory_bytes=cfg.render.max_memory_bytes,
        cmp_path=cfg.cmp.path,
    )


def _render_limits(cfg: Config) -> Limits:
    return Limits(
        max_repo_bytes=cfg.render.max_repo_bytes,
        max_output_bytes=cfg.render.max_output_bytes,
        render_timeout=float(cfg.render.timeout),
        value_file_url_schemes=("http", "https") if cfg.render.allow_remote_value_files else (),
    )


def _controller_settings(cfg: Config, foreground: Foreground) -> ControllerSettings:
    customizations = customizations_of(cfg)  # checked by load_config
    for note in customizations.notes:
        log.warning(note)
    lua = customizations.health_scripts()
    return ControllerSettings(
        health_checks=LuaHealthChecks(lua) if lua else None,
        known_types=KnownTypeFields.parse(customizations.by_kind),
        delete_timeout=float(cfg.reconcile.delete_timeout),
        foreground=foreground,
        operation_workers=cfg.reconcile.operation_workers,
    )


def _probe_cluster(cfg: Config, creds: ClusterCredentials) -> str:
    with KubeClient(creds, cfg.data_path / "kube-cache", timeout=5.0) as client:
        return client.check()


def _register_in_cluster(cfg: Config, clusters: Clusters) -> None:
    source = cfg.kubeconfig
    if not source:
        return
    try:
        creds = in_cluster_credentials() if source == "in-cluster" else from_kubeconfig(source)
    except KubeconfigError as exc:
        raise ValueError(f"kubeconfig: {exc}") from None
    clusters.register_in_cluster(creds)
    log.info("in-cluster registered", extra=fields(connects_to=creds.server))
