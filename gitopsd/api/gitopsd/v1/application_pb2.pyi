from google.protobuf import struct_pb2 as _struct_pb2
from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from gitopsd.api.gitopsd.v1 import resource_pb2 as _resource_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as _project_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Application(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status", "operation")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _common_pb2.ObjectMeta
    spec: ApplicationSpec
    status: ApplicationStatus
    operation: Operation
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_common_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[ApplicationSpec, _Mapping]] = ..., status: _Optional[_Union[ApplicationStatus, _Mapping]] = ..., operation: _Optional[_Union[Operation, _Mapping]] = ...) -> None: ...

class ApplicationList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, items: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...

class ApplicationSpec(_message.Message):
    __slots__ = ("source", "sources", "destination", "project", "sync_policy", "ignore_differences", "info", "revision_history_limit")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    SYNC_POLICY_FIELD_NUMBER: _ClassVar[int]
    IGNORE_DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    REVISION_HISTORY_LIMIT_FIELD_NUMBER: _ClassVar[int]
    source: ApplicationSource
    sources: _containers.RepeatedCompositeFieldContainer[ApplicationSource]
    destination: ApplicationDestination
    project: str
    sync_policy: SyncPolicy
    ignore_differences: _containers.RepeatedCompositeFieldContainer[ResourceIgnoreDifferences]
    info: _containers.RepeatedCompositeFieldContainer[Info]
    revision_history_limit: int
    def __init__(self, source: _Optional[_Union[ApplicationSource, _Mapping]] = ..., sources: _Optional[_Iterable[_Union[ApplicationSource, _Mapping]]] = ..., destination: _Optional[_Union[ApplicationDestination, _Mapping]] = ..., project: _Optional[str] = ..., sync_policy: _Optional[_Union[SyncPolicy, _Mapping]] = ..., ignore_differences: _Optional[_Iterable[_Union[ResourceIgnoreDifferences, _Mapping]]] = ..., info: _Optional[_Iterable[_Union[Info, _Mapping]]] = ..., revision_history_limit: _Optional[int] = ...) -> None: ...

