"""ProjectService: AppProject CRUD, and tokens for project roles (auth/accounts.py issues them)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.api.gitopsd.v1 import project_pb2_grpc as projgrpc
from gitopsd.app.documents import parse_manifest
from gitopsd.app.errors import InvalidArgument
from gitopsd.app.projects import Projects
from gitopsd.app.syncwindows import project_states
from gitopsd.auth.accounts import Accounts
from gitopsd.auth.project_roles import validate_roles
from gitopsd.server.servicers.base import rpc


def _with_token_status(project: projpb.AppProject) -> projpb.AppProject:
    """status.jwtTokensByRole, as Argo CD reports it: the ids and times of each role's tokens."""
    for role in project.spec.roles:
        if role.jwt_tokens:
            project.status.jwt_tokens_by_role[role.name].items.extend(role.jwt_tokens)
    # status.syncWindows: which windows are open now (`proj windows list` shows it).
    project.status.sync_windows.extend(project_states(project, datetime.now(UTC)))
    return project


class ProjectServicer(projgrpc.ProjectServiceServicer):
    def __init__(self, projects: Projects, accounts: Accounts) -> None:
        self._projects = projects
        self._accounts = accounts

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
        validate_roles(project)
        return self._projects.create(project, upsert=request.upsert)

    @rpc
    def Get(self, request: common_pb2.NameRequest, context: grpc.ServicerContext) -> projpb.AppProject:
        return _with_token_status(self._projects.get(request.name))

    @rpc
    def List(
        self, request: projpb.ListProjectsRequest, context: grpc.ServicerContext
    ) -> projpb.AppProjectList:
        return projpb.AppProjectList(items=[_with_token_status(p) for p in self._projects.list()])

    @rpc
    def Update(
        self, request: projpb.UpdateProjectRequest, context: grpc.ServicerContext
    ) -> projpb.AppProject:
        validate_roles(request.project)
        return self._projects.update(request.project)

    @rpc
    def Delete(self, request: common_pb2.NameRequest, context: grpc.ServicerContext) -> common_pb2.Empty:
        self._projects.delete(request.name)
        return common_pb2.Empty()

    @rpc
    def CreateToken(
        self, request: projpb.CreateProjectTokenRequest, context: grpc.ServicerContext
    ) -> projpb.CreateProjectTokenResponse:
        token, claims = self._accounts.create_project_token(
            request.project, request.role, request.expires_in, request.id
        )
        return projpb.CreateProjectTokenResponse(
            token=token, id=claims.token_id, issued_at=claims.issued_at, expires_at=claims.expires_at
        )

    @rpc
    def DeleteToken(
        self, request: projpb.DeleteProjectTokenRequest, context: grpc.ServicerContext
    ) -> common_pb2.Empty:
        self._accounts.delete_project_token(request.project, request.role, request.id, request.iat)
        return common_pb2.Empty()
