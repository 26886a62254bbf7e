from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Repository(_message.Message):
    __slots__ = ("repo", "type", "name", "project", "username", "password", "ssh_private_key", "tls_client_cert_data", "tls_client_cert_key", "insecure", "enable_oci", "has_credentials", "connection_state", "insecure_oci_force_http")
    REPO_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SSH_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    TLS_CLIENT_CERT_DATA_FIELD_NUMBER: _ClassVar[int]
    TLS_CLIENT_CERT_KEY_FIELD_NUMBER: _ClassVar[int]
    INSECURE_FIELD_NUMBER: _ClassVar[int]
    ENABLE_OCI_FIELD_NUMBER: _ClassVar[int]
    HAS_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    CONNECTION_STATE_FIELD_NUMBER: _ClassVar[int]
    INSECURE_OCI_FORCE_HTTP_FIELD_NUMBER: _ClassVar[int]
    repo: str
    type: str
    name: str
    project: str
    username: str
    password: str
    ssh_private_key: str
    tls_client_cert_data: str
    tls_client_cert_key: str
    insecure: bool
    enable_oci: bool
    has_credentials: bool
    connection_state: _common_pb2.ConnectionState
    insecure_oci_force_http: bool
    def __init__(self, repo: _Optional[str] = ..., type: _Optional[str] = ..., name: _Optional[str] = ..., project: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., ssh_private_key: _Optional[str] = ..., tls_client_cert_data: _Optional[str] = ..., tls_client_cert_key: _Optional[str] = ..., insecure: _Optional[bool] = ..., enable_oci: _Optional[bool] = ..., has_credentials: _Optional[bool] = ..., connection_state: _Optional[_Union[_common_pb2.ConnectionState, _Mapping]] = ..., insecure_oci_force_http: _Optional[bool] = ...) -> None: ...

class RepositoryList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Repository]
    def __init__(self, items: _Optional[_Iterable[_Union[Repository, _Mapping]]] = ...) -> None: ...

class CreateRepositoryRequest(_message.Message):
    __slots__ = ("repo", "upsert")
    REPO_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    repo: Repository
    upsert: bool
    def __init__(self, repo: _Optional[_Union[Repository, _Mapping]] = ..., upsert: _Optional[bool] = ...) -> None: ...

class GetRepositoryRequest(_message.Message):
    __slots__ = ("repo",)
    REPO_FIELD_NUMBER: _ClassVar[int]
    repo: str
    def __init__(self, repo: _Optional[str] = ...) -> None: ...

class ListRepositoriesRequest(_message.Message):
    __slots__ = ("force_refresh",)
    FORCE_REFRESH_FIELD_NUMBER: _ClassVar[int]
    force_refresh: bool
    def __init__(self, force_refresh: _Optional[bool] = ...) -> None: ...

class UpdateRepositoryRequest(_message.Message):
    __slots__ = ("repo",)
    REPO_FIELD_NUMBER: _ClassVar[int]
    repo: Repository
    def __init__(self, repo: _Optional[_Union[Repository, _Mapping]] = ...) -> None: ...

class RefsResponse(_message.Message):
    __slots__ = ("branches", "tags")
    BRANCHES_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    branches: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, branches: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ResolveRevisionRequest(_message.Message):
    __slots__ = ("repo", "revision")
    REPO_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    repo: str
    revision: str
    def __init__(self, repo: _Optional[str] = ..., revision: _Optional[str] = ...) -> None: ...

class RepoCreds(_message.Message):
    __slots__ = ("url", "type", "username", "password", "ssh_private_key", "tls_client_cert_data", "tls_client_cert_key", "has_credentials")
    URL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SSH_PRIVATE_KEY_FIELD_NUMBER: _ClassVar[int]
    TLS_CLIENT_CERT_DATA_FIELD_NUMBER: _ClassVar[int]
    TLS_CLIENT_CERT_KEY_FIELD_NUMBER: _ClassVar[int]
    HAS_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    url: str
    type: str
    username: str
    password: str
    ssh_private_key: str
    tls_client_cert_data: str
    tls_client_cert_key: str
    has_credentials: bool
    def __init__(self, url: _Optional[str] = ..., type: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., ssh_private_key: _Optional[str] = ..., tls_client_cert_data: _Optional[str] = ..., tls_client_cert_key: _Optional[str] = ..., has_credentials: _Optional[bool] = ...) -> None: ...

class RepoCredsList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RepoCreds]
    def __init__(self, items: _Optional[_Iterable[_Union[RepoCreds, _Mapping]]] = ...) -> None: ...

class CreateRepoCredsRequest(_message.Message):
    __slots__ = ("creds", "upsert")
    CREDS_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    creds: RepoCreds
    upsert: bool
    def __init__(self, creds: _Optional[_Union[RepoCreds, _Mapping]] = ..., upsert: _Optional[bool] = ...) -> None: ...

class ListRepoCredsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteRepoCredsRequest(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...
