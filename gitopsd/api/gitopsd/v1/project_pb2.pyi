from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppProject(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _common_pb2.ObjectMeta
    spec: AppProjectSpec
    status: AppProjectStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_common_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[AppProjectSpec, _Mapping]] = ..., status: _Optional[_Union[AppProjectStatus, _Mapping]] = ...) -> None: ...

class AppProjectList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[AppProject]
    def __init__(self, items: _Optional[_Iterable[_Union[AppProject, _Mapping]]] = ...) -> None: ...

class GroupKind(_message.Message):
    __slots__ = ("group", "kind")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    group: str
    kind: str
    def __init__(self, group: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class ProjectDestination(_message.Message):
    __slots__ = ("server", "namespace", "name")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    server: str
    namespace: str
    name: str
    def __init__(self, server: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class JWTToken(_message.Message):
    __slots__ = ("iat", "exp", "id")
    IAT_FIELD_NUMBER: _ClassVar[int]
    EXP_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    iat: int
    exp: int
    id: str
    def __init__(self, iat: _Optional[int] = ..., exp: _Optional[int] = ..., id: _Optional[str] = ...) -> None: ...

class ProjectRole(_message.Message):
    __slots__ = ("name", "description", "policies", "jwt_tokens", "groups")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    JWT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    policies: _containers.RepeatedScalarFieldContainer[str]
    jwt_tokens: _containers.RepeatedCompositeFieldContainer[JWTToken]
    groups: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., policies: _Optional[_Iterable[str]] = ..., jwt_tokens: _Optional[_Iterable[_Union[JWTToken, _Mapping]]] = ..., groups: _Optional[_Iterable[str]] = ...) -> None: ...

class OrphanedResourcesMonitorSettings(_message.Message):
    __slots__ = ("warn",)
    WARN_FIELD_NUMBER: _ClassVar[int]
    warn: bool
    def __init__(self, warn: _Optional[bool] = ...) -> None: ...

class SyncWindow(_message.Message):
    __slots__ = ("kind", "schedule", "duration", "applications", "namespaces", "clusters", "manual_sync", "time_zone")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    MANUAL_SYNC_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    schedule: str
    duration: str
    applications: _containers.RepeatedScalarFieldContainer[str]
    namespaces: _containers.RepeatedScalarFieldContainer[str]
    clusters: _containers.RepeatedScalarFieldContainer[str]
    manual_sync: bool
    time_zone: str
    def __init__(self, kind: _Optional[str] = ..., schedule: _Optional[str] = ..., duration: _Optional[str] = ..., applications: _Optional[_Iterable[str]] = ..., namespaces: _Optional[_Iterable[str]] = ..., clusters: _Optional[_Iterable[str]] = ..., manual_sync: _Optional[bool] = ..., time_zone: _Optional[str] = ...) -> None: ...

class AppProjectSpec(_message.Message):
    __slots__ = ("source_repos", "destinations", "description", "roles", "cluster_resource_whitelist", "cluster_resource_blacklist", "namespace_resource_whitelist", "namespace_resource_blacklist", "orphaned_resources", "sync_windows", "source_namespaces")
    SOURCE_REPOS_FIELD_NUMBER: _ClassVar[int]
    DESTINATIONS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_RESOURCE_WHITELIST_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_RESOURCE_BLACKLIST_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_RESOURCE_WHITELIST_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_RESOURCE_BLACKLIST_FIELD_NUMBER: _ClassVar[int]
    ORPHANED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SYNC_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_NAMESPACES_FIELD_NUMBER: _ClassVar[int]
    source_repos: _containers.RepeatedScalarFieldContainer[str]
    destinations: _containers.RepeatedCompositeFieldContainer[ProjectDestination]
    description: str
    roles: _containers.RepeatedCompositeFieldContainer[ProjectRole]
    cluster_resource_whitelist: _containers.RepeatedCompositeFieldContainer[GroupKind]
    cluster_resource_blacklist: _containers.RepeatedCompositeFieldContainer[GroupKind]
    namespace_resource_whitelist: _containers.RepeatedCompositeFieldContainer[GroupKind]
    namespace_resource_blacklist: _containers.RepeatedCompositeFieldContainer[GroupKind]
    orphaned_resources: OrphanedResourcesMonitorSettings
    sync_windows: _containers.RepeatedCompositeFieldContainer[SyncWindow]
    source_namespaces: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, source_repos: _Optional[_Iterable[str]] = ..., destinations: _Optional[_Iterable[_Union[ProjectDestination, _Mapping]]] = ..., description: _Optional[str] = ..., roles: _Optional[_Iterable[_Union[ProjectRole, _Mapping]]] = ..., cluster_resource_whitelist: _Optional[_Iterable[_Union[GroupKind, _Mapping]]] = ..., cluster_resource_blacklist: _Optional[_Iterable[_Union[GroupKind, _Mapping]]] = ..., namespace_resource_whitelist: _Optional[_Iterable[_Union[GroupKind, _Mapping]]] = ..., namespace_resource_blacklist: _Optional[_Iterable[_Union[GroupKind, _Mapping]]] = ..., orphaned_resources: _Optional[_Union[OrphanedResourcesMonitorSettings, _Mapping]] = ..., sync_windows: _Optional[_Iterable[_Union[SyncWindow, _Mapping]]] = ..., source_namespaces: _Optional[_Iterable[str]] = ...) -> None: ...

