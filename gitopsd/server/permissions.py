"""Which permission each RPC needs: one table keyed by full method name.

Every RPC of every gitopsd service is listed here (a test iterates the service
descriptors to prove it); a method missing from the table is refused. Objects follow
Argo CD: applications `PROJECT/APP`, projects their name, clusters their server URL,
repositories their URL, accounts their name. List and Watch need no permission of
their own: their results are filtered to what the caller may `get`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.documents import parse_manifest
from gitopsd.app.errors import AppError, InvalidArgument
from gitopsd.protojson import DocumentError

PUBLIC = "public"  # no token needed (login)
AUTHENTICATED = "authenticated"  # any valid token


@dataclass(frozen=True)
class Lookups:
    """Reads the table needs: an app's project, a cluster's server URL."""

    app_project: Callable[[str], str]
    cluster_server: Callable[[str], str]
    project_exists: Callable[[str], bool]
    # An application's spec targetRevision ("" when unknown: any explicit revision is then an override).
    app_target_revision: Callable[[str], str] = lambda name: ""
    # An ApplicationSet's project (its template's), NotFound when there is none.
    appset_project: Callable[[str], str] = lambda name: UNKNOWN_PROJECT


@dataclass(frozen=True)
class Check:
    resource: str
    action: str
    # Objects the caller needs the permission on (all of them).
    objects: Callable[[Any, Lookups], list[str]]
    # Account RPCs on the caller's own account (name empty or equal) need nothing more.
    self_service: bool = False
    # Runs before `objects`: turns a request's text document into its typed field, so that the
    # object authorized is the very object the servicer acts on (it never parses the text again).
    normalize: Callable[[Any], None] | None = None
    # Further (action, object) pairs the caller needs, e.g. `update` on what an upsert replaces.
    also: Callable[[Any, Lookups], list[tuple[str, str]]] | None = None


@dataclass(frozen=True)
class Filter:
    """A List/Watch: the reply items (or streamed events) are filtered by `get`."""

    resource: str
    item_object: Callable[[Any], str | None]


Rule = str | Check | Filter

UNKNOWN_PROJECT = "<unknown>"


def _app(name: str, lookups: Lookups) -> str:
    # An application that does not exist belongs to no project: only a caller allowed on
    # every project learns that it is missing (others get PERMISSION_DENIED).
    try:
        return f"{lookups.app_project(name)}/{name}"
    except AppError:  # not found, or not a valid name: the servicer says which
        return f"{UNKNOWN_PROJECT}/{name}"


def _app_by_name(req: Any, lookups: Lookups) -> list[str]:
    return [_app(req.name, lookups)]


def _app_in_body(req: Any, lookups: Lookups) -> list[str]:
    # normalize_app_manifest has run: a manifest, if one was sent, is now req.application.
    name, project = req.application.metadata.name, req.application.spec.project
    objects = [f"{project or 'default'}/{name}"]
    existing = _app(name, lookups) if name else None
    # Moving an app to another project needs the permission on both.
    if existing and not existing.startswith(f"{UNKNOWN_PROJECT}/") and existing not in objects:
        objects.append(existing)
    return objects


def _app_upsert(req: Any, lookups: Lookups) -> list[tuple[str, str]]:
    # Create with upsert replaces an existing application: that is an update of it (as Argo CD).
    name = req.application.metadata.name
    existing = _app(name, lookups) if req.upsert and name else None
    if existing is None or existing.startswith(f"{UNKNOWN_PROJECT}/"):
        return []
    return [("update", existing)]


# BatchCreate: each of its requests is checked as a Create; the call needs all of them allowed.
MAX_BATCH = 1000


def normalize_batch_manifests(req: Any) -> None:
    if len(req.requests) > MAX_BATCH:
        raise InvalidArgument(f"requests: {len(req.requests)} applications; at most {MAX_BATCH} per call")
    for i, item in enumerate(req.requests):
        try:
            normalize_app_manifest(item)
        except InvalidArgument as exc:
            raise InvalidArgument(f"requests[{i}]: {exc}") from None


def _apps_in_batch(req: Any, lookups: Lookups) -> list[str]:
    # An empty batch is checked as a Create without a name: refused as such before it is refused as empty.
    objects = [obj for item in req.requests for obj in _app_in_body(item, lookups)]
    return objects or ["default/"]


def _batch_upserts(req: Any, lookups: Lookups) -> list[tuple[str, str]]:
    return [needed for item in req.requests for needed in _app_upsert(item, lookups)]


def _project_upsert(req: Any, lookups: Lookups) -> list[tuple[str, str]]:
    name = req.project.metadata.name
    if req.upsert and name and lookups.project_exists(name):
        return [("update", name)]
    return []


def _normalize_manifest(req: Any, typed_field: str, message: Any, kind: str) -> None:
    """Parse req.manifest (JSON or YAML, one document) into req.<typed_field> and clear it.

    The check and the servicer then read one parsed object. A manifest that cannot be parsed is
    refused here, before any access decision: it is never checked as some default object.
    """
    manifest = getattr(req, "manifest", "")
    if not manifest:
        return
    if req.HasField(typed_field):
        raise InvalidArgument(f"send either {typed_field} or manifest, not both")
    try:
        parsed = parse_manifest(manifest, message, kind)
    except DocumentError as exc:  # a field that is unknown or of the wrong type: the caller's mistake
        raise InvalidArgument(str(exc)) from None
    getattr(req, typed_field).CopyFrom(parsed)
    req.ClearField("manifest")


def normalize_app_manifest(req: Any) -> None:
    _normalize_manifest(req, "application", apppb.Application(), "Application")


def normalize_project_manifest(req: Any) -> None:
    _normalize_manifest(req, "project", projpb.AppProject(), "AppProject")


# ---- ApplicationSets: objects are `PROJECT/NAME`, PROJECT the template's project (as Argo CD).


def normalize_appset_manifest(req: Any) -> None:
    _normalize_manifest(req, "applicationset", aspb.ApplicationSet(), "ApplicationSet")


def _appset(name: str, lookups: Lookups) -> str:
    try:
        return f"{lookups.appset_project(name)}/{name}"
    except AppError:
        return f"{UNKNOWN_PROJECT}/{name}"


def _appset_by_name(req: Any, lookups: Lookups) -> list[str]:
    return [_appset(req.name, lookups)]


def _appset_in_body(req: Any, lookups: Lookups) -> list[str]:
    # normalize_appset_manifest has run: a manifest, if one was sent, is now req.applicationset.
    appset = req.applicationset
    name = appset.metadata.name
    objects = [f"{appset.spec.template.spec.project or 'default'}/{name}"]
    existing = _appset(name, lookups) if name else None
    if existing and not existing.startswith(f"{UNKNOWN_PROJECT}/") and existing not in objects:
        objects.append(existing)  # moving a set to another project needs the permission on both
    return objects


def _appset_upsert(req: Any, lookups: Lookups) -> list[tuple[str, str]]:
    name = req.applicationset.metadata.name
    existing = _appset(name, lookups) if req.upsert and name else None
    if existing is None or existing.startswith(f"{UNKNOWN_PROJECT}/"):
        return []
    return [("update", existing)]


def _project_in_body(req: Any, lookups: Lookups) -> list[str]:
    # normalize_project_manifest has run: a manifest, if one was sent, is now req.project.
    return [req.project.metadata.name]


def _cluster(req: Any, lookups: Lookups) -> list[str]:
    if req.server:
        return [req.server]
    try:
        return [lookups.cluster_server(req.name)]
    except AppError:
        return [req.name]


def _field(name: str) -> Callable[[Any, Lookups], list[str]]:
    def objects(req: Any, lookups: Lookups) -> list[str]:
        value = req
        for part in name.split("."):
            value = getattr(value, part)
        return [str(value)]

    return objects


def _app_by_application_name(req: Any, lookups: Lookups) -> list[str]:
    return [_app(req.application_name, lookups)]


def _no_objects(req: Any, lookups: Lookups) -> list[str]:
    return []


def _resource_action(req: Any, lookups: Lookups) -> list[tuple[str, str]]:
    # Argo CD's: action/GROUP/KIND/ACTION on PROJECT/APP (e.g. action/apps/Deployment/restart).
    return [(f"action/{req.group}/{req.kind}/{req.action}", _app(req.name, lookups))]


def _sync_override(req: Any, lookups: Lookups) -> list[tuple[str, str]]:
    # Syncing to another revision than the spec's target overrides Git's word: Argo CD's `override`.
    if not req.revision:
        return []
    try:
        target = lookups.app_target_revision(req.name)
    except AppError:
        target = ""
    if req.revision == (target or "HEAD"):
        return []
    return [("override", _app(req.name, lookups))]


def _event_app(event: Any) -> str | None:
    app = event.application
    return f"{app.spec.project or 'default'}/{app.metadata.name}"


APP = "/gitopsd.v1.ApplicationService/"
PROJ = "/gitopsd.v1.ProjectService/"
CLUSTER = "/gitopsd.v1.ClusterService/"
REPO = "/gitopsd.v1.RepositoryService/"
SESSION = "/gitopsd.v1.SessionService/"
APPSET = "/gitopsd.v1.ApplicationSetService/"
ACCOUNT = "/gitopsd.v1.AccountService/"

RULES: dict[str, Rule] = {
    APP + "Create": Check(
        "applications", "create", _app_in_body, normalize=normalize_app_manifest, also=_app_upsert
    ),
    APP + "BatchCreate": Check(
        "applications", "create", _apps_in_batch, normalize=normalize_batch_manifests, also=_batch_upserts
    ),
    APP + "Get": Check("applications", "get", _app_by_name),
    APP + "List": Filter("applications", lambda a: f"{a.spec.project or 'default'}/{a.metadata.name}"),
    APP + "Update": Check("applications", "update", _app_in_body, normalize=normalize_app_manifest),
    APP + "Delete": Check("applications", "delete", _app_by_name),
    APP + "Sync": Check("applications", "sync", _app_by_name, also=_sync_override),
    APP + "Diff": Check("applications", "get", _app_by_name),
    APP + "ManagedResources": Check("applications", "get", _app_by_name),
    APP + "Manifests": Check("applications", "get", _app_by_name),
    APP + "History": Check("applications", "get", _app_by_name),
    APP + "Rollback": Check("applications", "sync", _app_by_name),
    APP + "Refresh": Check("applications", "get", _app_by_name),
    APP + "TerminateOperation": Check("applications", "sync", _app_by_name),
    APP + "Watch": Filter("applications", _event_app),
    # A deleted application's log is readable by those allowed on every project (see _app).
    APP + "ListEvents": Check("applications", "get", _app_by_name),
    APP + "ResourceTree": Check("applications", "get", _app_by_application_name),
    APP + "WatchResourceTree": Check("applications", "get", _app_by_application_name),
    APP + "ListResourceEvents": Check("applications", "get", _app_by_name),
    # Argo CD's `logs` resource (role:readonly's `get` on everything covers it).
    APP + "PodLogs": Check("logs", "get", _app_by_name),
    APP + "GetResource": Check("applications", "get", _app_by_name),
    APP + "PatchResource": Check("applications", "update", _app_by_name),
    APP + "DeleteResource": Check("applications", "delete", _app_by_name),
    APP + "ListResourceActions": Check("applications", "get", _app_by_name),
    APP + "RunResourceAction": Check("applications", "action", _no_objects, also=_resource_action),
    APP + "Patch": Check("applications", "update", _app_by_name),
    PROJ + "Create": Check(
        "projects", "create", _project_in_body, normalize=normalize_project_manifest, also=_project_upsert
    ),
    PROJ + "Get": Check("projects", "get", _field("name")),
    PROJ + "List": Filter("projects", lambda p: p.metadata.name),
    PROJ + "Update": Check("projects", "update", _field("project.metadata.name")),
    PROJ + "Delete": Check("projects", "delete", _field("name")),
    PROJ + "CreateToken": Check("projects", "update", _field("project")),
    PROJ + "DeleteToken": Check("projects", "update", _field("project")),
    CLUSTER + "Create": Check("clusters", "create", _field("cluster.server")),
    CLUSTER + "Get": Check("clusters", "get", _cluster),
    CLUSTER + "List": Filter("clusters", lambda c: c.server),
    CLUSTER + "Update": Check("clusters", "update", _field("cluster.server")),
    CLUSTER + "Delete": Check("clusters", "delete", _cluster),
    REPO + "Create": Check("repositories", "create", _field("repo.repo")),
    REPO + "Get": Check("repositories", "get", _field("repo")),
    REPO + "List": Filter("repositories", lambda r: r.repo),
    REPO + "Update": Check("repositories", "update", _field("repo.repo")),
    REPO + "Delete": Check("repositories", "delete", _field("repo")),
    REPO + "ListRefs": Check("repositories", "get", _field("repo")),
    REPO + "ResolveRevision": Check("repositories", "get", _field("repo")),
    REPO + "CreateCredentials": Check("repositories", "create", _field("creds.url")),
    REPO + "ListCredentials": Filter("repositories", lambda c: c.url),
    REPO + "DeleteCredentials": Check("repositories", "delete", _field("url")),
    SESSION + "Create": PUBLIC,
    SESSION + "Delete": AUTHENTICATED,
    SESSION + "GetUserInfo": AUTHENTICATED,
    ACCOUNT + "List": Filter("accounts", lambda a: a.name),
    ACCOUNT + "Get": Check("accounts", "get", _field("name"), self_service=True),
    ACCOUNT + "UpdatePassword": Check("accounts", "update", _field("name"), self_service=True),
    ACCOUNT + "CreateToken": Check("accounts", "update", _field("name"), self_service=True),
    ACCOUNT + "DeleteToken": Check("accounts", "update", _field("name"), self_service=True),
    ACCOUNT + "CanI": AUTHENTICATED,  # answers about the caller only
    "/gitopsd.v1.SettingsService/Get": AUTHENTICATED,
    "/gitopsd.v1.VersionService/Version": AUTHENTICATED,
    APPSET + "Create": Check(
        "applicationsets", "create", _appset_in_body, normalize=normalize_appset_manifest, also=_appset_upsert
    ),
    APPSET + "Get": Check("applicationsets", "get", _appset_by_name),
    APPSET + "List": Filter(
        "applicationsets", lambda s: f"{s.spec.template.spec.project or 'default'}/{s.metadata.name}"
    ),
    APPSET + "Delete": Check("applicationsets", "delete", _appset_by_name),
    # A dry run reads repositories and clusters and runs templates: `create` on the set it describes (as Argo CD).
    APPSET + "Generate": Check("applicationsets", "create", _appset_in_body, normalize=normalize_appset_manifest),
}

# Never behind a token: liveness probes and API discovery.
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
