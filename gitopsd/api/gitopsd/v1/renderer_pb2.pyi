from gitopsd.api.gitopsd.v1 import application_pb2 as _application_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CapabilitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Capabilities(_message.Message):
    __slots__ = ("name", "version", "source_types", "tool_versions")
    class ToolVersionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPES_FIELD_NUMBER: _ClassVar[int]
    TOOL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    source_types: _containers.RepeatedScalarFieldContainer[str]
    tool_versions: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., source_types: _Optional[_Iterable[str]] = ..., tool_versions: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SourceFile(_message.Message):
    __slots__ = ("path", "content", "executable")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EXECUTABLE_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: bytes
    executable: bool
    def __init__(self, path: _Optional[str] = ..., content: _Optional[bytes] = ..., executable: _Optional[bool] = ...) -> None: ...

class ChartReference(_message.Message):
    __slots__ = ("repo_url", "chart", "version", "username", "password", "insecure_skip_tls_verify", "plain_http")
    REPO_URL_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    INSECURE_SKIP_TLS_VERIFY_FIELD_NUMBER: _ClassVar[int]
    PLAIN_HTTP_FIELD_NUMBER: _ClassVar[int]
    repo_url: str
    chart: str
    version: str
    username: str
    password: str
    insecure_skip_tls_verify: bool
    plain_http: bool
    def __init__(self, repo_url: _Optional[str] = ..., chart: _Optional[str] = ..., version: _Optional[str] = ..., username: _Optional[str] = ..., password: _Optional[str] = ..., insecure_skip_tls_verify: _Optional[bool] = ..., plain_http: _Optional[bool] = ...) -> None: ...

class RenderLimits(_message.Message):
    __slots__ = ("max_output_bytes", "max_chart_bytes", "timeout_seconds")
    MAX_OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_CHART_BYTES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    max_output_bytes: int
    max_chart_bytes: int
    timeout_seconds: int
    def __init__(self, max_output_bytes: _Optional[int] = ..., max_chart_bytes: _Optional[int] = ..., timeout_seconds: _Optional[int] = ...) -> None: ...

class RenderRequest(_message.Message):
    __slots__ = ("source_type", "source", "files", "chart", "app_name", "namespace", "kube_version", "api_versions", "revision", "limits", "dependency_credentials", "entry_files", "ref_files")
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KUBE_VERSION_FIELD_NUMBER: _ClassVar[int]
    API_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    DEPENDENCY_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FILES_FIELD_NUMBER: _ClassVar[int]
    REF_FILES_FIELD_NUMBER: _ClassVar[int]
    source_type: str
    source: _application_pb2.ApplicationSource
    files: _containers.RepeatedCompositeFieldContainer[SourceFile]
    chart: ChartReference
    app_name: str
    namespace: str
    kube_version: str
    api_versions: _containers.RepeatedScalarFieldContainer[str]
    revision: str
    limits: RenderLimits
    dependency_credentials: _containers.RepeatedCompositeFieldContainer[ChartReference]
    entry_files: _containers.RepeatedScalarFieldContainer[str]
    ref_files: _containers.RepeatedCompositeFieldContainer[SourceFile]
    def __init__(self, source_type: _Optional[str] = ..., source: _Optional[_Union[_application_pb2.ApplicationSource, _Mapping]] = ..., files: _Optional[_Iterable[_Union[SourceFile, _Mapping]]] = ..., chart: _Optional[_Union[ChartReference, _Mapping]] = ..., app_name: _Optional[str] = ..., namespace: _Optional[str] = ..., kube_version: _Optional[str] = ..., api_versions: _Optional[_Iterable[str]] = ..., revision: _Optional[str] = ..., limits: _Optional[_Union[RenderLimits, _Mapping]] = ..., dependency_credentials: _Optional[_Iterable[_Union[ChartReference, _Mapping]]] = ..., entry_files: _Optional[_Iterable[str]] = ..., ref_files: _Optional[_Iterable[_Union[SourceFile, _Mapping]]] = ...) -> None: ...

class RenderResponse(_message.Message):
    __slots__ = ("manifests", "warnings", "resolved_version")
    MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_VERSION_FIELD_NUMBER: _ClassVar[int]
    manifests: _containers.RepeatedScalarFieldContainer[str]
    warnings: _containers.RepeatedScalarFieldContainer[str]
    resolved_version: str
    def __init__(self, manifests: _Optional[_Iterable[str]] = ..., warnings: _Optional[_Iterable[str]] = ..., resolved_version: _Optional[str] = ...) -> None: ...