class Info(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ApplicationSource(_message.Message):
    __slots__ = ("repo_url", "target_revision", "path", "chart", "helm", "kustomize", "directory", "plugin", "ref", "name")
    REPO_URL_FIELD_NUMBER: _ClassVar[int]
    TARGET_REVISION_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    CHART_FIELD_NUMBER: _ClassVar[int]
    HELM_FIELD_NUMBER: _ClassVar[int]
    KUSTOMIZE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    PLUGIN_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    repo_url: str
    target_revision: str
    path: str
    chart: str
    helm: ApplicationSourceHelm
    kustomize: ApplicationSourceKustomize
    directory: ApplicationSourceDirectory
    plugin: ApplicationSourcePlugin
    ref: str
    name: str
    def __init__(self, repo_url: _Optional[str] = ..., target_revision: _Optional[str] = ..., path: _Optional[str] = ..., chart: _Optional[str] = ..., helm: _Optional[_Union[ApplicationSourceHelm, _Mapping]] = ..., kustomize: _Optional[_Union[ApplicationSourceKustomize, _Mapping]] = ..., directory: _Optional[_Union[ApplicationSourceDirectory, _Mapping]] = ..., plugin: _Optional[_Union[ApplicationSourcePlugin, _Mapping]] = ..., ref: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class HelmParameter(_message.Message):
    __slots__ = ("name", "value", "force_string")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    FORCE_STRING_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    force_string: bool
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., force_string: _Optional[bool] = ...) -> None: ...

class HelmFileParameter(_message.Message):
    __slots__ = ("name", "path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    path: str
    def __init__(self, name: _Optional[str] = ..., path: _Optional[str] = ...) -> None: ...

class ApplicationSourceHelm(_message.Message):
    __slots__ = ("value_files", "parameters", "release_name", "values", "values_object", "file_parameters", "skip_crds", "ignore_missing_value_files", "pass_credentials", "version", "namespace", "kube_version", "api_versions", "skip_tests", "skip_schema_validation")
    VALUE_FILES_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_NAME_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    VALUES_OBJECT_FIELD_NUMBER: _ClassVar[int]
    FILE_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SKIP_CRDS_FIELD_NUMBER: _ClassVar[int]
    IGNORE_MISSING_VALUE_FILES_FIELD_NUMBER: _ClassVar[int]
    PASS_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KUBE_VERSION_FIELD_NUMBER: _ClassVar[int]
    API_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SKIP_TESTS_FIELD_NUMBER: _ClassVar[int]
    SKIP_SCHEMA_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    value_files: _containers.RepeatedScalarFieldContainer[str]
    parameters: _containers.RepeatedCompositeFieldContainer[HelmParameter]
    release_name: str
    values: str
    values_object: _struct_pb2.Struct
    file_parameters: _containers.RepeatedCompositeFieldContainer[HelmFileParameter]
    skip_crds: bool
    ignore_missing_value_files: bool
    pass_credentials: bool
    version: str
    namespace: str
    kube_version: str
    api_versions: _containers.RepeatedScalarFieldContainer[str]
    skip_tests: bool
    skip_schema_validation: bool
    def __init__(self, value_files: _Optional[_Iterable[str]] = ..., parameters: _Optional[_Iterable[_Union[HelmParameter, _Mapping]]] = ..., release_name: _Optional[str] = ..., values: _Optional[str] = ..., values_object: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., file_parameters: _Optional[_Iterable[_Union[HelmFileParameter, _Mapping]]] = ..., skip_crds: _Optional[bool] = ..., ignore_missing_value_files: _Optional[bool] = ..., pass_credentials: _Optional[bool] = ..., version: _Optional[str] = ..., namespace: _Optional[str] = ..., kube_version: _Optional[str] = ..., api_versions: _Optional[_Iterable[str]] = ..., skip_tests: _Optional[bool] = ..., skip_schema_validation: _Optional[bool] = ...) -> None: ...

class KustomizeReplica(_message.Message):
    __slots__ = ("name", "count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    count: _struct_pb2.Value
    def __init__(self, name: _Optional[str] = ..., count: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class ApplicationSourceKustomize(_message.Message):
    __slots__ = ("name_prefix", "name_suffix", "images", "common_labels", "common_annotations", "version", "force_common_labels", "force_common_annotations", "namespace", "common_annotations_envsubst", "replicas", "patches", "components", "label_without_selector", "kube_version", "api_versions")
    class CommonLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CommonAnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_PREFIX_FIELD_NUMBER: _ClassVar[int]
    NAME_SUFFIX_FIELD_NUMBER: _ClassVar[int]
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    COMMON_LABELS_FIELD_NUMBER: _ClassVar[int]
    COMMON_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FORCE_COMMON_LABELS_FIELD_NUMBER: _ClassVar[int]
    FORCE_COMMON_ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    COMMON_ANNOTATIONS_ENVSUBST_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    LABEL_WITHOUT_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    KUBE_VERSION_FIELD_NUMBER: _ClassVar[int]
    API_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    name_prefix: str
    name_suffix: str
    images: _containers.RepeatedScalarFieldContainer[str]
    common_labels: _containers.ScalarMap[str, str]
    common_annotations: _containers.ScalarMap[str, str]
    version: str
    force_common_labels: bool
    force_common_annotations: bool
    namespace: str
    common_annotations_envsubst: bool
    replicas: _containers.RepeatedCompositeFieldContainer[KustomizeReplica]
    patches: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    components: _containers.RepeatedScalarFieldContainer[str]
    label_without_selector: bool
    kube_version: str
    api_versions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name_prefix: _Optional[str] = ..., name_suffix: _Optional[str] = ..., images: _Optional[_Iterable[str]] = ..., common_labels: _Optional[_Mapping[str, str]] = ..., common_annotations: _Optional[_Mapping[str, str]] = ..., version: _Optional[str] = ..., force_common_labels: _Optional[bool] = ..., force_common_annotations: _Optional[bool] = ..., namespace: _Optional[str] = ..., common_annotations_envsubst: _Optional[bool] = ..., replicas: _Optional[_Iterable[_Union[KustomizeReplica, _Mapping]]] = ..., patches: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., components: _Optional[_Iterable[str]] = ..., label_without_selector: _Optional[bool] = ..., kube_version: _Optional[str] = ..., api_versions: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplicationSourceJsonnet(_message.Message):
    __slots__ = ("ext_vars", "tlas", "libs")
    EXT_VARS_FIELD_NUMBER: _ClassVar[int]
    TLAS_FIELD_NUMBER: _ClassVar[int]
    LIBS_FIELD_NUMBER: _ClassVar[int]
    ext_vars: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    tlas: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    libs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ext_vars: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., tlas: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ..., libs: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplicationSourceDirectory(_message.Message):
    __slots__ = ("recurse", "include", "exclude", "jsonnet")
    RECURSE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    JSONNET_FIELD_NUMBER: _ClassVar[int]
    recurse: bool
    include: str
    exclude: str
    jsonnet: ApplicationSourceJsonnet
    def __init__(self, recurse: _Optional[bool] = ..., include: _Optional[str] = ..., exclude: _Optional[str] = ..., jsonnet: _Optional[_Union[ApplicationSourceJsonnet, _Mapping]] = ...) -> None: ...

class EnvEntry(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class PluginParameter(_message.Message):
    __slots__ = ("name", "string", "array", "map")
    class MapEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    STRING_FIELD_NUMBER: _ClassVar[int]
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    MAP_FIELD_NUMBER: _ClassVar[int]
    name: str
    string: str
    array: _containers.RepeatedScalarFieldContainer[str]
    map: _containers.ScalarMap[str, str]
    def __init__(self, name: _Optional[str] = ..., string: _Optional[str] = ..., array: _Optional[_Iterable[str]] = ..., map: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ApplicationSourcePlugin(_message.Message):
    __slots__ = ("name", "env", "parameters")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    env: _containers.RepeatedCompositeFieldContainer[EnvEntry]
    parameters: _containers.RepeatedCompositeFieldContainer[PluginParameter]
    def __init__(self, name: _Optional[str] = ..., env: _Optional[_Iterable[_Union[EnvEntry, _Mapping]]] = ..., parameters: _Optional[_Iterable[_Union[PluginParameter, _Mapping]]] = ...) -> None: ...

class ApplicationDestination(_message.Message):
    __slots__ = ("server", "namespace", "name")
    SERVER_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    server: str
    namespace: str
    name: str
    def __init__(self, server: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SyncPolicyAutomated(_message.Message):
    __slots__ = ("prune", "self_heal", "allow_empty", "enabled")
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    SELF_HEAL_FIELD_NUMBER: _ClassVar[int]
    ALLOW_EMPTY_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    prune: bool
    self_heal: bool
    allow_empty: bool
    enabled: bool
    def __init__(self, prune: _Optional[bool] = ..., self_heal: _Optional[bool] = ..., allow_empty: _Optional[bool] = ..., enabled: _Optional[bool] = ...) -> None: ...

class Backoff(_message.Message):
    __slots__ = ("duration", "factor", "max_duration")
    DURATION_FIELD_NUMBER: _ClassVar[int]
    FACTOR_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_FIELD_NUMBER: _ClassVar[int]
    duration: str
    factor: int
    max_duration: str
    def __init__(self, duration: _Optional[str] = ..., factor: _Optional[int] = ..., max_duration: _Optional[str] = ...) -> None: ...

class RetryStrategy(_message.Message):
    __slots__ = ("limit", "backoff")
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_FIELD_NUMBER: _ClassVar[int]
    limit: int
    backoff: Backoff
    def __init__(self, limit: _Optional[int] = ..., backoff: _Optional[_Union[Backoff, _Mapping]] = ...) -> None: ...

class ManagedNamespaceMetadata(_message.Message):
    __slots__ = ("labels", "annotations")
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
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SyncPolicy(_message.Message):
    __slots__ = ("automated", "sync_options", "retry", "managed_namespace_metadata")
    AUTOMATED_FIELD_NUMBER: _ClassVar[int]
    SYNC_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    MANAGED_NAMESPACE_METADATA_FIELD_NUMBER: _ClassVar[int]
    automated: SyncPolicyAutomated
    sync_options: _containers.RepeatedScalarFieldContainer[str]
    retry: RetryStrategy
    managed_namespace_metadata: ManagedNamespaceMetadata
    def __init__(self, automated: _Optional[_Union[SyncPolicyAutomated, _Mapping]] = ..., sync_options: _Optional[_Iterable[str]] = ..., retry: _Optional[_Union[RetryStrategy, _Mapping]] = ..., managed_namespace_metadata: _Optional[_Union[ManagedNamespaceMetadata, _Mapping]] = ...) -> None: ...

class ResourceIgnoreDifferences(_message.Message):
    __slots__ = ("group", "kind", "name", "namespace", "json_pointers", "jq_path_expressions", "managed_fields_managers")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    JSON_POINTERS_FIELD_NUMBER: _ClassVar[int]
    JQ_PATH_EXPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    MANAGED_FIELDS_MANAGERS_FIELD_NUMBER: _ClassVar[int]
    group: str
    kind: str
    name: str
    namespace: str
    json_pointers: _containers.RepeatedScalarFieldContainer[str]
    jq_path_expressions: _containers.RepeatedScalarFieldContainer[str]
    managed_fields_managers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, group: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ..., json_pointers: _Optional[_Iterable[str]] = ..., jq_path_expressions: _Optional[_Iterable[str]] = ..., managed_fields_managers: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplicationStatus(_message.Message):
    __slots__ = ("sync", "health", "resources", "conditions", "operation_state", "history", "reconciled_at", "source_type", "summary", "sync_windows")
    SYNC_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OPERATION_STATE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    RECONCILED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    SYNC_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    sync: SyncStatus
    health: _common_pb2.HealthStatus
    resources: _containers.RepeatedCompositeFieldContainer[ResourceStatus]
    conditions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Condition]
    operation_state: OperationState
    history: _containers.RepeatedCompositeFieldContainer[RevisionHistory]
    reconciled_at: str
    source_type: str
    summary: ApplicationSummary
    sync_windows: ApplicationSyncWindows
    def __init__(self, sync: _Optional[_Union[SyncStatus, _Mapping]] = ..., health: _Optional[_Union[_common_pb2.HealthStatus, _Mapping]] = ..., resources: _Optional[_Iterable[_Union[ResourceStatus, _Mapping]]] = ..., conditions: _Optional[_Iterable[_Union[_common_pb2.Condition, _Mapping]]] = ..., operation_state: _Optional[_Union[OperationState, _Mapping]] = ..., history: _Optional[_Iterable[_Union[RevisionHistory, _Mapping]]] = ..., reconciled_at: _Optional[str] = ..., source_type: _Optional[str] = ..., summary: _Optional[_Union[ApplicationSummary, _Mapping]] = ..., sync_windows: _Optional[_Union[ApplicationSyncWindows, _Mapping]] = ...) -> None: ...

class ApplicationSummary(_message.Message):
    __slots__ = ("images", "external_urls")
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_URLS_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedScalarFieldContainer[str]
    external_urls: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, images: _Optional[_Iterable[str]] = ..., external_urls: _Optional[_Iterable[str]] = ...) -> None: ...

class ComparedTo(_message.Message):
    __slots__ = ("source", "destination", "sources")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    source: ApplicationSource
    destination: ApplicationDestination
    sources: _containers.RepeatedCompositeFieldContainer[ApplicationSource]
    def __init__(self, source: _Optional[_Union[ApplicationSource, _Mapping]] = ..., destination: _Optional[_Union[ApplicationDestination, _Mapping]] = ..., sources: _Optional[_Iterable[_Union[ApplicationSource, _Mapping]]] = ...) -> None: ...

class SyncStatus(_message.Message):
    __slots__ = ("status", "revision", "compared_to", "reason", "commit", "revisions")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    COMPARED_TO_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    status: str
    revision: str
    compared_to: ComparedTo
    reason: str
    commit: _common_pb2.CommitInfo
    revisions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, status: _Optional[str] = ..., revision: _Optional[str] = ..., compared_to: _Optional[_Union[ComparedTo, _Mapping]] = ..., reason: _Optional[str] = ..., commit: _Optional[_Union[_common_pb2.CommitInfo, _Mapping]] = ..., revisions: _Optional[_Iterable[str]] = ...) -> None: ...

class ResourceStatus(_message.Message):
    __slots__ = ("group", "version", "kind", "namespace", "name", "status", "health", "hook", "requires_pruning", "sync_wave", "message")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    REQUIRES_PRUNING_FIELD_NUMBER: _ClassVar[int]
    SYNC_WAVE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    status: str
    health: _common_pb2.HealthStatus
    hook: str
    requires_pruning: bool
    sync_wave: int
    message: str
    def __init__(self, group: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., health: _Optional[_Union[_common_pb2.HealthStatus, _Mapping]] = ..., hook: _Optional[str] = ..., requires_pruning: _Optional[bool] = ..., sync_wave: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class SyncOperationResource(_message.Message):
    __slots__ = ("group", "kind", "name", "namespace")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    group: str
    kind: str
    name: str
    namespace: str
    def __init__(self, group: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., namespace: _Optional[str] = ...) -> None: ...

class SyncStrategy(_message.Message):
    __slots__ = ("type", "force")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    type: str
    force: bool
    def __init__(self, type: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class SyncOperation(_message.Message):
    __slots__ = ("revision", "prune", "dry_run", "resources", "source", "sync_options", "sync_strategy", "retry", "rollback_id", "sources", "revisions")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SYNC_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    SYNC_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    ROLLBACK_ID_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    revision: str
    prune: bool
    dry_run: bool
    resources: _containers.RepeatedCompositeFieldContainer[SyncOperationResource]
    source: ApplicationSource
    sync_options: _containers.RepeatedScalarFieldContainer[str]
    sync_strategy: SyncStrategy
    retry: RetryStrategy
    rollback_id: int
    sources: _containers.RepeatedCompositeFieldContainer[ApplicationSource]
    revisions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, revision: _Optional[str] = ..., prune: _Optional[bool] = ..., dry_run: _Optional[bool] = ..., resources: _Optional[_Iterable[_Union[SyncOperationResource, _Mapping]]] = ..., source: _Optional[_Union[ApplicationSource, _Mapping]] = ..., sync_options: _Optional[_Iterable[str]] = ..., sync_strategy: _Optional[_Union[SyncStrategy, _Mapping]] = ..., retry: _Optional[_Union[RetryStrategy, _Mapping]] = ..., rollback_id: _Optional[int] = ..., sources: _Optional[_Iterable[_Union[ApplicationSource, _Mapping]]] = ..., revisions: _Optional[_Iterable[str]] = ...) -> None: ...

class OperationInitiator(_message.Message):
    __slots__ = ("username", "automated", "kind")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    AUTOMATED_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    username: str
    automated: bool
    kind: str
    def __init__(self, username: _Optional[str] = ..., automated: _Optional[bool] = ..., kind: _Optional[str] = ...) -> None: ...

class Operation(_message.Message):
    __slots__ = ("sync", "initiated_by", "info", "retry")
    SYNC_FIELD_NUMBER: _ClassVar[int]
    INITIATED_BY_FIELD_NUMBER: _ClassVar[int]
    INFO_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    sync: SyncOperation
    initiated_by: OperationInitiator
    info: _containers.RepeatedCompositeFieldContainer[Info]
    retry: RetryStrategy
    def __init__(self, sync: _Optional[_Union[SyncOperation, _Mapping]] = ..., initiated_by: _Optional[_Union[OperationInitiator, _Mapping]] = ..., info: _Optional[_Iterable[_Union[Info, _Mapping]]] = ..., retry: _Optional[_Union[RetryStrategy, _Mapping]] = ...) -> None: ...

class ResourceResult(_message.Message):
    __slots__ = ("group", "version", "kind", "namespace", "name", "status", "message", "hook_type", "hook_phase", "sync_phase", "sync_wave", "action")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HOOK_TYPE_FIELD_NUMBER: _ClassVar[int]
    HOOK_PHASE_FIELD_NUMBER: _ClassVar[int]
    SYNC_PHASE_FIELD_NUMBER: _ClassVar[int]
    SYNC_WAVE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    status: str
    message: str
    hook_type: str
    hook_phase: str
    sync_phase: str
    sync_wave: int
    action: str
    def __init__(self, group: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., message: _Optional[str] = ..., hook_type: _Optional[str] = ..., hook_phase: _Optional[str] = ..., sync_phase: _Optional[str] = ..., sync_wave: _Optional[int] = ..., action: _Optional[str] = ...) -> None: ...

class SyncOperationResult(_message.Message):
    __slots__ = ("resources", "revision", "source", "commit", "sources", "revisions")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[ResourceResult]
    revision: str
    source: ApplicationSource
    commit: _common_pb2.CommitInfo
    sources: _containers.RepeatedCompositeFieldContainer[ApplicationSource]
    revisions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, resources: _Optional[_Iterable[_Union[ResourceResult, _Mapping]]] = ..., revision: _Optional[str] = ..., source: _Optional[_Union[ApplicationSource, _Mapping]] = ..., commit: _Optional[_Union[_common_pb2.CommitInfo, _Mapping]] = ..., sources: _Optional[_Iterable[_Union[ApplicationSource, _Mapping]]] = ..., revisions: _Optional[_Iterable[str]] = ...) -> None: ...

class OperationState(_message.Message):
    __slots__ = ("operation", "phase", "message", "sync_result", "started_at", "finished_at", "retry_count", "id")
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SYNC_RESULT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    RETRY_COUNT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    operation: Operation
    phase: str
    message: str
    sync_result: SyncOperationResult
    started_at: str
    finished_at: str
    retry_count: int
    id: str
    def __init__(self, operation: _Optional[_Union[Operation, _Mapping]] = ..., phase: _Optional[str] = ..., message: _Optional[str] = ..., sync_result: _Optional[_Union[SyncOperationResult, _Mapping]] = ..., started_at: _Optional[str] = ..., finished_at: _Optional[str] = ..., retry_count: _Optional[int] = ..., id: _Optional[str] = ...) -> None: ...

class RevisionHistory(_message.Message):
    __slots__ = ("id", "revision", "deployed_at", "deploy_started_at", "source", "initiated_by", "commit", "phase", "message", "sources", "revisions")
    ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYED_AT_FIELD_NUMBER: _ClassVar[int]
    DEPLOY_STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    INITIATED_BY_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    id: int
    revision: str
    deployed_at: str
    deploy_started_at: str
    source: ApplicationSource
    initiated_by: OperationInitiator
    commit: _common_pb2.CommitInfo
    phase: str
    message: str
    sources: _containers.RepeatedCompositeFieldContainer[ApplicationSource]
    revisions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., revision: _Optional[str] = ..., deployed_at: _Optional[str] = ..., deploy_started_at: _Optional[str] = ..., source: _Optional[_Union[ApplicationSource, _Mapping]] = ..., initiated_by: _Optional[_Union[OperationInitiator, _Mapping]] = ..., commit: _Optional[_Union[_common_pb2.CommitInfo, _Mapping]] = ..., phase: _Optional[str] = ..., message: _Optional[str] = ..., sources: _Optional[_Iterable[_Union[ApplicationSource, _Mapping]]] = ..., revisions: _Optional[_Iterable[str]] = ...) -> None: ...

class CreateApplicationRequest(_message.Message):
    __slots__ = ("application", "upsert", "validate", "manifest")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    application: Application
    upsert: bool
    validate: bool
    manifest: str
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ..., upsert: _Optional[bool] = ..., validate: _Optional[bool] = ..., manifest: _Optional[str] = ...) -> None: ...

class BatchCreateApplicationsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[CreateApplicationRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[CreateApplicationRequest, _Mapping]]] = ...) -> None: ...

class BatchCreateApplicationsResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[Application]
    def __init__(self, applications: _Optional[_Iterable[_Union[Application, _Mapping]]] = ...) -> None: ...

class GetApplicationRequest(_message.Message):
    __slots__ = ("name", "refresh")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REFRESH_FIELD_NUMBER: _ClassVar[int]
    name: str
    refresh: str
    def __init__(self, name: _Optional[str] = ..., refresh: _Optional[str] = ...) -> None: ...

class ListApplicationsRequest(_message.Message):
    __slots__ = ("projects", "selector", "repo", "name", "fields")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    REPO_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedScalarFieldContainer[str]
    selector: str
    repo: str
    name: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, projects: _Optional[_Iterable[str]] = ..., selector: _Optional[str] = ..., repo: _Optional[str] = ..., name: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateApplicationRequest(_message.Message):
    __slots__ = ("application", "validate")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    VALIDATE_FIELD_NUMBER: _ClassVar[int]
    application: Application
    validate: bool
    def __init__(self, application: _Optional[_Union[Application, _Mapping]] = ..., validate: _Optional[bool] = ...) -> None: ...

class DeleteApplicationRequest(_message.Message):
    __slots__ = ("name", "cascade", "propagation_policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CASCADE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    cascade: bool
    propagation_policy: str
    def __init__(self, name: _Optional[str] = ..., cascade: _Optional[bool] = ..., propagation_policy: _Optional[str] = ...) -> None: ...

class DeleteApplicationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SyncApplicationRequest(_message.Message):
    __slots__ = ("name", "revision", "prune", "dry_run", "force", "resources", "sync_options", "retry", "infos")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    SYNC_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    INFOS_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    prune: bool
    dry_run: bool
    force: bool
    resources: _containers.RepeatedCompositeFieldContainer[SyncOperationResource]
    sync_options: _containers.RepeatedScalarFieldContainer[str]
    retry: RetryStrategy
    infos: _containers.RepeatedCompositeFieldContainer[Info]
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ..., prune: _Optional[bool] = ..., dry_run: _Optional[bool] = ..., force: _Optional[bool] = ..., resources: _Optional[_Iterable[_Union[SyncOperationResource, _Mapping]]] = ..., sync_options: _Optional[_Iterable[str]] = ..., retry: _Optional[_Union[RetryStrategy, _Mapping]] = ..., infos: _Optional[_Iterable[_Union[Info, _Mapping]]] = ...) -> None: ...

