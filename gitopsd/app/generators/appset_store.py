"""ApplicationSets, persisted (table `applicationsets`): create/upsert, read, list, delete and status.

What is checked here is what needs no generation: the document's shape, names and options, and the
template's project (which must exist and must not be templated: it is the project RBAC checks the
set against, so a generated application may not land in another one).
"""

from __future__ import annotations

import builtins
import sqlite3
import uuid
from collections.abc import Iterable

from gitopsd.api.gitopsd.v1 import applicationset_pb2 as aspb
from gitopsd.app.errors import AlreadyExists, InvalidArgument, NotFound
from gitopsd.app.generators.appset_generators import KINDS, MAX_DEPTH
from gitopsd.app.generators.appset_template import check_options
from gitopsd.app.projects import Projects
from gitopsd.app.selectors import parse_selector
from gitopsd.app.validation import API_VERSION, SERVER_SET_FIELDS, validate_name
from gitopsd.protojson import parse_document, to_document
from gitopsd.store import Store, dumps, loads, utcnow

KIND = "ApplicationSet"
SYNC_POLICIES = ("create-only", "create-update", "create-delete", "sync")


def _check_generators(gens: Iterable[aspb.ApplicationSetGenerator], where: str, depth: int) -> None:
    for i, gen in enumerate(gens):
        path = f"{where}[{i}]"
        kinds = [k for k in KINDS if gen.HasField(k)]
        if len(kinds) != 1:
            raise InvalidArgument(f"{path}: give exactly one of {', '.join(KINDS)}")
        if depth >= MAX_DEPTH and kinds[0] in ("matrix", "merge"):
            raise InvalidArgument(f"{path}: generators nested deeper than {MAX_DEPTH} levels")
        if kinds[0] == "matrix":
            if len(gen.matrix.generators) != 2:
                raise InvalidArgument(f"{path}.matrix.generators: exactly 2 generators")
            _check_generators(gen.matrix.generators, f"{path}.matrix.generators", depth + 1)
        if kinds[0] == "merge":
            if not gen.merge.merge_keys:
                raise InvalidArgument(f"{path}.merge.mergeKeys: required")
            if len(gen.merge.generators) < 2:
                raise InvalidArgument(f"{path}.merge.generators: at least 2 generators")
            _check_generators(gen.merge.generators, f"{path}.merge.generators", depth + 1)


def validate_appset(appset: aspb.ApplicationSet) -> None:
    """Raises InvalidArgument naming the first problem found."""
    if appset.api_version and appset.api_version != API_VERSION:
        raise InvalidArgument(f"apiVersion: expected {API_VERSION}, got {appset.api_version!r}")
    if appset.kind and appset.kind != KIND:
        raise InvalidArgument(f"kind: expected {KIND}, got {appset.kind!r}")
    validate_name(appset.metadata.name)
    spec = appset.spec
    if not spec.generators:
        raise InvalidArgument("spec.generators: at least one generator is required")
    _check_generators(spec.generators, "spec.generators", 0)
    if not spec.template.metadata.name and not spec.template_patch:
        raise InvalidArgument("spec.template.metadata.name: required")
    if "{{" in spec.template.spec.project:
        raise InvalidArgument(
            "spec.template.spec.project: must not be templated (the set's RBAC is checked against its project)"
        )
    try:
        check_options(spec.go_template_options)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    if spec.go_template_options and not spec.go_template:
        raise InvalidArgument("spec.goTemplateOptions: only with goTemplate: true")
    if spec.template_patch and not spec.go_template:
        raise InvalidArgument("spec.templatePatch: only with goTemplate: true (as in Argo CD)")
    policy = spec.sync_policy.applications_sync
    if policy and policy not in SYNC_POLICIES:
        raise InvalidArgument(
            f"spec.syncPolicy.applicationsSync: {policy!r} is not one of {', '.join(SYNC_POLICIES)}"
        )


def project_of(appset: aspb.ApplicationSet) -> str:
    return appset.spec.template.spec.project or "default"


