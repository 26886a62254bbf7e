from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResourceOverride(_message.Message):
    __slots__ = ("health_lua", "known_type_fields")
    HEALTH_LUA_FIELD_NUMBER: _ClassVar[int]
    KNOWN_TYPE_FIELDS_FIELD_NUMBER: _ClassVar[int]
    health_lua: str
    known_type_fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, health_lua: _Optional[str] = ..., known_type_fields: _Optional[_Iterable[str]] = ...) -> None: ...

class Settings(_message.Message):
    __slots__ = ("url", "app_label_key", "tracking_method", "resource_overrides", "user_logins_disabled", "login_max_failures", "login_failure_window", "version")
    class ResourceOverridesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: ResourceOverride
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[ResourceOverride, _Mapping]] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    APP_LABEL_KEY_FIELD_NUMBER: _ClassVar[int]
    TRACKING_METHOD_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    USER_LOGINS_DISABLED_FIELD_NUMBER: _ClassVar[int]
    LOGIN_MAX_FAILURES_FIELD_NUMBER: _ClassVar[int]
    LOGIN_FAILURE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    url: str
    app_label_key: str
    tracking_method: str
    resource_overrides: _containers.MessageMap[str, ResourceOverride]
    user_logins_disabled: bool
    login_max_failures: int
    login_failure_window: int
    version: str
    def __init__(self, url: _Optional[str] = ..., app_label_key: _Optional[str] = ..., tracking_method: _Optional[str] = ..., resource_overrides: _Optional[_Mapping[str, ResourceOverride]] = ..., user_logins_disabled: _Optional[bool] = ..., login_max_failures: _Optional[int] = ..., login_failure_window: _Optional[int] = ..., version: _Optional[str] = ...) -> None: ...
