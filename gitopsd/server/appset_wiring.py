"""Wires ApplicationSets into the daemon: the controller, its triggers (clusters changing, webhook
pushes, a poll per reconcile interval) and its servicer. Kept out of daemon.py, which calls it once."""

from __future__ import annotations

from dataclasses import dataclass

from apscheduler.triggers.interval import IntervalTrigger

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.applications import Applications
from gitopsd.app.clusters import Clusters
from gitopsd.app.controller import AppController
from gitopsd.app.errors import AppError
from gitopsd.app.generators.appset_controller import AppSetController
from gitopsd.app.generators.appset_gotemplate import GoTemplateLimits
from gitopsd.app.generators.appset_store import ApplicationSets
from gitopsd.app.generators.ownership import Children
from gitopsd.app.projects import Projects
from gitopsd.app.scheduler import Reconciler
from gitopsd.server.config import Config
from gitopsd.server.servicers.applicationset import ApplicationSetServicer
from gitopsd.sources.gitcache import RepoCache
from gitopsd.store import Store

MAX_TEMPLATE_SECONDS = 30.0


def _registered(clusters: Clusters, app: apppb.Application) -> bool:
    try:
        clusters.resolve_destination(app.spec.destination.server, app.spec.destination.name)
    except AppError:  # not found, or a destination naming no cluster at all
        return False
    return True


@dataclass
class AppSetWiring:
    controller: AppSetController
    servicer: ApplicationSetServicer

    def start(self, reconciler: Reconciler, interval: int) -> None:
        self.controller.start()
        reconciler.scheduler.add_job(
            self.controller.poll, IntervalTrigger(seconds=interval), id="appset-poll", executor="passes"
        )

    def stop(self) -> None:
        self.controller.stop()


def wire_appsets(
    cfg: Config,
    store: Store,
    apps: Applications,
    projects: Projects,
    clusters: Clusters,
    repo_cache: RepoCache,
    controller: AppController,
    reconciler: Reconciler,
    children: Children | None = None,
) -> AppSetWiring:
    if children is None:
        children = Children(store, apps, projects)
        children.deleter = controller
        children.on_changed.append(lambda name: reconciler.refresh_soon(name, resolve=True))
    appsets = AppSetController(
        ApplicationSets(store, projects),
        children,
        lambda: clusters.list(check=False),
        repo_cache,
        # Go templates run under the render limits (time and memory of a child process); at most 30 s, as
        # `appset create` waits for the generation (the CLI's own deadline is 60 s).
        GoTemplateLimits(
            timeout=min(float(cfg.render.timeout), MAX_TEMPLATE_SECONDS), max_memory_bytes=cfg.render.max_memory_bytes
        ),
    )
    clusters.on_change.append(appsets.on_clusters_changed)
    if children.destination_known is None:
        children.destination_known = lambda app: _registered(clusters, app)
    return AppSetWiring(appsets, ApplicationSetServicer(appsets))