class ApplicationSets:
    def __init__(self, store: Store, projects: Projects) -> None:
        self._store = store
        self._projects = projects

    def _from_row(self, r: sqlite3.Row) -> aspb.ApplicationSet:
        appset = parse_document(loads(r["manifest"]), aspb.ApplicationSet())
        parse_document(loads(r["status"]), appset.status)
        meta = appset.metadata
        meta.uid, meta.resource_version = r["uid"], str(r["resource_version"])
        meta.generation, meta.creation_timestamp = r["generation"], r["created_at"]
        return appset

    def get(self, name: str) -> aspb.ApplicationSet:
        row = self._store.query_one("SELECT * FROM applicationsets WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"applicationset {name!r} not found")
        return self._from_row(row)

    def project(self, name: str) -> str:
        row = self._store.query_one("SELECT project FROM applicationsets WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"applicationset {name!r} not found")
        return str(row[0])

    def list(self, projects: Iterable[str] = (), selector: str = "") -> list[aspb.ApplicationSet]:
        wanted = set(projects)
        match = parse_selector(selector) if selector else None
        out = []
        for row in self._store.query("SELECT * FROM applicationsets ORDER BY name"):
            if wanted and row["project"] not in wanted:
                continue
            appset = self._from_row(row)
            if match and not match(dict(appset.metadata.labels)):
                continue
            out.append(appset)
        return out

    def names(self) -> builtins.list[str]:
        return [r[0] for r in self._store.query("SELECT name FROM applicationsets ORDER BY name")]

    @staticmethod
    def normalize(appset: aspb.ApplicationSet) -> aspb.ApplicationSet:
        clean = aspb.ApplicationSet()
        clean.CopyFrom(appset)
        clean.ClearField("status")
        clean.api_version = clean.api_version or API_VERSION
        clean.kind = clean.kind or KIND
        for f in SERVER_SET_FIELDS:
            clean.metadata.ClearField(f)
        return clean

    def check(self, appset: aspb.ApplicationSet) -> aspb.ApplicationSet:
        """The stored form of appset, validated (also for a dry run)."""
        validate_appset(appset)
        clean = self.normalize(appset)
        project = project_of(clean)
        if not self._projects.exists(project):
            raise InvalidArgument(
                f"spec.template.spec.project: project {project!r} does not exist (create it with gitopsd proj create)"
            )
        return clean

    def create(self, appset: aspb.ApplicationSet, upsert: bool = False) -> tuple[aspb.ApplicationSet, bool]:
        """Returns the stored set and whether its spec changed (new or different)."""
        clean = self.check(appset)
        name, now = clean.metadata.name, utcnow()
        manifest = dumps(to_document(clean))
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT manifest, generation FROM applicationsets WHERE name = ?", (name,)
            ).fetchone()
            if row is not None and not upsert:
                raise AlreadyExists(
                    f"applicationset {name!r} already exists (use --upsert to replace its spec)"
                )
            changed = row is None or row[0] != manifest
            if row is None:
                conn.execute(
                    "INSERT INTO applicationsets (name, uid, project, manifest, status, resource_version,"
                    " generation, created_at, updated_at) VALUES (?, ?, ?, ?, '{}', ?, 1, ?, ?)",
                    (name, str(uuid.uuid4()), project_of(clean), manifest, self._next_rv(conn), now, now),
                )
            elif changed:
                conn.execute(
                    "UPDATE applicationsets SET project = ?, manifest = ?, resource_version = ?,"
                    " generation = generation + 1, updated_at = ? WHERE name = ?",
                    (project_of(clean), manifest, self._next_rv(conn), now, name),
                )
        return self.get(name), changed

    def set_status(self, name: str, status: aspb.ApplicationSetStatus) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                "UPDATE applicationsets SET status = ?, resource_version = ? WHERE name = ?",
                (dumps(to_document(status)), self._next_rv(conn), name),
            )

    def delete(self, name: str) -> None:
        with self._store.transaction() as conn:
            cur = conn.execute("DELETE FROM applicationsets WHERE name = ?", (name,))
            if cur.rowcount == 0:
                raise NotFound(f"applicationset {name!r} not found")

    @staticmethod
    def _next_rv(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT COALESCE(MAX(resource_version), 0) + 1 FROM applicationsets").fetchone()
        return int(row[0])
