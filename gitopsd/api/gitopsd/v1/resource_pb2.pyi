from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourcesQuery(_message.Message):
    __slots__ = ("application_name",)
    APPLICATION_NAME_FIELD_NUMBER: _ClassVar[int]
    application_name: str
    def __init__(self, application_name: _Optional[str] = ...) -> None: ...

class InfoItem(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ResourceNode(_message.Message):
    __slots__ = ("group", "version", "kind", "namespace", "name", "uid", "parent_refs", "info", "resource_version", "images", "health", "created_at", "sync_status")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    PARENT_REFS_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SYNC_STATUS_FIELD_NUMBER: _ClassVar[int]
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    uid: str
    parent_refs: _containers.RepeatedCompositeFieldContainer[_common_pb2.ResourceRef]
    info: _containers.RepeatedCompositeFieldContainer[InfoItem]
    resource_version: str
    images: _containers.RepeatedScalarFieldContainer[str]
    health: _common_pb2.HealthStatus
    created_at: str
    sync_status: str
    def __init__(self, group: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ..., parent_refs: _Optional[_Iterable[_Union[_common_pb2.ResourceRef, _Mapping]]] = ..., info: _Optional[_Iterable[_Union[InfoItem, _Mapping]]] = ..., resource_version: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., health: _Optional[_Union[_common_pb2.HealthStatus, _Mapping]] = ..., created_at: _Optional[str] = ..., sync_status: _Optional[str] = ...) -> None: ...

class ApplicationTree(_message.Message):
    __slots__ = ("nodes",)
    NODES_FIELD_NUMBER: _ClassVar[int]
    nodes: _containers.RepeatedCompositeFieldContainer[ResourceNode]
    def __init__(self, nodes: _Optional[_Iterable[_Union[ResourceNode, _Mapping]]] = ...) -> None: ...

class ResourceEventsQuery(_message.Message):
    __slots__ = ("name", "resource_namespace", "resource_name", "resource_uid")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_UID_FIELD_NUMBER: _ClassVar[int]
    name: str
    resource_namespace: str
    resource_name: str
    resource_uid: str
    def __init__(self, name: _Optional[str] = ..., resource_namespace: _Optional[str] = ..., resource_name: _Optional[str] = ..., resource_uid: _Optional[str] = ...) -> None: ...

class EventSource(_message.Message):
    __slots__ = ("component", "host")
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    component: str
    host: str
    def __init__(self, component: _Optional[str] = ..., host: _Optional[str] = ...) -> None: ...

class ObjectReference(_message.Message):
    __slots__ = ("kind", "namespace", "name", "uid", "api_version", "field_path")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    FIELD_PATH_FIELD_NUMBER: _ClassVar[int]
    kind: str
    namespace: str
    name: str
    uid: str
    api_version: str
    field_path: str
    def __init__(self, kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ..., api_version: _Optional[str] = ..., field_path: _Optional[str] = ...) -> None: ...

class KubeEvent(_message.Message):
    __slots__ = ("metadata", "involved_object", "reason", "message", "source", "first_timestamp", "last_timestamp", "count", "type", "reporting_component")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    INVOLVED_OBJECT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FIRST_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LAST_TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REPORTING_COMPONENT_FIELD_NUMBER: _ClassVar[int]
    metadata: _common_pb2.ObjectMeta
    involved_object: ObjectReference
    reason: str
    message: str
    source: EventSource
    first_timestamp: str
    last_timestamp: str
    count: int
    type: str
    reporting_component: str
    def __init__(self, metadata: _Optional[_Union[_common_pb2.ObjectMeta, _Mapping]] = ..., involved_object: _Optional[_Union[ObjectReference, _Mapping]] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., source: _Optional[_Union[EventSource, _Mapping]] = ..., first_timestamp: _Optional[str] = ..., last_timestamp: _Optional[str] = ..., count: _Optional[int] = ..., type: _Optional[str] = ..., reporting_component: _Optional[str] = ...) -> None: ...

class KubeEventList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[KubeEvent]
    def __init__(self, items: _Optional[_Iterable[_Union[KubeEvent, _Mapping]]] = ...) -> None: ...

class ApplicationPodLogsQuery(_message.Message):
    __slots__ = ("name", "namespace", "pod_name", "container", "since_seconds", "tail_lines", "follow", "kind", "group", "resource_name", "previous")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    SINCE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    TAIL_LINES_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    pod_name: str
    container: str
    since_seconds: int
    tail_lines: int
    follow: bool
    kind: str
    group: str
    resource_name: str
    previous: bool
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ..., pod_name: _Optional[str] = ..., container: _Optional[str] = ..., since_seconds: _Optional[int] = ..., tail_lines: _Optional[int] = ..., follow: _Optional[bool] = ..., kind: _Optional[str] = ..., group: _Optional[str] = ..., resource_name: _Optional[str] = ..., previous: _Optional[bool] = ...) -> None: ...

