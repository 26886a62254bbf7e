"""App of apps: the `argoproj.io` Application and AppProject documents an application renders are never
sent to a cluster; they become gitopsd applications and projects owned by that parent.

ChildAppClient stands between the engine and the parent's destination cluster: it serves those two
kinds from the gitopsd store, through gitopsd.app.generators.ownership, and passes everything else to
the cluster client. So the engine compares, plans, orders by sync wave (a wave waits for the earlier
wave's children to be Healthy, their health being the child's own: engine.health.argocd),
applies and prunes children exactly as it does cluster objects, and the parent's resource list, diff,
sync results and health show them. No Application CRD is needed in any cluster.

A child seen by the engine: its stored document (metadata, spec, status) with the parent's tracking
annotation when the parent owns it, and managedFields claiming every field the parent applied (it owns
the child whole, so a field removed from Git or added by hand is drift). An apply writes the child
(created or updated, never one owned by nobody or by someone else: a Conflict); a delete removes it,
with its cluster resources when its resources finalizer asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.app_writes import normalize
from gitopsd.app.cachedclient import CachedKubeClient
from gitopsd.app.errors import AppError, InvalidArgument
from gitopsd.app.errors import NotFound as AppNotFound
from gitopsd.app.generators.ownership import APPLICATION, ChildConflict, Children, Owner
from gitopsd.app.project_rules import application_denial
from gitopsd.app.projects import validate_project
from gitopsd.app.validation import validate_application
from gitopsd.engine.normalize import FIELD_MANAGER
from gitopsd.engine.resources import ResourceKey
from gitopsd.engine.tracking import TRACKING_ANNOTATION, build_tracking_id
from gitopsd.kube.errors import Conflict, Invalid, KubeError, NotFound, UnknownKind
from gitopsd.kube.types import ResourceInfo
from gitopsd.protojson import DocumentError, parse_document, to_document

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
APP_KIND = "Application"
PROJECT_KIND = "AppProject"
_PLURALS = {APP_KIND: "applications", PROJECT_KIND: "appprojects"}


def is_child_kind(api_version: str, kind: str) -> bool:
    """Documents of these kinds become gitopsd objects instead of cluster objects."""
    return api_version.partition("/")[0] == GROUP and kind in _PLURALS


def is_child_document(obj: object) -> bool:
    if not isinstance(obj, Mapping):
        return False
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    return isinstance(api_version, str) and isinstance(kind, str) and is_child_kind(api_version, kind)


def rendered_projects(manifests: Iterable[Any]) -> frozenset[str]:
    """Names of the AppProjects among rendered manifests (a child may use one before it is stored)."""
    names = set()
    for m in manifests:
        if is_child_document(m) and m.get("kind") == PROJECT_KIND:
            name = (m.get("metadata") or {}).get("name")
            if isinstance(name, str):
                names.add(name)
    return frozenset(names)


def child_denial(
    children: Children, parent: apppb.Application, obj: Mapping[str, Any] | None, pending: frozenset[str]
) -> str | None:
    """Why the parent's project refuses a child Application document (checked before a sync applies
    anything); documents that do not parse are refused by the apply itself, naming the field."""
    if obj is None or obj.get("kind") != APP_KIND:
        return None
    try:
        child = parse_document(_document(obj), apppb.Application())
    except DocumentError:
        return None
    owner = Owner(APPLICATION, parent.metadata.name)
    return children.denial(owner, child, parent.spec.project or "default", pending)


def child_summary(group: str, kind: str, live: Mapping[str, Any] | None) -> str:
    """The child application's own sync status, for the parent's resource list (its health is shown
    beside it): `application OutOfSync` while the child has not deployed what its Git says."""
    if group != GROUP or kind != APP_KIND or not live:
        return ""
    status = live.get("status")
    sync = status.get("sync") if isinstance(status, Mapping) else None
    value = sync.get("status") if isinstance(sync, Mapping) else None
    return f"application {value}" if isinstance(value, str) and value else ""


def tracking_app(owner: Owner) -> str:
    """The application name a child's tracking id carries (an ApplicationSet can never match an app)."""
    return owner.name if owner.kind == APPLICATION else f"{owner.kind.lower()}/{owner.name}"


def _fields_v1(value: Any) -> dict[str, Any]:
    # Maps are walked, anything else (lists included) is one field: the parent sets it whole.
    if isinstance(value, dict) and value:
        return {f"f:{k}": _fields_v1(v) for k, v in value.items()}
    return {}


