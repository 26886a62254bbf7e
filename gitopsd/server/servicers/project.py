"""ProjectService: AppProject CRUD (tokens arrive with authentication)."""

from __future__ import annotations

import grpc

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import project_pb2_grpc as projgrpc
from gitopsd.app.documents import parse_manifest
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.projects import Projects
from gitopsd.server.servicers.base import rpc, unimplemented


class ProjectServicer(projgrpc.ProjectServiceServicer):
    def __init__(self, projects: Projects) -> None:
        self._projects = projects

    @rpc
    def Create(
        self, request: projpb.CreateProjectRequest, context: grpc.ServicerContext
    ) -> projpb.AppProject:
        if request.manifest:
            if request.HasField("project"):
                raise InvalidArgument("send either project or manifest, not both")
            project = parse_manifest(request.manifest, projpb.AppProject(), "AppProject")
        elif request.HasField("project"):
            project = request.project
        else:
            raise InvalidArgument("project: required")
        return self._projects.create(project, upsert=request.upsert)

    @rpc
    def Get(self, request: common_pb2.NameRequest, context: grpc.ServicerContext) -> projpb.AppProject:
        return self._projects.get(request.name)

    @rpc
    def List(
        self, request: projpb.ListProjectsRequest, context: grpc.ServicerContext
    ) -> projpb.AppProjectList:
        return projpb.AppProjectList(items=self._projects.list())

    @rpc
    def Update(
        self, request: projpb.UpdateProjectRequest, context: grpc.ServicerContext
    ) -> projpb.AppProject:
        return self._projects.update(request.project)

    @rpc
    def Delete(self, request: common_pb2.NameRequest, context: grpc.ServicerContext) -> common_pb2.Empty:
        self._projects.delete(request.name)
        return common_pb2.Empty()

    CreateToken = unimplemented("ProjectService", "CreateToken", "project roles and tokens")
    DeleteToken = unimplemented("ProjectService", "DeleteToken", "project roles and tokens")
