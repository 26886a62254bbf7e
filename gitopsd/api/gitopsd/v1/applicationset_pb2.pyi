from google.protobuf import struct_pb2 as _struct_pb2
from gitopsd.api.gitopsd.v1 import application_pb2 as _application_pb2
from gitopsd.api.gitopsd.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ApplicationSet(_message.Message):
    __slots__ = ("api_version", "kind", "metadata", "spec", "status")
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    api_version: str
    kind: str
    metadata: _common_pb2.ObjectMeta
    spec: ApplicationSetSpec
    status: ApplicationSetStatus
    def __init__(self, api_version: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_common_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[ApplicationSetSpec, _Mapping]] = ..., status: _Optional[_Union[ApplicationSetStatus, _Mapping]] = ...) -> None: ...

class ApplicationSetList(_message.Message):
    __slots__ = ("items",)
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ApplicationSet]
    def __init__(self, items: _Optional[_Iterable[_Union[ApplicationSet, _Mapping]]] = ...) -> None: ...

class ApplicationSetSpec(_message.Message):
    __slots__ = ("generators", "template", "sync_policy", "go_template", "go_template_options", "template_patch")
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SYNC_POLICY_FIELD_NUMBER: _ClassVar[int]
    GO_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    GO_TEMPLATE_OPTIONS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_PATCH_FIELD_NUMBER: _ClassVar[int]
    generators: _containers.RepeatedCompositeFieldContainer[ApplicationSetGenerator]
    template: ApplicationSetTemplate
    sync_policy: ApplicationSetSyncPolicy
    go_template: bool
    go_template_options: _containers.RepeatedScalarFieldContainer[str]
    template_patch: str
    def __init__(self, generators: _Optional[_Iterable[_Union[ApplicationSetGenerator, _Mapping]]] = ..., template: _Optional[_Union[ApplicationSetTemplate, _Mapping]] = ..., sync_policy: _Optional[_Union[ApplicationSetSyncPolicy, _Mapping]] = ..., go_template: _Optional[bool] = ..., go_template_options: _Optional[_Iterable[str]] = ..., template_patch: _Optional[str] = ...) -> None: ...

class ApplicationSetTemplateMeta(_message.Message):
    __slots__ = ("name", "namespace", "labels", "annotations", "finalizers")
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
    NAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    FINALIZERS_FIELD_NUMBER: _ClassVar[int]
    name: str
    namespace: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    finalizers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., namespace: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., finalizers: _Optional[_Iterable[str]] = ...) -> None: ...

class ApplicationSetTemplate(_message.Message):
    __slots__ = ("metadata", "spec")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    metadata: ApplicationSetTemplateMeta
    spec: _application_pb2.ApplicationSpec
    def __init__(self, metadata: _Optional[_Union[ApplicationSetTemplateMeta, _Mapping]] = ..., spec: _Optional[_Union[_application_pb2.ApplicationSpec, _Mapping]] = ...) -> None: ...

class ApplicationSetSyncPolicy(_message.Message):
    __slots__ = ("preserve_resources_on_deletion", "applications_sync")
    PRESERVE_RESOURCES_ON_DELETION_FIELD_NUMBER: _ClassVar[int]
    APPLICATIONS_SYNC_FIELD_NUMBER: _ClassVar[int]
    preserve_resources_on_deletion: bool
    applications_sync: str
    def __init__(self, preserve_resources_on_deletion: _Optional[bool] = ..., applications_sync: _Optional[str] = ...) -> None: ...

class ApplicationSetGenerator(_message.Message):
    __slots__ = ("list", "clusters", "git", "matrix", "merge")
    LIST_FIELD_NUMBER: _ClassVar[int]
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    GIT_FIELD_NUMBER: _ClassVar[int]
    MATRIX_FIELD_NUMBER: _ClassVar[int]
    MERGE_FIELD_NUMBER: _ClassVar[int]
    list: ListGenerator
    clusters: ClusterGenerator
    git: GitGenerator
    matrix: MatrixGenerator
    merge: MergeGenerator
    def __init__(self, list: _Optional[_Union[ListGenerator, _Mapping]] = ..., clusters: _Optional[_Union[ClusterGenerator, _Mapping]] = ..., git: _Optional[_Union[GitGenerator, _Mapping]] = ..., matrix: _Optional[_Union[MatrixGenerator, _Mapping]] = ..., merge: _Optional[_Union[MergeGenerator, _Mapping]] = ...) -> None: ...

class ListGenerator(_message.Message):
    __slots__ = ("elements",)
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    elements: _containers.RepeatedCompositeFieldContainer[_struct_pb2.Struct]
    def __init__(self, elements: _Optional[_Iterable[_Union[_struct_pb2.Struct, _Mapping]]] = ...) -> None: ...

class LabelSelectorRequirement(_message.Message):
    __slots__ = ("key", "operator", "values")
    KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    key: str
    operator: str
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, key: _Optional[str] = ..., operator: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ...) -> None: ...

class ClusterSelector(_message.Message):
    __slots__ = ("match_labels", "match_expressions")
    class MatchLabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MATCH_LABELS_FIELD_NUMBER: _ClassVar[int]
    MATCH_EXPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    match_labels: _containers.ScalarMap[str, str]
    match_expressions: _containers.RepeatedCompositeFieldContainer[LabelSelectorRequirement]
    def __init__(self, match_labels: _Optional[_Mapping[str, str]] = ..., match_expressions: _Optional[_Iterable[_Union[LabelSelectorRequirement, _Mapping]]] = ...) -> None: ...

