"""The write path of applications: the checks every stored spec passes, create (one or a batch), and
the spec write an update and an upsert share.

Behind the one facade callers use, gitopsd.app.applications.Applications, which owns this writer,
the reads, status writes, delete and the resourceVersion counter (handed in here as `rv`).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app import eventlog
from gitopsd.app.errors import AlreadyExists, AppError, InvalidArgument, NotFound
from gitopsd.app.eventlog import EventLog
from gitopsd.app.project_rules import application_denial
from gitopsd.app.projects import Projects
from gitopsd.app.validation import API_VERSION, SERVER_SET_FIELDS, validate_application
from gitopsd.protojson import to_document
from gitopsd.sources.localrepos import ProtectedPaths
from gitopsd.store import Counter, Store, dumps, utcnow

# What a write announces: (event type, the application as stored).
Publish = Callable[[str, apppb.Application], None]


def normalize(app: apppb.Application) -> apppb.Application:
    """The stored form: defaults filled in, server-owned fields and status dropped."""
    clean = apppb.Application()
    clean.CopyFrom(app)
    clean.ClearField("status")
    clean.ClearField("operation")
    clean.api_version = clean.api_version or API_VERSION
    clean.kind = clean.kind or "Application"
    if not clean.spec.project:
        clean.spec.project = "default"
    for field in SERVER_SET_FIELDS:
        clean.metadata.ClearField(field)
    clean.metadata.ClearField("owner_references")  # recorded in owner_kind/owner_name, never sent
    return clean


def by(actor: str) -> str:
    """Who did it, for an event log message."""
    return actor or "an unknown user"


class AppWriter:
    def __init__(
        self,
        store: Store,
        projects: Projects,
        protected: ProtectedPaths,
        event_log: EventLog,
        rv: Callable[[], Counter],
        read: Callable[[str], apppb.Application],
        publish: Publish,
    ) -> None:
        """rv: the applications' resourceVersion counter; read: an application as stored (after an
        update); publish: announces a write on the event bus."""
        self._store = store
        self._projects = projects
        self._protected = protected
        self._event_log = event_log
        self._rv = rv
        self._read = read
        self._publish = publish

    # -- the checks of every stored spec ----------------------------------------------

    def checked(self, app: apppb.Application, seen: dict[str, projpb.AppProject]) -> apppb.Application:
        """The stored form of `app`, once it is valid, names no file:// path of ours and its project
        permits it. seen: the projects already read in this request (a batch reads each once)."""
        validate_application(app)
        clean = normalize(app)
        self.check_local_repos(clean)
        self._check_project(clean, seen)
        return clean

    def _check_project(self, app: apppb.Application, seen: dict[str, projpb.AppProject]) -> None:
        """The project must exist and permit the application's sources and destination."""
        name = app.spec.project
        project = seen.get(name)
        if project is None:
            try:
                project = self._projects.get(name)
            except NotFound:
                raise InvalidArgument(
                    f"spec.project: project {name!r} does not exist (create it with gitopsd proj create)"
                ) from None
            seen[name] = project
        denial = application_denial(project, app)
        if denial:
            raise InvalidArgument(f"spec: {denial}")

    def check_local_repos(self, app: apppb.Application) -> None:
        """No source may be a file:// repository inside the daemon's own directories."""
        sources = [("spec.source", app.spec.source)] if app.spec.HasField("source") else []
        sources += [(f"spec.sources[{i}]", s) for i, s in enumerate(app.spec.sources)]
        for path, source in sources:
            # A moment-old answer will do: git checks afresh before it reads (gitcache_base._git).
            denial = self._protected.denial(source.repo_url, fresh=False)
            if denial:
                raise InvalidArgument(f"{path}.repoURL: {denial}")

    # -- create ---------------------------------------------------------------------

    def create(
        self,
        items: Sequence[tuple[apppb.Application, bool]],
        actor: str,
        owner: tuple[str, str],
        batch: bool,
    ) -> list[apppb.Application]:
        """(application, upsert) pairs, checked, then written in one transaction. batch: an error
        names its item as requests[i] (BatchCreate's field); owner: (kind, name) of new rows."""
        if batch:
            first: dict[str, int] = {}
            for i, (app, _) in enumerate(items):
                name = app.metadata.name
                if name and first.setdefault(name, i) != i:
                    raise InvalidArgument(f"requests[{i}]: application {name!r} is also requests[{first[name]}]")
        prepared: list[tuple[apppb.Application, str, bool]] = []
        projects: dict[str, projpb.AppProject] = {}
        with _naming(batch) as at:
            for i, (app, upsert) in enumerate(items):
                at.index = i
                clean = self.checked(app, projects)
                prepared.append((clean, dumps(to_document(clean)), upsert))
            now = utcnow()
            # (event type, the old manifest of an updated row) per item
            written: list[tuple[str, str]] = []
            with self._store.transaction() as conn:
                for i, (clean, manifest, upsert) in enumerate(prepared):
                    at.index = i
                    written.append(self._write(conn, clean, manifest, upsert, now, actor, owner))
        results: list[apppb.Application] = []
        for (result, manifest, _), (event_type, old_manifest) in zip(prepared, written, strict=True):
            if event_type == "MODIFIED":
                self.record_update(result.metadata.name, old_manifest, manifest, actor)
            if event_type != "ADDED":
                result = self._read(result.metadata.name)
            if event_type:
                self._publish(event_type, result)
            results.append(result)
        return results

    def _write(
        self,
        conn: sqlite3.Connection,
        clean: apppb.Application,
        manifest: str,
        upsert: bool,
        now: str,
        actor: str,
        owner: tuple[str, str],
    ) -> tuple[str, str]:
        """One item of a create, in its transaction: the event type ("" for an unchanged upsert) and,
        for an update, the manifest it replaced. A new row's server-set fields are set on `clean`."""
        name = clean.metadata.name
        row = conn.execute(
            "SELECT manifest, resource_version, generation FROM applications WHERE name = ?", (name,)
        ).fetchone()
        if row is not None and not upsert:
            raise AlreadyExists(f"application {name!r} already exists (use --upsert to replace its spec)")
        if row is not None:
            if row[0] == manifest:
                return "", ""  # upsert of an identical spec: nothing to do
            self.write_spec(conn, clean, manifest, row, now)
            return "MODIFIED", row[0]
        uid, rv = str(uuid.uuid4()), self._next_rv(conn)
        conn.execute(
            "INSERT INTO applications (name, uid, project, manifest, manifest_pb, status, status_pb,"
            " resource_version, generation, created_at, updated_at, owner_kind, owner_name)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
            (
                name,
                uid,
                clean.spec.project,
                manifest,
                clean.SerializeToString(),
                "{}",
                b"",
                rv,
                now,
                now,
                *owner,
            ),
        )
        # In the same transaction: one commit per create (or per batch).
        self._event_log.record(
            name, eventlog.RESOURCE_CREATED, f"{by(actor)} created the application", conn=conn
        )
        # What the row now holds, without reading it back (_from_row of the new row).
        meta = clean.metadata
        meta.uid, meta.resource_version, meta.generation, meta.creation_timestamp = uid, str(rv), 1, now
        if owner[0]:
            meta.owner_references.add(api_version=API_VERSION, kind=owner[0], name=owner[1], controller=True)
        return "ADDED", ""

    # -- what an update and an upsert share -------------------------------------------------

    def write_spec(
        self, conn: sqlite3.Connection, clean: apppb.Application, manifest: str, row: sqlite3.Row, now: str
    ) -> None:
        """A new spec on an existing row (manifest, resource_version, generation), in `conn`'s
        transaction; the generation counts changes of the spec alone."""
        old = json.loads(row[0])
        spec_changed = old.get("spec") != to_document(clean).get("spec")
        generation = row[2] + (1 if spec_changed else 0)
        conn.execute(
            "UPDATE applications SET project = ?, manifest = ?, manifest_pb = ?, resource_version = ?,"
            " generation = ?, updated_at = ? WHERE name = ?",
            (
                clean.spec.project,
                manifest,
                clean.SerializeToString(),
                self._next_rv(conn),
                generation,
                now,
                clean.metadata.name,
            ),
        )

    def record_update(self, name: str, old_manifest: str, new_manifest: str, actor: str) -> None:
        changed = eventlog.changed_fields(json.loads(old_manifest), json.loads(new_manifest))
        self._event_log.record(
            name, eventlog.RESOURCE_UPDATED, f"{by(actor)} updated the application: {', '.join(changed)}"
        )

    def _next_rv(self, conn: sqlite3.Connection) -> int:
        """The next resourceVersion, in a transaction: the counter row is saved with it."""
        counter = self._rv()
        value = counter.next()
        counter.persist(conn)
        return value


class _Item:
    """Which item of a batch is being checked or written (for the error's requests[i])."""

    index = 0


@contextmanager
def _naming(batch: bool) -> Iterator[_Item]:
    """In a batch, an application error names its item: `requests[3]: spec.project: ...`."""
    item = _Item()
    try:
        yield item
    except AppError as exc:
        if not batch:
            raise
        raise type(exc)(f"requests[{item.index}]: {exc}") from None