class LogEntry(_message.Message):
    __slots__ = ("content", "time_stamp", "last", "pod_name")
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    TIME_STAMP_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    POD_NAME_FIELD_NUMBER: _ClassVar[int]
    content: str
    time_stamp: str
    last: bool
    pod_name: str
    def __init__(self, content: _Optional[str] = ..., time_stamp: _Optional[str] = ..., last: _Optional[bool] = ..., pod_name: _Optional[str] = ...) -> None: ...

class ApplicationResourceRequest(_message.Message):
    __slots__ = ("name", "namespace", "resource_name", "version", "group", "kind")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    resource_name: str
    version: str
    group: str
    kind: str
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ..., resource_name: _Optional[str] = ..., version: _Optional[str] = ..., group: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class ApplicationResourceResponse(_message.Message):
    __slots__ = ("manifest",)
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    manifest: str
    def __init__(self, manifest: _Optional[str] = ...) -> None: ...

class ApplicationResourcePatchRequest(_message.Message):
    __slots__ = ("name", "namespace", "resource_name", "version", "group", "kind", "patch", "patch_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    PATCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    resource_name: str
    version: str
    group: str
    kind: str
    patch: str
    patch_type: str
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ..., resource_name: _Optional[str] = ..., version: _Optional[str] = ..., group: _Optional[str] = ..., kind: _Optional[str] = ..., patch: _Optional[str] = ..., patch_type: _Optional[str] = ...) -> None: ...

class ApplicationResourceDeleteRequest(_message.Message):
    __slots__ = ("name", "namespace", "resource_name", "version", "group", "kind", "force", "orphan")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    ORPHAN_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    resource_name: str
    version: str
    group: str
    kind: str
    force: bool
    orphan: bool
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ..., resource_name: _Optional[str] = ..., version: _Optional[str] = ..., group: _Optional[str] = ..., kind: _Optional[str] = ..., force: _Optional[bool] = ..., orphan: _Optional[bool] = ...) -> None: ...

class ApplicationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ResourceAction(_message.Message):
    __slots__ = ("name", "disabled", "display_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    disabled: bool
    display_name: str
    def __init__(self, name: _Optional[str] = ..., disabled: _Optional[bool] = ..., display_name: _Optional[str] = ...) -> None: ...

class ResourceActionsListResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[ResourceAction]
    def __init__(self, actions: _Optional[_Iterable[_Union[ResourceAction, _Mapping]]] = ...) -> None: ...

class ResourceActionRunRequest(_message.Message):
    __slots__ = ("name", "namespace", "resource_name", "version", "group", "kind", "action")
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    resource_name: str
    version: str
    group: str
    kind: str
    action: str
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ..., resource_name: _Optional[str] = ..., version: _Optional[str] = ..., group: _Optional[str] = ..., kind: _Optional[str] = ..., action: _Optional[str] = ...) -> None: ...

class ApplicationPatchRequest(_message.Message):
    __slots__ = ("name", "patch", "patch_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    PATCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    patch: str
    patch_type: str
    def __init__(self, name: _Optional[str] = ..., patch: _Optional[str] = ..., patch_type: _Optional[str] = ...) -> None: ...
