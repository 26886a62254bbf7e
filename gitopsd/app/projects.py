"""AppProjects, persisted. The built-in `default` project permits everything and always exists.

Enforcement of a project's rules (at create/update and at every sync) and its
roles and tokens belong to the projects/auth feature; this module stores them.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid

from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from gitopsd.app.syncwindows import validate_windows
from gitopsd.app.validation import API_VERSION, SERVER_SET_FIELDS, validate_name
from gitopsd.protojson import parse_document, to_document
from gitopsd.store import Store, dumps, loads, utcnow

DEFAULT_PROJECT = "default"

# Every committed project write in this process counts one: gitopsd.auth.auth_cache stamps the
# answer of a project-role token check with it, so a changed role or deleted token or project
# drops that answer at once (all project writes go through this module, in the daemon's process).
_writes = 0
_writes_lock = threading.Lock()


def project_writes() -> int:
    """How many project writes this process has committed (any Projects instance)."""
    return _writes


def _count_write() -> None:
    global _writes
    with _writes_lock:
        _writes += 1


def default_project() -> projpb.AppProject:
    project = projpb.AppProject(api_version=API_VERSION, kind="AppProject")
    project.metadata.name = DEFAULT_PROJECT
    project.spec.description = "The built-in project: permits every repository, destination and kind"
    project.spec.source_repos.append("*")
    project.spec.destinations.add(server="*", namespace="*")
    project.spec.cluster_resource_whitelist.add(group="*", kind="*")
    return project


def validate_project(project: projpb.AppProject) -> None:
    if project.api_version and project.api_version != API_VERSION:
        raise InvalidArgument(f"apiVersion: expected {API_VERSION}, got {project.api_version!r}")
    if project.kind and project.kind != "AppProject":
        raise InvalidArgument(f"kind: expected AppProject, got {project.kind!r}")
    validate_name(project.metadata.name)
    spec = project.spec
    for i, repo in enumerate(spec.source_repos):
        if not repo.strip():
            raise InvalidArgument(f"spec.sourceRepos[{i}]: must not be empty")
    for i, dest in enumerate(spec.destinations):
        if not dest.server and not dest.name:
            raise InvalidArgument(f"spec.destinations[{i}]: server or name is required")
    for list_name in (
        "cluster_resource_whitelist",
        "cluster_resource_blacklist",
        "namespace_resource_whitelist",
        "namespace_resource_blacklist",
    ):
        for i, gk in enumerate(getattr(spec, list_name)):
            if not gk.kind:
                json_name = projpb.AppProjectSpec.DESCRIPTOR.fields_by_name[list_name].json_name
                raise InvalidArgument(f"spec.{json_name}[{i}].kind: required")
    for i, role in enumerate(spec.roles):
        if not role.name:
            raise InvalidArgument(f"spec.roles[{i}].name: required")
    validate_windows(spec.sync_windows)


# Projects remembered by get() at most (then forgotten at once).
_MEMO_MAX = 1_000


class Projects:
    def __init__(self, store: Store) -> None:
        self._store = store
        # get() is asked at every comparison (a no-change pass: once an application) and parses the
        # project's JSON: its answers are kept, stamped with project_writes(), so any write drops them.
        self._memo: dict[str, tuple[int, projpb.AppProject]] = {}

    def _from_row(self, row: sqlite3.Row) -> projpb.AppProject:
        project = parse_document(loads(row["manifest"]), projpb.AppProject())
        project.metadata.uid = row["uid"]
        project.metadata.resource_version = str(row["resource_version"])
        project.metadata.creation_timestamp = row["created_at"]
        if row["owner_kind"]:  # rendered by an app of apps (generators.ownership)
            project.metadata.owner_references.add(
                api_version=API_VERSION, kind=row["owner_kind"], name=row["owner_name"], controller=True
            )
        return project

    def exists(self, name: str) -> bool:
        """Whether the project exists (the default project always does)."""
        if name == DEFAULT_PROJECT:
            return True
        return self._store.query_one("SELECT 1 FROM projects WHERE name = ?", (name,)) is not None

    def get(self, name: str) -> projpb.AppProject:
        writes = _writes  # read before the row: a write meanwhile leaves this answer unstamped
        known = self._memo.get(name)
        if known is None or known[0] != writes:
            row = self._store.query_one("SELECT * FROM projects WHERE name = ?", (name,))
            if row is None and name != DEFAULT_PROJECT:
                raise NotFound(f"project {name!r} not found")
            known = (writes, default_project() if row is None else self._from_row(row))
            if len(self._memo) >= _MEMO_MAX:
                self._memo.clear()
            self._memo[name] = known
        project = projpb.AppProject()
        project.CopyFrom(known[1])  # the caller's own: it may change it (and update it)
        return project

    def list(self) -> list[projpb.AppProject]:
        stored = [self._from_row(r) for r in self._store.query("SELECT * FROM projects ORDER BY name")]
        if all(p.metadata.name != DEFAULT_PROJECT for p in stored):
            stored.insert(0, default_project())
        return stored

    def _clean(self, project: projpb.AppProject) -> str:
        clean = projpb.AppProject()
        clean.CopyFrom(project)
        clean.api_version = clean.api_version or API_VERSION
        clean.kind = clean.kind or "AppProject"
        clean.ClearField("status")
        for field in SERVER_SET_FIELDS:
            clean.metadata.ClearField(field)
        clean.metadata.ClearField("owner_references")  # recorded in owner_kind/owner_name
        return dumps(to_document(clean))

    def create(
        self, project: projpb.AppProject, upsert: bool = False, owner: tuple[str, str] = ("", "")
    ) -> projpb.AppProject:
        """owner: (kind, name) recorded on a new row (gitopsd.app.generators.ownership)."""
        validate_project(project)
        name = project.metadata.name
        manifest = self._clean(project)
        now = utcnow()
        with self._store.transaction() as conn:
            row = conn.execute("SELECT resource_version FROM projects WHERE name = ?", (name,)).fetchone()
            if row is not None and not upsert:
                raise AlreadyExists(f"project {name!r} already exists (use --upsert to replace it)")
            if row is None:
                conn.execute(
                    "INSERT INTO projects (name, uid, manifest, resource_version, created_at, updated_at, owner_kind, owner_name)"
                    " VALUES (?, ?, ?, 1, ?, ?, ?, ?)",
                    (name, str(uuid.uuid4()), manifest, now, now, *owner),
                )
            else:
                conn.execute(
                    "UPDATE projects SET manifest = ?, resource_version = resource_version + 1, updated_at = ? WHERE name = ?",
                    (manifest, now, name),
                )
        _count_write()  # after the commit: see _writes
        return self.get(name)

    def update(self, project: projpb.AppProject) -> projpb.AppProject:
        name = project.metadata.name
        if (
            name != DEFAULT_PROJECT
            and self._store.query_one("SELECT 1 FROM projects WHERE name = ?", (name,)) is None
        ):
            raise NotFound(f"project {name!r} not found")
        return self.create(project, upsert=True)

    def delete(self, name: str) -> None:
        if name == DEFAULT_PROJECT:
            raise FailedPrecondition("the default project cannot be deleted")
        with self._store.transaction() as conn:
            users = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM applications WHERE project = ? ORDER BY name LIMIT 5", (name,)
                )
            ]
            if users:
                raise FailedPrecondition(f"project {name!r} is used by applications: {', '.join(users)}")
            if conn.execute("DELETE FROM projects WHERE name = ?", (name,)).rowcount == 0:
                raise NotFound(f"project {name!r} not found")
        _count_write()  # after the commit: see _writes