class LocalFile(_message.Message):
    __slots__ = ("path", "content")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    path: str
    content: bytes
    def __init__(self, path: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class DiffApplicationRequest(_message.Message):
    __slots__ = ("name", "revision", "local_files", "local_path")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    LOCAL_FILES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_PATH_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    local_files: _containers.RepeatedCompositeFieldContainer[LocalFile]
    local_path: str
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ..., local_files: _Optional[_Iterable[_Union[LocalFile, _Mapping]]] = ..., local_path: _Optional[str] = ...) -> None: ...

class ResourceDiff(_message.Message):
    __slots__ = ("group", "version", "kind", "namespace", "name", "live_state", "target_state", "diff", "status", "hook", "health")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIVE_STATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_STATE_FIELD_NUMBER: _ClassVar[int]
    DIFF_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HOOK_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    group: str
    version: str
    kind: str
    namespace: str
    name: str
    live_state: str
    target_state: str
    diff: str
    status: str
    hook: bool
    health: _common_pb2.HealthStatus
    def __init__(self, group: _Optional[str] = ..., version: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., live_state: _Optional[str] = ..., target_state: _Optional[str] = ..., diff: _Optional[str] = ..., status: _Optional[str] = ..., hook: _Optional[bool] = ..., health: _Optional[_Union[_common_pb2.HealthStatus, _Mapping]] = ...) -> None: ...

