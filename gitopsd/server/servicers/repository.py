"""RepositoryService: repositories and their credentials (write-only), refs and revision resolution.

ListRefs and ResolveRevision ask the repository with its entry's own credentials (as its
connection check does), authorized by `repositories, get, URL`. Credential templates
(CreateCredentials/ListCredentials/DeleteCredentials) are authorized on `repositories` with the
prefix as object."""

from __future__ import annotations

import grpc

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import repository_pb2 as repopb
from gitopsd.api.gitopsd.v1 import repository_pb2_grpc as repogrpc
from gitopsd.app.errors import InvalidArgument, Unavailable
from gitopsd.app.repositories import Repositories
from gitopsd.server.servicers.base import rpc
from gitopsd.sources.errors import RepoError, RepoErrorKind, SourceError
from gitopsd.sources.gitcache import RepoCache


class RepositoryServicer(repogrpc.RepositoryServiceServicer):
    def __init__(self, repos: Repositories, cache: RepoCache) -> None:
        self._repos = repos
        self._cache = cache

    @rpc
    def Create(
        self, request: repopb.CreateRepositoryRequest, context: grpc.ServicerContext
    ) -> repopb.Repository:
        if not request.HasField("repo"):
            raise InvalidArgument("repo: required")
        return self._repos.add(request.repo, upsert=request.upsert)

    @rpc
    def Get(self, request: repopb.GetRepositoryRequest, context: grpc.ServicerContext) -> repopb.Repository:
        return self._repos.get(request.repo)

    @rpc
    def List(
        self, request: repopb.ListRepositoriesRequest, context: grpc.ServicerContext
    ) -> repopb.RepositoryList:
        return repopb.RepositoryList(items=self._repos.list(check=True))

    @rpc
    def Update(
        self, request: repopb.UpdateRepositoryRequest, context: grpc.ServicerContext
    ) -> repopb.Repository:
        self._repos.get(request.repo.repo)
        return self._repos.add(request.repo, upsert=True)

    @rpc
    def Delete(self, request: repopb.GetRepositoryRequest, context: grpc.ServicerContext) -> common_pb2.Empty:
        self._repos.delete(request.repo)
        return common_pb2.Empty()

    @rpc
    def ListRefs(
        self, request: repopb.GetRepositoryRequest, context: grpc.ServicerContext
    ) -> repopb.RefsResponse:
        try:
            refs = self._cache.list_refs(request.repo, project=self._repos.scope_of(request.repo))
        except SourceError as exc:
            raise Unavailable(str(exc)) from None
        return repopb.RefsResponse(branches=sorted(refs.branches), tags=sorted(refs.tags))

    @rpc
    def ResolveRevision(
        self, request: repopb.ResolveRevisionRequest, context: grpc.ServicerContext
    ) -> common_pb2.CommitInfo:
        try:
            info = self._cache.resolve(
                request.repo, request.revision or "HEAD", project=self._repos.scope_of(request.repo)
            )
        except RepoError as exc:
            raise (InvalidArgument if exc.kind == RepoErrorKind.REVISION_NOT_FOUND else Unavailable)(
                str(exc)
            ) from None
        except SourceError as exc:
            raise Unavailable(str(exc)) from None
        return common_pb2.CommitInfo(
            sha=info.sha,
            author=info.author,
            date=info.date,
            message=info.message,
            target_revision=request.revision or "HEAD",
        )

    @rpc
    def CreateCredentials(
        self, request: repopb.CreateRepoCredsRequest, context: grpc.ServicerContext
    ) -> repopb.RepoCreds:
        if not request.HasField("creds"):
            raise InvalidArgument("creds: required")
        return self._repos.templates.add(request.creds, upsert=request.upsert)

    @rpc
    def ListCredentials(
        self, request: repopb.ListRepoCredsRequest, context: grpc.ServicerContext
    ) -> repopb.RepoCredsList:
        return repopb.RepoCredsList(items=self._repos.templates.list())

    @rpc
    def DeleteCredentials(
        self, request: repopb.DeleteRepoCredsRequest, context: grpc.ServicerContext
    ) -> common_pb2.Empty:
        self._repos.templates.delete(request.url)
        return common_pb2.Empty()
