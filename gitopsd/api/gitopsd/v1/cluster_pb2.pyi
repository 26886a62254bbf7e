from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TLSClientConfig(_message.Message):
    __slots__ = ("insecure", "server_name", "ca_data", "cert_data", "key_data")
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    CA_DATA_FIELD_NUMBER: _ClassVar[int]
    CERT_DATA_FIELD_NUMBER: _ClassVar[int]
    KEY_DATA_FIELD_NUMBER: _ClassVar[int]
    insecure: bool
    server_name: str
    ca_data: bytes
    cert_data: bytes
    key_data: bytes
    def __init__(self, insecure: _Optional[bool] = ..., server_name: _Optional[str] = ..., ca_data: _Optional[bytes] = ..., cert_data: _Optional[bytes] = ..., key_data: _Optional[bytes] = ...) -> None: ...

class ClusterConfig(_message.Message):
    __slots__ = ("bearer_token", "username", "password", "tls_client_config", "has_bearer_token", "has_client_certificate", "has_ca")
    BEARER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    TLS_CLIENT_CONFIG_FIELD_NUMBER: _ClassVar[int]
    HAS_BEARER_TOKEN_FIELD_NUMBER: _ClassVar[int]
    HAS_CLIENT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    HAS_CA_FIELD_NUMBER: _ClassVar[int]
    bearer_token: str
    username: str
    password: str
    tls_client_config: TLSClientConfig
    has_bearer_token: bool
    has_client_certificate: bool
    has_ca: bool
    def __init__(self, bearer_token: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., tls_client_config: _Optional[_Union[TLSClientConfig, _Mapping]] = ..., has_bearer_token: _Optional[bool] = ..., has_client_certificate: _Optional[bool] = ..., has_ca: _Optional[bool] = ...) -> None: ...

class ClusterInfo(_message.Message):
    __slots__ = ("server_version", "connection_state", "applications_count")
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_COUNT_FIELD_NUMBER: _ClassVar[int]
    server_version: str
    connection_state: _common_pb2.ConnectionState
    applications_count: int
    def __init__(self, server_version: _Optional[str] = ..., connection_state: _Optional[_Union[_common_pb2.ConnectionState, _Mapping]] = ..., applications_count: _Optional[int] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("server", "name", "config", "namespaces", "labels", "annotations", "info", "project")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SERVER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    server: str
    name: str
    config: ClusterConfig
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    info: ClusterInfo
    project: str
    def __init__(self, server: _Optional[str] = ..., name: _Optional[str] = ..., config: _Optional[_Union[ClusterConfig, _Mapping]] = ..., namespaces: _Optional[_Iterable[str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., info: _Optional[_Union[ClusterInfo, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class ClusterList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Cluster]
    def __init__(self, items: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ...) -> None: ...

class CreateClusterRequest(_message.Message):
    __slots__ = ("cluster", "upsert")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    upsert: bool
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ..., upsert: _Optional[bool] = ...) -> None: ...

class GetClusterRequest(_message.Message):
    __slots__ = ("name", "server")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    name: str
    server: str
    def __init__(self, name: _Optional[str] = ..., server: _Optional[str] = ...) -> None: ...

class ListClustersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateClusterRequest(_message.Message):
    __slots__ = ("cluster",)
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ...) -> None: ...

class DeleteClusterRequest(_message.Message):
    __slots__ = ("name", "server", "force")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    server: str
    force: bool
    def __init__(self, name: _Optional[str] = ..., server: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...