class AppProjectStatus(_message.Message):
    __slots__ = ("jwt_tokens_by_role", "sync_windows")
    class JwtTokensByRoleEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: JWTTokenList
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[JWTTokenList, _Mapping]] = ...) -> None: ...
    JWT_TOKENS_BY_ROLE_FIELD_NUMBER: _ClassVar[int]
    SYNC_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    jwt_tokens_by_role: _containers.MessageMap[str, JWTTokenList]
    sync_windows: _containers.RepeatedCompositeFieldContainer[SyncWindowState]
    def __init__(self, jwt_tokens_by_role: _Optional[_Mapping[str, JWTTokenList]] = ..., sync_windows: _Optional[_Iterable[_Union[SyncWindowState, _Mapping]]] = ...) -> None: ...

class JWTTokenList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[JWTToken]
    def __init__(self, items: _Optional[_Iterable[_Union[JWTToken, _Mapping]]] = ...) -> None: ...

class CreateProjectRequest(_message.Message):
    __slots__ = ("project", "upsert", "manifest")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    project: AppProject
    upsert: bool
    manifest: str
    def __init__(self, project: _Optional[_Union[AppProject, _Mapping]] = ..., upsert: _Optional[bool] = ..., manifest: _Optional[str] = ...) -> None: ...

class ListProjectsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UpdateProjectRequest(_message.Message):
    __slots__ = ("project",)
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    project: AppProject
    def __init__(self, project: _Optional[_Union[AppProject, _Mapping]] = ...) -> None: ...

class CreateProjectTokenRequest(_message.Message):
    __slots__ = ("project", "role", "expires_in", "id", "description")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    project: str
    role: str
    expires_in: int
    id: str
    description: str
    def __init__(self, project: _Optional[str] = ..., role: _Optional[str] = ..., expires_in: _Optional[int] = ..., id: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CreateProjectTokenResponse(_message.Message):
    __slots__ = ("token", "id", "issued_at", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    id: str
    issued_at: int
    expires_at: int
    def __init__(self, token: _Optional[str] = ..., id: _Optional[str] = ..., issued_at: _Optional[int] = ..., expires_at: _Optional[int] = ...) -> None: ...

class DeleteProjectTokenRequest(_message.Message):
    __slots__ = ("project", "role", "id", "iat")
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IAT_FIELD_NUMBER: _ClassVar[int]
    project: str
    role: str
    id: str
    iat: int
    def __init__(self, project: _Optional[str] = ..., role: _Optional[str] = ..., id: _Optional[str] = ..., iat: _Optional[int] = ...) -> None: ...

class SyncWindowState(_message.Message):
    __slots__ = ("index", "window", "active", "active_until", "next_start")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    NEXT_START_FIELD_NUMBER: _ClassVar[int]
    index: int
    window: SyncWindow
    active: bool
    active_until: str
    next_start: str
    def __init__(self, index: _Optional[int] = ..., window: _Optional[_Union[SyncWindow, _Mapping]] = ..., active: _Optional[bool] = ..., active_until: _Optional[str] = ..., next_start: _Optional[str] = ...) -> None: ...
