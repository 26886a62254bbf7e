"""ApplicationService: protobuf requests <-> the application layer. Thin by design."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.app.applications import Applications
from gitopsd.app.documents import parse_manifest
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.events import EventBus
from gitopsd.server.servicers.base import rpc, unimplemented

# RPCs that need the reconcile/sync engine; they answer UNIMPLEMENTED until it lands.
_NOT_YET = {
    "Sync": "sync operations",
    "Diff": "live-state comparison",
    "ManagedResources": "live-state comparison",
    "Manifests": "rendering",
    "History": "sync history",
    "Rollback": "sync history",
    "Refresh": "reconciliation",
    "TerminateOperation": "sync operations",
}


class ApplicationServicer(appgrpc.ApplicationServiceServicer):
    def __init__(self, apps: Applications, events: EventBus) -> None:
        self._apps = apps
        self._events = events

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

    @rpc
    def Create(
        self, request: apppb.CreateApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.Application:
        return self._apps.create(self._application_of(request), upsert=request.upsert)

    @rpc
    def Get(self, request: apppb.GetApplicationRequest, context: grpc.ServicerContext) -> apppb.Application:
        if request.refresh not in ("", "normal", "hard"):
            raise InvalidArgument(f"refresh: {request.refresh!r} is not one of normal, hard")
        return self._apps.get(request.name)

    @rpc
    def List(
        self, request: apppb.ListApplicationsRequest, context: grpc.ServicerContext
    ) -> apppb.ApplicationList:
        return apppb.ApplicationList(items=self._apps.list(request.projects, request.selector, request.repo))

    @rpc
    def Update(
        self, request: apppb.UpdateApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.Application:
        return self._apps.update(self._application_of(request))

    @rpc
    def Delete(
        self, request: apppb.DeleteApplicationRequest, context: grpc.ServicerContext
    ) -> apppb.DeleteApplicationResponse:
        if request.propagation_policy not in ("", "foreground", "background", "orphan"):
            raise InvalidArgument(
                f"propagationPolicy: {request.propagation_policy!r} is not foreground, background or orphan"
            )
        self._apps.delete(request.name)
        return apppb.DeleteApplicationResponse()

    def Watch(
        self, request: apppb.WatchApplicationsRequest, context: grpc.ServicerContext
    ) -> Iterator[apppb.ApplicationEvent]:
        sub = self._events.subscribe(request.name, frozenset(request.projects))
        try:
            if request.send_initial:
                apps = [self._apps.get(request.name)] if request.name else self._apps.list(request.projects)
                for app in apps:
                    yield apppb.ApplicationEvent(type="ADDED", application=app)
            while context.is_active():
                try:
                    event = sub.queue.get(timeout=1.0)
                except queue.Empty:
                    continue
                if event is None:  # the daemon is stopping
                    return
                yield event
        finally:
            self._events.unsubscribe(sub)


for _name, _feature in _NOT_YET.items():
    setattr(ApplicationServicer, _name, unimplemented("ApplicationService", _name, _feature))
