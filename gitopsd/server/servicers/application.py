"""ApplicationService: protobuf requests <-> the application layer. Thin by design."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import yaml

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.app.applications import Applications
from gitopsd.app.controller import AppController
from gitopsd.app.create_checks import check_before_storing
from gitopsd.app.documents import parse_manifest
from gitopsd.app.errors import AppError, InvalidArgument, Unavailable
from gitopsd.app.events import EventBus
from gitopsd.app.fieldselect import application_selection
from gitopsd.app.generators.ownership import APPLICATION, Owner
from gitopsd.app.resources.changes import LiveChanges
from gitopsd.app.resources.service import AppResources
from gitopsd.app.scheduler import Reconciler
from gitopsd.auth.context import current_username
from gitopsd.engine.compare import ResourceComparison
from gitopsd.kube.errors import KubeError
from gitopsd.server.servicers.app_resources import ResourceRpcs
from gitopsd.server.servicers.base import rpc, status_for
from gitopsd.server.sync_calls import end
from gitopsd.server.watch_feed import WatchFeed
from gitopsd.sources.errors import SourceError
from gitopsd.store import utcnow

MAX_LOCAL_FILES_BYTES = 10 * 1024 * 1024


def _yaml(obj: dict | None) -> str:  # type: ignore[type-arg]
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False) if obj else ""


def resource_diff(r: ResourceComparison) -> apppb.ResourceDiff:
    item = apppb.ResourceDiff(
        group=r.key.group,
        version=r.key.version,
        kind=r.key.kind,
        namespace=r.key.namespace,
        name=r.key.name,
        live_state=_yaml(r.live_yaml_obj),
        target_state=_yaml(r.target_yaml_obj),
        diff=r.diff,
        status=r.status,
        hook=bool(r.hook),
    )
    if r.health is not None:
        item.health.status = r.health.status.value
        item.health.message = r.health.message
    return item


class ApplicationServicer(ResourceRpcs, appgrpc.ApplicationServiceServicer):
    def __init__(
        self,
        apps: Applications,
        events: EventBus,
        controller: AppController,
        reconciler: Reconciler,
        # The live-resource RPCs (gitopsd.server.servicers.app_resources).
        resources: AppResources | None = None,
        changes: LiveChanges | None = None,
    ) -> None:
        self._resources = resources or AppResources(
            apps, controller.connections, lambda: controller.settings.health_checks
        )
        self._changes = changes or LiveChanges(controller.connections)
        self._apps = apps
        self._events = events
        self._controller = controller
        self._reconciler = reconciler

    @staticmethod
    def _application_of(
        request: apppb.CreateApplicationRequest | apppb.UpdateApplicationRequest,
    ) -> apppb.Application:
        manifest = getattr(request, "manifest", "")
        if manifest:
            if request.HasField("application"):
                raise InvalidArgument("send either application or manifest, not both")
            return parse_manifest(manifest, apppb.Application(), "Application")
        if not request.HasField("application"):
            raise InvalidArgument("application: required")
        return request.application

    @staticmethod
    def _initiator(context: grpc.ServicerContext, kind: str = "user") -> apppb.OperationInitiator:
        # The authenticated caller (set by the auth interceptor): a user or proj:PROJECT:ROLE.
        return apppb.OperationInitiator(username=current_username("admin"), automated=False, kind=kind)

    # -- CRUD ------------------------------------------------------------------------

    @rpc
    def Create(
        self, request: apppb.CreateApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.Application:
        app = self._application_of(request)
        if request.validate:  # the destination and sources are checked before anything is stored
            check_before_storing(self._controller, app, context.time_remaining())
        app = self._apps.create(app, upsert=request.upsert, actor=current_username())
        self._reconciler.track(app.metadata.name)
        return app

    @rpc
    def BatchCreate(
        self, request: apppb.BatchCreateApplicationsRequest, context: grpc.ServicerContext
    ) -> apppb.BatchCreateApplicationsResponse:
        if not request.requests:
            raise InvalidArgument("requests: at least one is needed")
        items = []
        for i, item in enumerate(request.requests):
            try:
                app = self._application_of(item)
                if item.validate:  # each as Create checks it, against what is left of the deadline
                    check_before_storing(self._controller, app, context.time_remaining())
            except AppError as exc:
                raise type(exc)(f"requests[{i}]: {exc}") from None
            items.append((app, item.upsert))
        apps = self._apps.create_many(items, actor=current_username())
        for app in apps:
            self._reconciler.track(app.metadata.name)
        return apppb.BatchCreateApplicationsResponse(applications=apps)

    @rpc
    def Get(self, request: apppb.GetApplicationRequest, context: grpc.ServicerContext) -> apppb.Application:
        if request.refresh not in ("", "normal", "hard"):
            raise InvalidArgument(f"refresh: {request.refresh!r} is not one of normal, hard")
        if request.refresh:
            app = self._controller.refresh(request.name, hard=request.refresh == "hard")
        else:
            app = self._apps.get(request.name)
        # status.syncWindows: what the project's sync windows allow now (gitopsd.app.syncwindows).
        app.status.sync_windows.CopyFrom(self._controller.sync_windows(app))
        return app

    @rpc
    def List(
        self, request: apppb.ListApplicationsRequest, context: grpc.ServicerContext
    ) -> apppb.ApplicationList:
        selection = application_selection(request.fields)  # None: whole applications
        reply = apppb.ApplicationList()
        self._apps.list_into(
            reply, request.projects, request.selector, request.repo, request.name, selection
        )
        return reply

    @rpc
    def Update(
        self, request: apppb.UpdateApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.Application:
        app = self._application_of(request)
        if request.validate:
            check_before_storing(self._controller, app, context.time_remaining())
        app = self._apps.update(app, actor=current_username())
        self._reconciler.refresh_soon(app.metadata.name)
        return app

    @rpc
    def Delete(
        self, request: apppb.DeleteApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.DeleteApplicationResponse:
        policy = request.propagation_policy or "foreground"
        if policy not in ("foreground", "background", "orphan"):
            raise InvalidArgument(f"propagationPolicy: {policy!r} is not foreground, background or orphan")
        app = self._apps.get(request.name)
        cascade = request.cascade and policy != "orphan"
        if cascade:
            self._controller.delete_resources(app, propagation=policy.capitalize())
        if self._controller.children is not None:  # an app of apps: its children go too, or stay unowned
            self._controller.children.on_owner_deleted(Owner(APPLICATION, request.name), cascade)
        self._reconciler.untrack(request.name)
        self._controller.on_deleted(request.name)
        self._apps.delete(
            request.name,
            actor=current_username(),
            detail="its resources deleted" if cascade else "its resources left in the cluster",
        )
        return apppb.DeleteApplicationResponse()

    # -- comparing and rendering -------------------------------------------------------

    @rpc
    def Refresh(
        self, request: apppb.RefreshApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.Application:
        return self._controller.refresh(request.name, hard=request.hard)

    @rpc
    def Manifests(
        self, request: apppb.ManifestsRequest, context: grpc.ServicerContext
    ) -> apppb.ManifestsResponse:
        import json

        app = self._apps.get(request.name)
        try:
            render = self._controller.render(app, revision=request.revision or None)
        except SourceError as exc:
            raise Unavailable(f"rendering failed: {exc}") from None
        reply = apppb.ManifestsResponse(
            manifests=[json.dumps(m, sort_keys=True) for m in render.manifests],
            revision=render.revision,
            source_type=render.source_type,
            warnings=render.warnings,
        )
        if render.commit is not None:
            c = render.commit
            reply.commit.sha, reply.commit.author, reply.commit.date, reply.commit.message = (
                c.sha,
                c.author,
                c.date,
                c.message,
            )
        return reply

    @rpc
    def Diff(
        self, request: apppb.DiffApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.DiffApplicationResponse:
        app = self._apps.get(request.name)
        local = None
        if request.local_files:
            total = sum(len(f.content) for f in request.local_files)
            if total > MAX_LOCAL_FILES_BYTES:
                raise InvalidArgument(
                    f"local files: {total} bytes is over the {MAX_LOCAL_FILES_BYTES}-byte limit"
                )
            local = {f.path: f.content for f in request.local_files}
        try:
            render = self._controller.render(
                app,
                revision=request.revision or None,
                local_files=local,
                local_path=request.local_path or ".",
            )
            _, comparison = self._controller.compare(app, render)
        except SourceError as exc:
            raise InvalidArgument(f"rendering failed: {exc}") from None
        except KubeError as exc:
            raise Unavailable(f"cluster: {exc}") from None
        items = [resource_diff(r) for r in comparison.result.resources]
        modified = any(
            i.diff or i.status in ("OutOfSync", "Missing", "Extraneous") for i in items if not i.hook
        )
        return apppb.DiffApplicationResponse(items=items, modified=modified, revision=render.revision)

    @rpc
    def ManagedResources(
        self, request: apppb.ManagedResourcesRequest, context: grpc.ServicerContext
    ) -> apppb.ManagedResourcesResponse:
        app = self._apps.get(request.name)
        try:
            render = self._controller.render(app)
            _, comparison = self._controller.compare(app, render)
        except SourceError as exc:
            raise Unavailable(f"rendering failed: {exc}") from None
        except KubeError as exc:
            raise Unavailable(f"cluster: {exc}") from None
        items = [
            resource_diff(r)
            for r in comparison.result.resources
            if (not request.kind or r.key.kind == request.kind)
            and (not request.group or r.key.group == request.group)
            and (not request.namespace or r.key.namespace == request.namespace)
            and (not request.resource_name or r.key.name == request.resource_name)
        ]
        return apppb.ManagedResourcesResponse(items=items)

    # -- operations ------------------------------------------------------------------------

    @rpc
    def Sync(self, request: apppb.SyncApplicationRequest, context: grpc.ServicerContext) -> apppb.Application:
        for i, r in enumerate(request.resources):
            if not r.kind or not r.name:
                raise InvalidArgument(f"resources[{i}]: kind and name are required (GROUP:KIND:NAME)")
        return self._controller.sync(request, self._initiator(context))

    @rpc
    def TerminateOperation(
        self, request: apppb.TerminateOperationRequest, context: grpc.ServicerContext
    ) -> apppb.TerminateOperationResponse:
        self._controller.terminate(request.name)
        return apppb.TerminateOperationResponse()

    @rpc
    def History(self, request: apppb.HistoryRequest, context: grpc.ServicerContext) -> apppb.HistoryResponse:
        self._apps.get(request.name)
        return apppb.HistoryResponse(items=self._controller.history.list(request.name))

    @rpc
    def Rollback(
        self, request: apppb.RollbackApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.Application:
        return self._controller.rollback(
            request.name,
            request.id,
            request.dry_run,
            request.prune,
            self._initiator(context, kind="rollback"),
        )

    @rpc
    def ListEvents(
        self, request: apppb.ListEventsRequest, context: grpc.ServicerContext
    ) -> apppb.ListEventsResponse:
        if request.limit < 0:
            raise InvalidArgument(f"limit: must not be negative, got {request.limit}")
        # The log outlives a deleted application: only its name is needed (RBAC checked it).
        if not request.name:
            raise InvalidArgument("name: required")
        items = self._apps.event_log.list(request.name, request.limit)
        if not items:
            # A name with no log at all: an application that exists and has no events yet, or none
            # that ever existed (a typo), which is NOT_FOUND as `app get` says.
            self._apps.get(request.name)
        return apppb.ListEventsResponse(items=items)

    async def Watch(  # type: ignore[override]  # served by the asyncio server (grpc_server.py)
        self, request: apppb.WatchApplicationsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[apppb.ApplicationEvent]:
        """Waits on the event bus without a thread (gitopsd.server.watch_feed): the bus wakes this
        stream's task through the loop, so a thousand open watches cost no worker thread."""
        feed = WatchFeed(self._events, request.name, frozenset(request.projects))
        try:
            if request.send_initial:
                loop = asyncio.get_running_loop()
                try:
                    apps = await loop.run_in_executor(None, self._initial_apps, request)
                except AppError as exc:  # e.g. NotFound for send_initial of a missing app
                    end(context, status_for(exc), str(exc))
                    return
                for app in apps:
                    yield apppb.ApplicationEvent(type="ADDED", application=app, timestamp=utcnow())
            async for event in feed.events():
                yield event
        finally:
            feed.close()

    def _initial_apps(self, request: apppb.WatchApplicationsRequest) -> list[apppb.Application]:
        return [self._apps.get(request.name)] if request.name else self._apps.list(request.projects)
