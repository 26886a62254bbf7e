from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class VersionInfo(_message.Message):
    __slots__ = ("version", "python_version", "platform", "api_version", "renderers", "kubernetes_client_version")
    class RenderersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PYTHON_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    RENDERERS_FIELD_NUMBER: _ClassVar[int]
    KUBERNETES_CLIENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    version: str
    python_version: str
    platform: str
    api_version: str
    renderers: _containers.ScalarMap[str, str]
    kubernetes_client_version: str
    def __init__(self, version: _Optional[str] = ..., python_version: _Optional[str] = ..., platform: _Optional[str] = ..., api_version: _Optional[str] = ..., renderers: _Optional[_Mapping[str, str]] = ..., kubernetes_client_version: _Optional[str] = ...) -> None: ...
