"""ApplicationSetService: protobuf requests <-> the ApplicationSet controller. Thin by design."""

from __future__ import annotations

import grpc

from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.api.gitopsd.v1 import applicationset_pb2_grpc as asgrpc
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.app.documents import parse_manifest
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.generators.appset_build import GenerationError
from gitopsd.app.generators.appset_controller import AppSetController
from gitopsd.server.servicers.base import rpc


def _appset_of(
    request: aspb.CreateApplicationSetRequest | aspb.GenerateApplicationSetRequest,
) -> aspb.ApplicationSet:
    # The auth interceptor has already parsed a manifest into request.applicationset (see permissions.py).
    if request.manifest:
        if request.HasField("applicationset"):
            raise InvalidArgument("send either applicationset or manifest, not both")
        return parse_manifest(request.manifest, aspb.ApplicationSet(), "ApplicationSet")
    if not request.HasField("applicationset"):
        raise InvalidArgument("applicationset: required")
    return request.applicationset


class ApplicationSetServicer(asgrpc.ApplicationSetServiceServicer):
    def __init__(self, controller: AppSetController) -> None:
        self._controller = controller

    @rpc
    def Create(
        self, request: aspb.CreateApplicationSetRequest, context: grpc.ServicerContext
    ) -> aspb.ApplicationSet:
        stored, _ = self._controller.appsets.create(_appset_of(request), upsert=request.upsert)
        # Generated now, so the reply (and `appset create`) shows what the set made or why it could not.
        return self._controller.reconcile(stored.metadata.name)

    @rpc
    def Get(
        self, request: aspb.GetApplicationSetRequest, context: grpc.ServicerContext
    ) -> aspb.ApplicationSet:
        return self._controller.with_resources(self._controller.appsets.get(request.name))

    @rpc
    def List(
        self, request: aspb.ListApplicationSetsRequest, context: grpc.ServicerContext
    ) -> aspb.ApplicationSetList:
        items = self._controller.appsets.list(request.projects, request.selector)
        return aspb.ApplicationSetList(items=[self._controller.with_resources(s) for s in items])

    @rpc
    def Delete(
        self, request: aspb.DeleteApplicationSetRequest, context: grpc.ServicerContext
    ) -> common_pb2.Empty:
        self._controller.delete(request.name)
        return common_pb2.Empty()

    @rpc
    def Generate(
        self, request: aspb.GenerateApplicationSetRequest, context: grpc.ServicerContext
    ) -> aspb.GenerateApplicationSetResponse:
        appset = self._controller.appsets.check(_appset_of(request))
        try:
            generated = self._controller.generate(appset, remember=False)
        except GenerationError as exc:
            raise InvalidArgument(str(exc)) from None
        return aspb.GenerateApplicationSetResponse(applications=generated.applications)
