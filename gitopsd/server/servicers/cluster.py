"""ClusterService: register, inspect and remove clusters. Credentials go in, never out."""

from __future__ import annotations

import grpc

from gitopsd.api.gitopsd.v1 import cluster_pb2 as clpb
from gitopsd.api.gitopsd.v1 import cluster_pb2_grpc as clgrpc
from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.app.clusters import Clusters
from gitopsd.app.errors import InvalidArgument
from gitopsd.server.servicers.base import rpc


class ClusterServicer(clgrpc.ClusterServiceServicer):
    def __init__(self, clusters: Clusters) -> None:
        self._clusters = clusters

    @rpc
    def Create(self, request: clpb.CreateClusterRequest, context: grpc.ServicerContext) -> clpb.Cluster:
        if not request.HasField("cluster"):
            raise InvalidArgument("cluster: required")
        created = self._clusters.add(request.cluster, upsert=request.upsert)
        self._clusters.check(created.server)
        return self._clusters.get(server=created.server)

    @rpc
    def Get(self, request: clpb.GetClusterRequest, context: grpc.ServicerContext) -> clpb.Cluster:
        return self._clusters.get(name=request.name, server=request.server)

    @rpc
    def List(self, request: clpb.ListClustersRequest, context: grpc.ServicerContext) -> clpb.ClusterList:
        return clpb.ClusterList(items=self._clusters.list(check=True))

    @rpc
    def Update(self, request: clpb.UpdateClusterRequest, context: grpc.ServicerContext) -> clpb.Cluster:
        self._clusters.get(server=request.cluster.server)  # NOT_FOUND before anything changes
        return self._clusters.add(request.cluster, upsert=True)

    @rpc
    def Delete(self, request: clpb.DeleteClusterRequest, context: grpc.ServicerContext) -> common_pb2.Empty:
        self._clusters.delete(name=request.name, server=request.server, force=request.force)
        return common_pb2.Empty()