def _owner_from(meta: Any) -> Owner | None:
    for ref in meta.owner_references:
        return Owner(ref.kind, ref.name)
    return None


def _document(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The rendered document as gitopsd stores it: without our tracking annotation and namespace."""
    doc = dict(obj)
    meta = dict(doc.get("metadata") or {})
    meta.pop("namespace", None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != TRACKING_ANNOTATION}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    doc["metadata"] = meta
    doc.pop("status", None)
    return doc


class ChildAppClient:
    """A ClusterClient for one parent: argoproj.io Application/AppProject from the store, the rest from
    the destination cluster (see the module docstring)."""

    def __init__(
        self,
        inner: CachedKubeClient,
        children: Children,
        owner: Owner,
        parent_project: str | None,
        pending_projects: frozenset[str] = frozenset(),
    ) -> None:
        self._inner = inner
        self._children = children
        self._owner = owner
        self._parent_project = parent_project
        self._pending_projects = pending_projects

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # the cache, close(), ...: the cluster client's

    # -- the live view of children --------------------------------------------------------

    def _live(self, message: apppb.Application | projpb.AppProject, kind: str) -> dict[str, Any]:
        doc = to_document(message)
        doc["apiVersion"], doc["kind"] = API_VERSION, kind
        meta = doc.setdefault("metadata", {})
        meta.pop("namespace", None)
        owner = _owner_from(message.metadata)
        meta.pop("ownerReferences", None)
        if owner == self._owner:
            spec_part = {"metadata": {k: meta[k] for k in ("labels", "annotations") if k in meta}, "spec": doc.get("spec", {})}
            meta["managedFields"] = [
                {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": _fields_v1(spec_part)}
            ]
        if kind == PROJECT_KIND and message.metadata.name in self._children.deleting_projects:
            meta["deletionTimestamp"] = meta.get("creationTimestamp") or "1970-01-01T00:00:00Z"
            meta["finalizers"] = ["gitopsd.io/applications-use-this-project"]
        if owner is not None:
            key = ResourceKey(GROUP, kind, "", message.metadata.name, VERSION)
            annotations = dict(meta.get("annotations") or {})
            annotations[TRACKING_ANNOTATION] = build_tracking_id(tracking_app(owner), key)
            meta["annotations"] = annotations
        return doc

    def _read(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            if kind == APP_KIND:
                return self._live(self._children.apps.get(name), kind)
            if not self._children.projects.exists(name) or name == "default":
                return None  # the built-in project is nobody's child
            if name in self._children.deleting_projects:
                owner = self._children.project_owner_of(name)
                if owner is not None and self._children.delete_project(owner, name):
                    return None  # its applications have gone since: so has it
            return self._live(self._children.projects.get(name), kind)
        except AppNotFound:
            return None

    def _owned(self, kind: str) -> list[str]:
        if kind == APP_KIND:
            return self._children.children_of(self._owner)
        return self._children.projects_of(self._owner)

    # -- ClusterClient -------------------------------------------------------------------------

    def resource_info(self, api_version: str, kind: str) -> ResourceInfo:
        if not is_child_kind(api_version, kind):
            return self._inner.resource_info(api_version, kind)
        if api_version != API_VERSION:
            raise UnknownKind(f"{kind} is served in {API_VERSION} only, not {api_version}")
        # Cluster-scoped: gitopsd has one set of applications (metadata.namespace is dropped).
        return ResourceInfo(GROUP, VERSION, kind, _PLURALS[kind], namespaced=False)

    def lookup(
        self, api_version: str, kind: str, namespace: str | None, names: Iterable[str], app: str
    ) -> list[dict[str, Any]] | None:
        if not is_child_kind(api_version, kind):
            return self._inner.lookup(api_version, kind, namespace, names, app)
        found = {}
        for name in [*names, *self._owned(kind)]:
            if name not in found:
                live = self._read(kind, name)
                if live is not None:
                    found[name] = live
        return list(found.values())

    def list(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        if not is_child_kind(api_version, kind):
            return self._inner.list(api_version, kind, namespace=namespace, label_selector=label_selector)
        return [live for name in self._owned(kind) if (live := self._read(kind, name)) is not None]

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        if not is_child_kind(api_version, kind):
            return self._inner.get(api_version, kind, name, namespace)
        live = self._read(kind, name)
        if live is None:
            raise NotFound(f"{kind.lower()}s {name!r} not found")
        return live

    def server_side_apply(
        self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        api_version, kind = str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
        if not is_child_kind(api_version, kind):
            return self._inner.server_side_apply(obj, field_manager=field_manager, force=force, dry_run=dry_run)
        return self._apply(obj, kind, dry_run)

    def create(self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False) -> dict[str, Any]:
        if not is_child_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))):
            return self._inner.create(obj, field_manager=field_manager, dry_run=dry_run)
        return self._apply(obj, str(obj["kind"]), dry_run)

    def replace(self, obj: Mapping[str, Any], *, field_manager: str = "gitopsd", dry_run: bool = False) -> dict[str, Any]:
        if not is_child_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", ""))):
            return self._inner.replace(obj, field_manager=field_manager, dry_run=dry_run)
        return self._apply(obj, str(obj["kind"]), dry_run)

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation: str = "Background",
        dry_run: bool = False,
    ) -> object:
        if not is_child_kind(api_version, kind):
            return self._inner.delete(api_version, kind, name, namespace, propagation=propagation, dry_run=dry_run)
        try:
            if kind == APP_KIND:
                if self._read(kind, name) is None:
                    raise NotFound(f"applications {name!r} not found")
                if not dry_run:
                    self._children.delete_app(self._owner, name)
            elif not dry_run and not self._children.delete_project(self._owner, name):
                return self._read(kind, name)  # terminating until its applications are gone
        except ChildConflict as exc:
            raise Conflict(str(exc)) from None
        except AppNotFound as exc:
            raise NotFound(str(exc)) from None
        except AppError as exc:
            raise KubeError(str(exc), status=422, reason="Invalid") from None
        return {"kind": "Status", "status": "Success"}

    def relist(self, kinds: Iterable[tuple[str, str]]) -> None:
        self._inner.relist([k for k in kinds if not is_child_kind(*k)])

    # -- writing children ---------------------------------------------------------------------

    def _apply(self, obj: Mapping[str, Any], kind: str, dry_run: bool) -> dict[str, Any]:
        doc = _document(obj)
        try:
            if kind == APP_KIND:
                app = parse_document(doc, apppb.Application())
                if dry_run:
                    return self._predict_app(app)
                _, stored = self._children.apply_app(
                    self._owner, app, self._parent_project, self._pending_projects
                )
                return self._live(stored, kind)
            project = parse_document(doc, projpb.AppProject())
            if dry_run:
                return self._predict_project(project)
            _, stored_project = self._children.apply_project(self._owner, project)
            return self._live(stored_project, kind)
        except DocumentError as exc:
            raise Invalid(f"{kind} {doc['metadata'].get('name', '')!r}: {exc}") from None
        except ChildConflict as exc:
            raise Conflict(str(exc)) from None
        except AppError as exc:
            raise Invalid(str(exc)) from None

    def _predict_app(self, app: apppb.Application) -> dict[str, Any]:
        """What an apply would store, without storing it (the engine's dry run)."""
        validate_application(app)
        children = self._children
        name = app.metadata.name
        if children.apps.exists(name):
            children.claim(self._owner, name, children.owner_of(name), "application")
        denial = children.denial(self._owner, app, self._parent_project, self._pending_projects)
        if denial:
            raise InvalidArgument(denial)
        predicted = normalize(app)
        children.apps.check_local_repos(predicted)  # as the real create: no file:// into our own files
        project_name = predicted.spec.project
        if children.projects.exists(project_name):
            denial = application_denial(children.projects.get(project_name), predicted)
            if denial:
                raise InvalidArgument(f"spec: {denial}")
        elif project_name not in self._pending_projects:
            raise InvalidArgument(f"spec.project: project {project_name!r} does not exist")
        if children.apps.exists(name):
            current = children.apps.get(name)
            predicted.metadata.uid = current.metadata.uid
            predicted.status.CopyFrom(current.status)
        predicted.metadata.owner_references.add(api_version=API_VERSION, kind=self._owner.kind, name=self._owner.name)
        return self._live(predicted, APP_KIND)

    def _predict_project(self, project: projpb.AppProject) -> dict[str, Any]:
        validate_project(project)
        name = project.metadata.name
        if self._children.projects.exists(name):
            self._children.claim(self._owner, name, self._children.project_owner_of(name), "project")
        predicted = projpb.AppProject()
        predicted.CopyFrom(project)
        predicted.api_version, predicted.kind = API_VERSION, PROJECT_KIND
        predicted.metadata.owner_references.add(api_version=API_VERSION, kind=self._owner.kind, name=self._owner.name)
        return self._live(predicted, PROJECT_KIND)