class DiffApplicationResponse(_message.Message):
    __slots__ = ("items", "modified", "revision")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    MODIFIED_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ResourceDiff]
    modified: bool
    revision: str
    def __init__(self, items: _Optional[_Iterable[_Union[ResourceDiff, _Mapping]]] = ..., modified: _Optional[bool] = ..., revision: _Optional[str] = ...) -> None: ...

class ManagedResourcesRequest(_message.Message):
    __slots__ = ("name", "group", "kind", "namespace", "resource_name")
    NAME_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    group: str
    kind: str
    namespace: str
    resource_name: str
    def __init__(self, name: _Optional[str] = ..., group: _Optional[str] = ..., kind: _Optional[str] = ..., namespace: _Optional[str] = ..., resource_name: _Optional[str] = ...) -> None: ...

class ManagedResourcesResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ResourceDiff]
    def __init__(self, items: _Optional[_Iterable[_Union[ResourceDiff, _Mapping]]] = ...) -> None: ...

class ManifestsRequest(_message.Message):
    __slots__ = ("name", "revision")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    name: str
    revision: str
    def __init__(self, name: _Optional[str] = ..., revision: _Optional[str] = ...) -> None: ...

class ManifestsResponse(_message.Message):
    __slots__ = ("manifests", "revision", "source_type", "warnings", "commit")
    MANIFESTS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TYPE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    manifests: _containers.RepeatedScalarFieldContainer[str]
    revision: str
    source_type: str
    warnings: _containers.RepeatedScalarFieldContainer[str]
    commit: _common_pb2.CommitInfo
    def __init__(self, manifests: _Optional[_Iterable[str]] = ..., revision: _Optional[str] = ..., source_type: _Optional[str] = ..., warnings: _Optional[_Iterable[str]] = ..., commit: _Optional[_Union[_common_pb2.CommitInfo, _Mapping]] = ...) -> None: ...

class HistoryRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class HistoryResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[RevisionHistory]
    def __init__(self, items: _Optional[_Iterable[_Union[RevisionHistory, _Mapping]]] = ...) -> None: ...

class RollbackApplicationRequest(_message.Message):
    __slots__ = ("name", "id", "dry_run", "prune")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    PRUNE_FIELD_NUMBER: _ClassVar[int]
    name: str
    id: int
    dry_run: bool
    prune: bool
    def __init__(self, name: _Optional[str] = ..., id: _Optional[int] = ..., dry_run: _Optional[bool] = ..., prune: _Optional[bool] = ...) -> None: ...

class RefreshApplicationRequest(_message.Message):
    __slots__ = ("name", "hard")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HARD_FIELD_NUMBER: _ClassVar[int]
    name: str
    hard: bool
    def __init__(self, name: _Optional[str] = ..., hard: _Optional[bool] = ...) -> None: ...

class TerminateOperationRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TerminateOperationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchApplicationsRequest(_message.Message):
    __slots__ = ("name", "projects", "send_initial")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    SEND_INITIAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    projects: _containers.RepeatedScalarFieldContainer[str]
    send_initial: bool
    def __init__(self, name: _Optional[str] = ..., projects: _Optional[_Iterable[str]] = ..., send_initial: _Optional[bool] = ...) -> None: ...