class ClusterGenerator(_message.Message):
    __slots__ = ("selector", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    selector: ClusterSelector
    values: _containers.ScalarMap[str, str]
    def __init__(self, selector: _Optional[_Union[ClusterSelector, _Mapping]] = ..., values: _Optional[_Mapping[str, str]] = ...) -> None: ...

class GitDirectoryGeneratorItem(_message.Message):
    __slots__ = ("path", "exclude")
    PATH_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    path: str
    exclude: bool
    def __init__(self, path: _Optional[str] = ..., exclude: _Optional[bool] = ...) -> None: ...

class GitFileGeneratorItem(_message.Message):
    __slots__ = ("path", "exclude")
    PATH_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_FIELD_NUMBER: _ClassVar[int]
    path: str
    exclude: bool
    def __init__(self, path: _Optional[str] = ..., exclude: _Optional[bool] = ...) -> None: ...

class GitGenerator(_message.Message):
    __slots__ = ("repo_url", "revision", "directories", "files", "path_param_prefix", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REPO_URL_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    DIRECTORIES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    PATH_PARAM_PREFIX_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    repo_url: str
    revision: str
    directories: _containers.RepeatedCompositeFieldContainer[GitDirectoryGeneratorItem]
    files: _containers.RepeatedCompositeFieldContainer[GitFileGeneratorItem]
    path_param_prefix: str
    values: _containers.ScalarMap[str, str]
    def __init__(self, repo_url: _Optional[str] = ..., revision: _Optional[str] = ..., directories: _Optional[_Iterable[_Union[GitDirectoryGeneratorItem, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[GitFileGeneratorItem, _Mapping]]] = ..., path_param_prefix: _Optional[str] = ..., values: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MatrixGenerator(_message.Message):
    __slots__ = ("generators",)
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    generators: _containers.RepeatedCompositeFieldContainer[ApplicationSetGenerator]
    def __init__(self, generators: _Optional[_Iterable[_Union[ApplicationSetGenerator, _Mapping]]] = ...) -> None: ...

class MergeGenerator(_message.Message):
    __slots__ = ("merge_keys", "generators")
    MERGE_KEYS_FIELD_NUMBER: _ClassVar[int]
    GENERATORS_FIELD_NUMBER: _ClassVar[int]
    merge_keys: _containers.RepeatedScalarFieldContainer[str]
    generators: _containers.RepeatedCompositeFieldContainer[ApplicationSetGenerator]
    def __init__(self, merge_keys: _Optional[_Iterable[str]] = ..., generators: _Optional[_Iterable[_Union[ApplicationSetGenerator, _Mapping]]] = ...) -> None: ...

class ApplicationSetCondition(_message.Message):
    __slots__ = ("type", "message", "status", "reason", "last_transition_time")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_TRANSITION_TIME_FIELD_NUMBER: _ClassVar[int]
    type: str
    message: str
    status: str
    reason: str
    last_transition_time: str
    def __init__(self, type: _Optional[str] = ..., message: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., last_transition_time: _Optional[str] = ...) -> None: ...

class ApplicationSetResource(_message.Message):
    __slots__ = ("name", "status", "health", "project")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    HEALTH_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    health: _common_pb2.HealthStatus
    project: str
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., health: _Optional[_Union[_common_pb2.HealthStatus, _Mapping]] = ..., project: _Optional[str] = ...) -> None: ...

class ApplicationSetStatus(_message.Message):
    __slots__ = ("conditions", "resources", "reconciled_at")
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    RECONCILED_AT_FIELD_NUMBER: _ClassVar[int]
    conditions: _containers.RepeatedCompositeFieldContainer[ApplicationSetCondition]
    resources: _containers.RepeatedCompositeFieldContainer[ApplicationSetResource]
    reconciled_at: str
    def __init__(self, conditions: _Optional[_Iterable[_Union[ApplicationSetCondition, _Mapping]]] = ..., resources: _Optional[_Iterable[_Union[ApplicationSetResource, _Mapping]]] = ..., reconciled_at: _Optional[str] = ...) -> None: ...

class CreateApplicationSetRequest(_message.Message):
    __slots__ = ("applicationset", "upsert", "manifest")
    APPLICATIONSET_FIELD_NUMBER: _ClassVar[int]
    UPSERT_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    applicationset: ApplicationSet
    upsert: bool
    manifest: str
    def __init__(self, applicationset: _Optional[_Union[ApplicationSet, _Mapping]] = ..., upsert: _Optional[bool] = ..., manifest: _Optional[str] = ...) -> None: ...

class GetApplicationSetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ListApplicationSetsRequest(_message.Message):
    __slots__ = ("projects", "selector")
    PROJECTS_FIELD_NUMBER: _ClassVar[int]
    SELECTOR_FIELD_NUMBER: _ClassVar[int]
    projects: _containers.RepeatedScalarFieldContainer[str]
    selector: str
    def __init__(self, projects: _Optional[_Iterable[str]] = ..., selector: _Optional[str] = ...) -> None: ...

class DeleteApplicationSetRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GenerateApplicationSetRequest(_message.Message):
    __slots__ = ("applicationset", "manifest")
    APPLICATIONSET_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    applicationset: ApplicationSet
    manifest: str
    def __init__(self, applicationset: _Optional[_Union[ApplicationSet, _Mapping]] = ..., manifest: _Optional[str] = ...) -> None: ...

class GenerateApplicationSetResponse(_message.Message):
    __slots__ = ("applications",)
    APPLICATIONS_FIELD_NUMBER: _ClassVar[int]
    applications: _containers.RepeatedCompositeFieldContainer[_application_pb2.Application]
    def __init__(self, applications: _Optional[_Iterable[_Union[_application_pb2.Application, _Mapping]]] = ...) -> None: ...
