"""Never silently wrong: what gitopsd does with every field of the Application and AppProject schemas
in proto/ (issue 12's audit).

``FIELDS`` names each field by its JSON path (``[]`` for a list, ``{}`` for a map's values) with what
gitopsd does with it: IMPLEMENTED, NO_EFFECT (meaningless here by design, documented), DELEGATED (a
source kind another part of gitopsd implements and reports on itself), or FLAGGED (accepted, not
implemented: an application that sets it gets an InvalidSpecError condition naming the field, and
saying what gitopsd does instead). A test walks the protobuf descriptors, so a field added to proto/
without an entry here fails it.

``spec_conditions`` is called by gitopsd.app.refreshing at every comparison, with the application's
project (its flagged fields show on each application of the project).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb

IMPLEMENTED = "implemented"
NO_EFFECT = "no effect"
DELEGATED = "delegated"
FLAGGED = "flagged"

_SOURCE = "spec.source"
_SOURCE_FIELDS: dict[str, str] = {
    "": IMPLEMENTED,
    "repoURL": IMPLEMENTED,
    "targetRevision": IMPLEMENTED,
    "path": IMPLEMENTED,
    "chart": IMPLEMENTED,
    "ref": IMPLEMENTED,  # multi-source: $ref/path value files
    "name": IMPLEMENTED,  # shown by `app get`
    "helm": IMPLEMENTED,
    "helm.valueFiles": IMPLEMENTED,
    "helm.parameters": IMPLEMENTED,
    "helm.parameters[].name": IMPLEMENTED,
    "helm.parameters[].value": IMPLEMENTED,
    "helm.parameters[].forceString": IMPLEMENTED,
    "helm.releaseName": IMPLEMENTED,
    "helm.values": IMPLEMENTED,
    "helm.valuesObject": IMPLEMENTED,
    "helm.fileParameters": IMPLEMENTED,
    "helm.fileParameters[].name": IMPLEMENTED,
    "helm.fileParameters[].path": IMPLEMENTED,
    "helm.skipCrds": IMPLEMENTED,
    "helm.ignoreMissingValueFiles": IMPLEMENTED,
    "helm.passCredentials": FLAGGED,
    "helm.version": FLAGGED,  # "v3" is what gitopsd's Helm renders: not flagged (see _quiet)
    "helm.namespace": IMPLEMENTED,
    "helm.kubeVersion": IMPLEMENTED,
    "helm.apiVersions": IMPLEMENTED,
    "helm.skipTests": IMPLEMENTED,
    "helm.skipSchemaValidation": IMPLEMENTED,
    "kustomize": IMPLEMENTED,
    "kustomize.namePrefix": IMPLEMENTED,
    "kustomize.nameSuffix": IMPLEMENTED,
    "kustomize.images": IMPLEMENTED,
    "kustomize.commonLabels": IMPLEMENTED,
    "kustomize.commonLabels{}": IMPLEMENTED,
    "kustomize.commonAnnotations": IMPLEMENTED,
    "kustomize.commonAnnotations{}": IMPLEMENTED,
    "kustomize.version": IMPLEMENTED,  # the sidecar warns that its pinned kustomize rendered
    "kustomize.forceCommonLabels": IMPLEMENTED,
    "kustomize.forceCommonAnnotations": IMPLEMENTED,
    "kustomize.namespace": IMPLEMENTED,
    "kustomize.commonAnnotationsEnvsubst": IMPLEMENTED,
    "kustomize.replicas": IMPLEMENTED,
    "kustomize.replicas[].name": IMPLEMENTED,
    "kustomize.replicas[].count": IMPLEMENTED,
    "kustomize.patches": IMPLEMENTED,
    "kustomize.components": IMPLEMENTED,
    "kustomize.labelWithoutSelector": IMPLEMENTED,
    "kustomize.kubeVersion": FLAGGED,
    "kustomize.apiVersions": FLAGGED,
    "directory": IMPLEMENTED,
    "directory.recurse": IMPLEMENTED,
    "directory.include": IMPLEMENTED,
    "directory.exclude": IMPLEMENTED,
    # Jsonnet and config-management plugins: their renderers report what they do not support.
    "directory.jsonnet": DELEGATED,
    "directory.jsonnet.extVars": DELEGATED,
    "directory.jsonnet.tlas": DELEGATED,
    "directory.jsonnet.libs": DELEGATED,
    "plugin": DELEGATED,
    "plugin.name": DELEGATED,
    "plugin.env": DELEGATED,
    "plugin.env[].name": DELEGATED,
    "plugin.env[].value": DELEGATED,
    "plugin.parameters": DELEGATED,
    "plugin.parameters[].name": DELEGATED,
    "plugin.parameters[].string": DELEGATED,
    "plugin.parameters[].array": DELEGATED,
    "plugin.parameters[].map": DELEGATED,
    "plugin.parameters[].map{}": DELEGATED,
}


def _sources(prefix: str) -> dict[str, str]:
    return {(f"{prefix}.{k}" if k else prefix.removesuffix("[]")): v for k, v in _SOURCE_FIELDS.items()}


FIELDS: dict[str, str] = {
    # Application
    "apiVersion": IMPLEMENTED,
    "kind": IMPLEMENTED,
    "metadata": IMPLEMENTED,
    "metadata.name": IMPLEMENTED,
    # One namespace of applications: Argo CD's control-plane namespace, whatever is written here.
    "metadata.namespace": NO_EFFECT,
    "metadata.labels": IMPLEMENTED,
    "metadata.labels{}": IMPLEMENTED,
    "metadata.annotations": IMPLEMENTED,
    "metadata.annotations{}": IMPLEMENTED,
    # An application removed by its parent (app of apps, ApplicationSet) takes its resources with it only
    # with resources-finalizer.argocd.argoproj.io (gitopsd/app/generators/ownership.py); a user's delete
    # cascades as `app delete --cascade` (the default) says, whatever the finalizers.
    "metadata.finalizers": IMPLEMENTED,
    # Server-set from the owner recorded on the row (a child of an app of apps or an ApplicationSet);
    # cleared on input, as an owner is never taken from a document.
    "metadata.ownerReferences": IMPLEMENTED,
    "metadata.ownerReferences[].apiVersion": IMPLEMENTED,
    "metadata.ownerReferences[].controller": IMPLEMENTED,
    "metadata.ownerReferences[].kind": IMPLEMENTED,
    "metadata.ownerReferences[].name": IMPLEMENTED,
    "metadata.uid": IMPLEMENTED,
    "metadata.resourceVersion": IMPLEMENTED,
    "metadata.generation": IMPLEMENTED,
    "metadata.creationTimestamp": IMPLEMENTED,
    "status": IMPLEMENTED,  # server-set; ignored on input as in Argo CD
    # Refused at create (gitopsd/app/validation.py): start a sync with `app sync` instead.
    "operation": IMPLEMENTED,
    **_sources("spec.source"),
    **_sources("spec.sources[]"),
    "spec": IMPLEMENTED,
    "spec.destination": IMPLEMENTED,
    "spec.destination.server": IMPLEMENTED,
    "spec.destination.namespace": IMPLEMENTED,
    "spec.destination.name": IMPLEMENTED,
    "spec.project": IMPLEMENTED,
    "spec.syncPolicy": IMPLEMENTED,
    "spec.syncPolicy.automated": IMPLEMENTED,
    "spec.syncPolicy.automated.prune": IMPLEMENTED,
    "spec.syncPolicy.automated.selfHeal": IMPLEMENTED,
    "spec.syncPolicy.automated.allowEmpty": IMPLEMENTED,
    "spec.syncPolicy.automated.enabled": IMPLEMENTED,
    "spec.syncPolicy.syncOptions": IMPLEMENTED,
    "spec.syncPolicy.retry": IMPLEMENTED,
    "spec.syncPolicy.retry.limit": IMPLEMENTED,
    "spec.syncPolicy.retry.backoff": IMPLEMENTED,
    "spec.syncPolicy.retry.backoff.duration": IMPLEMENTED,
    "spec.syncPolicy.retry.backoff.factor": IMPLEMENTED,
    "spec.syncPolicy.retry.backoff.maxDuration": IMPLEMENTED,
    # With CreateNamespace=true; without it, flagged (see _quiet).
    "spec.syncPolicy.managedNamespaceMetadata": FLAGGED,
    "spec.syncPolicy.managedNamespaceMetadata.labels": IMPLEMENTED,
    "spec.syncPolicy.managedNamespaceMetadata.labels{}": IMPLEMENTED,
    "spec.syncPolicy.managedNamespaceMetadata.annotations": IMPLEMENTED,
    "spec.syncPolicy.managedNamespaceMetadata.annotations{}": IMPLEMENTED,
    "spec.ignoreDifferences": IMPLEMENTED,
    "spec.ignoreDifferences[].group": IMPLEMENTED,
    "spec.ignoreDifferences[].kind": IMPLEMENTED,
    "spec.ignoreDifferences[].name": IMPLEMENTED,
    "spec.ignoreDifferences[].namespace": IMPLEMENTED,
    "spec.ignoreDifferences[].jsonPointers": IMPLEMENTED,
    "spec.ignoreDifferences[].jqPathExpressions": IMPLEMENTED,
    "spec.ignoreDifferences[].managedFieldsManagers": IMPLEMENTED,
    "spec.info": IMPLEMENTED,  # shown by `app get`
    "spec.info[].name": IMPLEMENTED,
    "spec.info[].value": IMPLEMENTED,
    "spec.revisionHistoryLimit": IMPLEMENTED,
}

# AppProject (paths under "project.")
PROJECT_FIELDS: dict[str, str] = {
    "apiVersion": IMPLEMENTED,
    "kind": IMPLEMENTED,
    "metadata": IMPLEMENTED,
    **{k: v for k, v in FIELDS.items() if k.startswith("metadata.")},
    "status": IMPLEMENTED,
    "spec": IMPLEMENTED,
    "spec.sourceRepos": IMPLEMENTED,
    "spec.destinations": IMPLEMENTED,
    "spec.destinations[].server": IMPLEMENTED,
    "spec.destinations[].namespace": IMPLEMENTED,
    "spec.destinations[].name": IMPLEMENTED,
    "spec.description": IMPLEMENTED,
    "spec.roles": IMPLEMENTED,
    "spec.roles[].name": IMPLEMENTED,
    "spec.roles[].description": IMPLEMENTED,
    "spec.roles[].policies": IMPLEMENTED,
    "spec.roles[].jwtTokens": IMPLEMENTED,
    "spec.roles[].jwtTokens[].iat": IMPLEMENTED,
    "spec.roles[].jwtTokens[].exp": IMPLEMENTED,
    "spec.roles[].jwtTokens[].id": IMPLEMENTED,
    # gitopsd has no SSO: no group claims to bind to a project role.
    "spec.roles[].groups": FLAGGED,
    "spec.clusterResourceWhitelist": IMPLEMENTED,
    "spec.clusterResourceWhitelist[].group": IMPLEMENTED,
    "spec.clusterResourceWhitelist[].kind": IMPLEMENTED,
    "spec.clusterResourceBlacklist": IMPLEMENTED,
    "spec.clusterResourceBlacklist[].group": IMPLEMENTED,
    "spec.clusterResourceBlacklist[].kind": IMPLEMENTED,
    "spec.namespaceResourceWhitelist": IMPLEMENTED,
    "spec.namespaceResourceWhitelist[].group": IMPLEMENTED,
    "spec.namespaceResourceWhitelist[].kind": IMPLEMENTED,
    "spec.namespaceResourceBlacklist": IMPLEMENTED,
    "spec.namespaceResourceBlacklist[].group": IMPLEMENTED,
    "spec.namespaceResourceBlacklist[].kind": IMPLEMENTED,
    "spec.orphanedResources": FLAGGED,
    "spec.orphanedResources.warn": FLAGGED,
    "spec.syncWindows": IMPLEMENTED,
    "spec.syncWindows[].kind": IMPLEMENTED,
    "spec.syncWindows[].schedule": IMPLEMENTED,
    "spec.syncWindows[].duration": IMPLEMENTED,
    "spec.syncWindows[].applications": IMPLEMENTED,
    "spec.syncWindows[].namespaces": IMPLEMENTED,
    "spec.syncWindows[].clusters": IMPLEMENTED,
    "spec.syncWindows[].manualSync": IMPLEMENTED,
    "spec.syncWindows[].timeZone": IMPLEMENTED,
    # Applications live in one namespace (the control plane's), which every project admits.
    "spec.sourceNamespaces": NO_EFFECT,
}

# What a flagged field's condition says gitopsd does instead.
WHY: Mapping[str, str] = {
    "helm.passCredentials": "chart repository credentials are sent to the repository's own host only",
    "helm.version": "charts render with gitopsd's Helm (v3 chart semantics); other Helm versions are not available",
    "kustomize.kubeVersion": "kustomize renders without a Kubernetes version for Helm charts it inflates",
    "kustomize.apiVersions": "kustomize renders without API versions for Helm charts it inflates",
    "spec.syncPolicy.managedNamespaceMetadata": "it applies only with syncOptions CreateNamespace=true",
    "spec.roles[].groups": "gitopsd has no single sign-on: bind accounts to the role with rbac.policy `g,` lines",
    "spec.orphanedResources": "orphaned resources are not monitored",
    "spec.orphanedResources.warn": "orphaned resources are not monitored",
}


_INDEX = re.compile(r"\[\d+\]")


def _generic(path: str) -> str:
    """spec.sources[2].helm.version -> spec.sources[].helm.version"""
    return _INDEX.sub("[]", path)


def set_fields(message: Message, prefix: str = "") -> Iterator[str]:
    """The JSON paths of every field set in `message` (list items indexed, map values as {})."""
    for field, value in message.ListFields():
        path = f"{prefix}.{field.json_name}" if prefix else field.json_name
        yield path
        kind = field.message_type
        if field.type != FieldDescriptor.TYPE_MESSAGE or kind is None or kind.full_name.startswith("google."):
            continue
        if kind.GetOptions().map_entry:
            yield f"{path}{{}}"
            continue
        if field.is_repeated:
            for i, item in enumerate(value):
                yield from set_fields(item, f"{path}[{i}]")
        else:
            yield from set_fields(value, path)


def _source_key(generic: str) -> str:
    for prefix in ("spec.sources[].", "spec.source."):
        if generic.startswith(prefix):
            return generic[len(prefix) :]
    return generic


def _quiet(app: apppb.Application, generic: str, path: str) -> bool:
    """Flagged fields set to what gitopsd does anyway."""
    if generic.endswith("helm.version"):
        value = _lookup(app, path)
        return str(value).strip().lower() in ("", "v3")
    if generic == "spec.syncPolicy.managedNamespaceMetadata":
        return any(o.replace(" ", "") == "CreateNamespace=true" for o in app.spec.sync_policy.sync_options)
    return False


def _lookup(message: Message, path: str) -> Any:
    value: Any = message
    for part in path.split("."):
        name, _, index = part.partition("[")
        field = next(f for f in value.DESCRIPTOR.fields if f.json_name == name)
        value = getattr(value, field.name)
        if index:
            value = value[int(index.rstrip("]"))]
    return value


def _flagged(message: Message, table: Mapping[str, str], app: apppb.Application | None) -> list[str]:
    out: list[str] = []
    for path in set_fields(message, "spec"):
        generic = _generic(path)
        if table.get(generic) != FLAGGED or (app is not None and _quiet(app, generic, path)):
            continue
        if any(path.startswith(done + ".") for done in out):
            continue  # the block itself is named already
        out.append(path)
    return out


# spec_conditions' answers by (application spec, project name, project spec), serialized: every
# comparison asks (a no-change pass: once an application), walking the descriptors of every field
# set, and the answer changes only with one of the specs. At most this many; then forgotten at once.
_MEMO_MAX = 20_000
_memo: dict[tuple[bytes, str, bytes], tuple[str, ...]] = {}


def spec_conditions(app: apppb.Application, project: projpb.AppProject | None) -> list[str]:
    """One message per flagged field set by the application or its project (InvalidSpecError)."""
    key = (
        app.spec.SerializeToString(deterministic=True),
        "" if project is None else project.metadata.name,
        b"" if project is None else project.spec.SerializeToString(deterministic=True),
    )
    known = _memo.get(key)
    if known is None:
        known = tuple(_spec_conditions(app, project))
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = known
    return list(known)


def _spec_conditions(app: apppb.Application, project: projpb.AppProject | None) -> list[str]:
    out: list[str] = []
    for path in _flagged(app.spec, FIELDS, app):
        generic = _generic(path)
        why = WHY.get(_source_key(generic), WHY.get(generic, ""))
        out.append(f"{path} is not implemented by gitopsd: {why}")
    if project is not None:
        for path in _flagged(project.spec, PROJECT_FIELDS, None):
            why = WHY.get(_generic(path), "")
            out.append(f"project {project.metadata.name!r}: {path} is not implemented by gitopsd: {why}")
    return out