class ApplicationEvent(_message.Message):
    __slots__ = ("type", "application", "resource", "message", "timestamp")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    type: str
    application: Application
    resource: ResourceResult
    message: str
    timestamp: str
    def __init__(self, type: _Optional[str] = ..., application: _Optional[_Union[Application, _Mapping]] = ..., resource: _Optional[_Union[ResourceResult, _Mapping]] = ..., message: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ("name", "limit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    limit: int
    def __init__(self, name: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class EventRecord(_message.Message):
    __slots__ = ("type", "reason", "message", "timestamp")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    type: str
    reason: str
    message: str
    timestamp: str
    def __init__(self, type: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., timestamp: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[EventRecord]
    def __init__(self, items: _Optional[_Iterable[_Union[EventRecord, _Mapping]]] = ...) -> None: ...

class ApplicationSyncWindows(_message.Message):
    __slots__ = ("can_sync", "can_sync_manually", "assigned", "message")
    CAN_SYNC_FIELD_NUMBER: _ClassVar[int]
    CAN_SYNC_MANUALLY_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    can_sync: bool
    can_sync_manually: bool
    assigned: _containers.RepeatedCompositeFieldContainer[_project_pb2.SyncWindowState]
    message: str
    def __init__(self, can_sync: _Optional[bool] = ..., can_sync_manually: _Optional[bool] = ..., assigned: _Optional[_Iterable[_Union[_project_pb2.SyncWindowState, _Mapping]]] = ..., message: _Optional[str] = ...) -> None: ...
