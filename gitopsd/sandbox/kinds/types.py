"""Resource types of the extra kinds, with the names, short names and scopes a v1.37 server
advertises in discovery (``kubectl api-resources``)."""

from __future__ import annotations

from ..resources import ResourceType

_ALL = ("all",)

MORE_BUILTINS: tuple[ResourceType, ...] = (
    ResourceType("", "v1", "nodes", "Node", False, short_names=("no",), subresources=("status",)),
    ResourceType(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        False,
        short_names=("pv",),
        subresources=("status",),
    ),
    ResourceType(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        True,
        short_names=("rc",),
        subresources=("status", "scale"),
        categories=_ALL,
        has_generation=True,
    ),
    ResourceType("", "v1", "limitranges", "LimitRange", True, short_names=("limits",)),
    ResourceType("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    ResourceType("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    ResourceType("coordination.k8s.io", "v1", "leases", "Lease", True),
    ResourceType("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short_names=("sc",)),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        False,
        has_generation=True,
    ),
    ResourceType(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
        has_generation=True,
    ),
    ResourceType(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "flowschemas",
        "FlowSchema",
        False,
        subresources=("status",),
        has_generation=True,
    ),
    ResourceType(
        "flowcontrol.apiserver.k8s.io",
        "v1",
        "prioritylevelconfigurations",
        "PriorityLevelConfiguration",
        False,
        subresources=("status",),
        has_generation=True,
    ),
)
