"""The application controller's shared core: its settings, the state every part of it holds (one lock
per application, the running operations, self-heal backoff) and rendering and comparing one application.

Below gitopsd.app.refreshing, gitopsd.app.sync_attempt, gitopsd.app.sync_operations and
gitopsd.app.controller, which build AppController on it one concern at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.app import syncwindows
from gitopsd.app.applications import Applications
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.connections import Connections
from gitopsd.app.errors import AppError, InvalidArgument, NotFound
from gitopsd.app.events import EventBus
from gitopsd.app.foreground import Foreground
from gitopsd.app.generators.appofapps import ChildAppClient, rendered_projects
from gitopsd.app.generators.ownership import APPLICATION, Children, Owner
from gitopsd.app.operations import HistoryStore, OperationStore
from gitopsd.app.projects import Projects
from gitopsd.app.status import live_kinds, tracked_keys
from gitopsd.engine.annotations import compare_options, option_true
from gitopsd.engine.cluster import ClusterClient
from gitopsd.engine.compare import CompareOptions
from gitopsd.engine.health import LuaHealthChecks
from gitopsd.engine.normalize import IgnoreSet
from gitopsd.engine.reconcile import Comparison, compare_app
from gitopsd.engine.schema import NO_KNOWN_TYPES, KnownTypeFields
from gitopsd.protojson import to_document
from gitopsd.sources.multisource import render_sources
from gitopsd.sources.render import RenderResult, SourceRenderer

log = logging.getLogger("gitopsd.controller")


@dataclass
class ControllerSettings:
    wave_timeout: float = 300.0
    # How long `app delete --cascade` waits for its objects to be gone (finalizers, grace periods) before
    # it answers that the application is kept until they are; below the CLI's 60 s call timeout.
    delete_timeout: float = 45.0
    # Self-heal backoff: 5 s doubling to 3 min, so a tug-of-war with another controller cannot hot-loop.
    self_heal_base: float = 5.0
    self_heal_max: float = 180.0
    health_checks: LuaHealthChecks | None = None
    known_types: KnownTypeFields = NO_KNOWN_TYPES
    # What sync windows are evaluated against (tests may pass another clock).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # API calls in flight, which background refreshes and syncs wait for (gitopsd.app.foreground).
    foreground: Foreground = field(default_factory=Foreground)
    # Sync operations running at once (Argo CD's operation processors); the others wait their turn.
    operation_workers: int = 10


@dataclass
class Running:
    name: str
    state: apppb.OperationState
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    slot: bool = False  # holds one of the operation workers' slots (SyncOperations)


@dataclass
class Heal:
    attempts: int = 0
    not_before: float = 0.0


def source_of(app: apppb.Application) -> apppb.ApplicationSource:
    if app.spec.HasField("source"):
        return app.spec.source
    if app.spec.sources:
        return app.spec.sources[0]
    raise InvalidArgument("spec.source: required")


def multi_sources(app: apppb.Application) -> list[apppb.ApplicationSource]:
    """The sources of a multi-source application (spec.sources), empty for spec.source."""
    return [] if app.spec.HasField("source") else list(app.spec.sources)


def is_automated(app: apppb.Application) -> bool:
    policy = app.spec.sync_policy
    if not policy.HasField("automated"):
        return False
    auto = policy.automated
    return not (auto.HasField("enabled") and not auto.enabled)


def commit_info(render: RenderResult) -> common_pb2.CommitInfo:
    c = render.commit
    if c is None:
        return common_pb2.CommitInfo(sha=render.revision)
    return common_pb2.CommitInfo(
        sha=c.sha, author=c.author, date=c.date, message=c.message, target_revision=c.target_revision
    )


def _same_but_reconciled_at(new: apppb.ApplicationStatus, old: apppb.ApplicationStatus) -> bool:
    """Whether two statuses differ in reconciledAt at most (compared in C: no walk of the fields)."""
    if new.reconciled_at == old.reconciled_at:
        return bool(new == old)
    when = new.reconciled_at
    new.reconciled_at = old.reconciled_at
    try:
        return bool(new == old)
    finally:
        new.reconciled_at = when


class ControllerCore:
    """State and the render/compare steps shared by refreshes and sync operations."""

    def __init__(
        self,
        apps: Applications,
        renderer: SourceRenderer,
        connections: Connections,
        operations: OperationStore,
        history: HistoryStore,
        events: EventBus,
        projects: Projects,
        settings: ControllerSettings | None = None,
        children: Children | None = None,
    ) -> None:
        """children: the ownership mechanism; with it, rendered Application/AppProject documents become
        applications and projects owned by the application (app of apps)."""
        self.apps = apps
        self.children = children
        self.projects = projects
        self.renderer = renderer
        self.connections = connections
        self.operations = operations
        self.history = history
        self.events = events
        self.settings = settings or ControllerSettings()
        self._locks: dict[str, threading.Lock] = {}
        self._status_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._running: dict[str, Running] = {}
        self._op_slots = threading.BoundedSemaphore(max(1, self.settings.operation_workers))
        self._heal: dict[str, Heal] = {}
        self._closed = threading.Event()
        # Observers for /metrics: (app name, seconds) after each comparison, and
        # (app name, phase, seconds) when a sync operation ends. Must not raise.
        self.on_reconciled: list[Callable[[apppb.Application, float], None]] = []
        self.on_operation_finished: list[Callable[[str, str, float], None]] = []

    def operation_running(self, name: str) -> bool:
        """Whether a sync operation of the application is under way (it refreshes when it ends)."""
        return name in self._running

    # -- locks ---------------------------------------------------------------------

    def _lock(self, name: str, table: dict[str, threading.Lock]) -> threading.Lock:
        with self._locks_guard:
            return table.setdefault(name, threading.Lock())

    def _update_status(
        self,
        name: str,
        change: Callable[[apppb.ApplicationStatus], None],
        read: apppb.Application | None = None,
    ) -> apppb.Application:
        """Read-modify-write of one application's status (comparisons and operations both write it).
        read: the application as the caller read it; used instead of reading it again while its row
        is unchanged (a no-change pass does this once per application), and then returned as the
        result when the change was to reconciledAt alone.

        A change to nothing but reconciledAt (a comparison that found what the last one found) is
        not a status write: the time is recorded on its own (Applications.set_reconciled), the row,
        its resourceVersion and the event log stay as they are."""
        with self._lock(name, self._status_locks):
            app = self.current(read) if read is not None else self.apps.get(name)
            status = apppb.ApplicationStatus()
            status.CopyFrom(app.status)
            change(status)
            if _same_but_reconciled_at(status, app.status):
                if status.reconciled_at == app.status.reconciled_at:
                    return app  # nothing changed at all (two comparisons within one second)
                if status.reconciled_at > app.status.reconciled_at:
                    return self.apps.set_reconciled(app, status.reconciled_at)
            return self.apps.set_status(name, status, read=app)

    def current(self, app: apppb.Application) -> apppb.Application:
        """`app` while its row still has its resourceVersion, otherwise the row read again."""
        rv = app.metadata.resource_version
        if rv and self.apps.resource_version(app.metadata.name) == rv:
            return app
        return self.apps.get(app.metadata.name)

    # -- sync windows (gitopsd.app.syncwindows) ------------------------------------------

    def window_decision(self, app: apppb.Application, manual: bool) -> syncwindows.Decision:
        """Whether the project's sync windows let this application sync now."""
        try:
            project = self.projects.get(app.spec.project or "default")
        except NotFound:
            return syncwindows.Decision(True)  # the sync itself reports the missing project
        return syncwindows.can_sync(project, app, self.settings.clock(), manual)

    def sync_windows(self, app: apppb.Application) -> apppb.ApplicationSyncWindows:
        """The windows that apply to the application now, for `app get`."""
        try:
            project = self.projects.get(app.spec.project or "default")
        except NotFound:
            return apppb.ApplicationSyncWindows(can_sync=True, can_sync_manually=True)
        return syncwindows.application_windows(project, app, self.settings.clock())

    # -- rendering and comparing -----------------------------------------------------

    def render(
        self,
        app: apppb.Application,
        revision: str | None = None,
        hard: bool = False,
        source: apppb.ApplicationSource | None = None,
        local_files: Mapping[str, bytes] | None = None,
        local_path: str = ".",
        sources: Sequence[apppb.ApplicationSource] = (),
        revisions: Sequence[str] = (),
    ) -> RenderResult:
        """One source's render, or with spec.sources (or `sources`: an operation's), all of them merged
        (gitopsd.sources.multisource); `revisions` pins each source's revision (a rollback)."""
        multi = list(sources) or (multi_sources(app) if source is None else [])
        if len(multi) > 1 and local_files is not None:
            # Rendering the upload as the first source would show a diff of part of the application.
            raise InvalidArgument(
                "local files: a multi-source application renders several repositories; diff it without --local"
            )
        if multi and local_files is None:
            if revision:
                raise InvalidArgument(
                    "revision: a multi-source application renders each source's targetRevision "
                    "(roll back to a history entry to deploy earlier revisions)"
                )
            kube_version, api_versions = self._capabilities(app)
            return render_sources(
                self.renderer,
                app.metadata.name,
                multi,
                app.spec.destination.namespace,
                revisions=revisions,
                hard=hard,
                annotations=dict(app.metadata.annotations),
                project=app.spec.project or "default",
                kube_version=kube_version,
                api_versions=api_versions,
            )
        src = source if source is not None else source_of(app)
        kube_version, api_versions = self._capabilities(app)
        return self.renderer.render(
            app.metadata.name,
            src,
            app.spec.destination.namespace,
            revision_override=revision or None,
            hard=hard,
            local_files=local_files,
            local_path=local_path,
            annotations=dict(app.metadata.annotations),
            project=app.spec.project or "default",
            kube_version=kube_version,
            api_versions=api_versions,
        )

    def _capabilities(self, app: apppb.Application) -> tuple[str, tuple[str, ...]]:
        """The destination cluster's version and API group/versions, given to renders as Argo CD gives
        them (Helm's .Capabilities, a plugin's KUBE_VERSION / KUBE_API_VERSIONS); ("", ()) when the
        destination is unknown or unreachable: the comparison that follows reports that."""
        try:
            _, client = self.connections.for_destination(app.spec.destination)
        except AppError:
            return "", ()
        return client.capabilities()

    def _compare_options(self, app: apppb.Application) -> CompareOptions:
        ignore = IgnoreSet.build(to_document(i) for i in app.spec.ignore_differences)
        if ignore.errors:
            # An application stored before its expression was refused: an InvalidSpecError condition.
            raise InvalidArgument("; ".join(ignore.errors))
        app_options = compare_options({"metadata": {"annotations": dict(app.metadata.annotations)}})
        return CompareOptions(
            ignore=ignore,
            health=self.settings.health_checks,
            known_types=self.settings.known_types,
            include_mutation_webhook=option_true(app_options, "IncludeMutationWebhook"),
        )

    def client_for(
        self, app: apppb.Application, manifests: list[Any] | None = None
    ) -> CachedKubeClient | ChildAppClient:
        """The destination's client; with the ownership mechanism, one that serves the application's
        child Application/AppProject documents from the store (gitopsd.app.generators.appofapps)."""
        _, client = self.connections.for_destination(app.spec.destination)
        if self.children is None:
            return client
        return ChildAppClient(
            client,
            self.children,
            Owner(APPLICATION, app.metadata.name),
            app.spec.project or "default",
            rendered_projects(manifests or []),
        )

    def compare(
        self, app: apppb.Application, render: RenderResult, hard: bool = False
    ) -> tuple[ClusterClient, Comparison]:
        client = self.client_for(app, render.manifests)
        if hard:
            # A hard refresh trusts no cached live state: the app's kinds are listed again first.
            client.relist(live_kinds(app.status, render.manifests))
        comparison = compare_app(
            client,
            render.manifests,
            app=app.metadata.name,
            namespace=app.spec.destination.namespace,
            tracked=tracked_keys(app.status),
            options=self._compare_options(app),
        )
        return client, comparison
