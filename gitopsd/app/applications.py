"""Applications, persisted: create, read, list, update, delete and status updates.

The spec is the generated protobuf message end to end (one schema: Argo CD's),
stored as its canonical JSON document; status is stored beside it so that the
reconciler can write status without touching the user's spec.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app import eventlog
from gitopsd.app.errors import AlreadyExists, AppError, Conflict, InvalidArgument, NotFound
from gitopsd.app.eventlog import EventLog
from gitopsd.app.events import EventBus
from gitopsd.app.project_rules import application_denial
from gitopsd.app.projects import Projects
from gitopsd.app.selectors import parse_selector
from gitopsd.app.validation import API_VERSION, SERVER_SET_FIELDS, validate_application
from gitopsd.protojson import parse_document, to_document
from gitopsd.sources.localrepos import ProtectedPaths
from gitopsd.store import Counter, Store, dumps, loads, utcnow


class Applications:
    def __init__(
        self,
        store: Store,
        events: EventBus | None = None,
        projects: Projects | None = None,
        protected: ProtectedPaths | None = None,
    ) -> None:
        """protected: directories no file:// repository may point into (the daemon's own)."""
        self._store = store
        self._protected = protected or ProtectedPaths()
        self.event_log = EventLog(store)
        self._events = events or EventBus()
        self._projects = projects or Projects(store)

    # -- reading ---------------------------------------------------------------

    def _from_row(self, r: sqlite3.Row) -> apppb.Application:
        # The binary copies when present (every row written since schema v7): ~50x cheaper to parse.
        app = apppb.Application()
        if r["manifest_pb"] is not None:
            app.ParseFromString(r["manifest_pb"])
        else:
            parse_document(loads(r["manifest"]), app)
        if r["status_pb"] is not None:
            app.status.ParseFromString(r["status_pb"])
        else:
            parse_document(loads(r["status"]), app.status)
        meta = app.metadata
        meta.uid = r["uid"]
        meta.resource_version = str(r["resource_version"])
        meta.generation = r["generation"]
        meta.creation_timestamp = r["created_at"]
        if r["owner_kind"]:  # a child of an app of apps or an ApplicationSet (generators.ownership)
            meta.owner_references.add(
                api_version=API_VERSION, kind=r["owner_kind"], name=r["owner_name"], controller=True
            )
        return app

    def get(self, name: str) -> apppb.Application:
        row = self._store.query_one("SELECT * FROM applications WHERE name = ?", (name,))
        if row is None:
            raise NotFound(f"application {name!r} not found")
        return self._from_row(row)

    def exists(self, name: str) -> bool:
        return self._store.query_one("SELECT 1 FROM applications WHERE name = ?", (name,)) is not None

    def resource_version(self, name: str) -> str | None:
        """The row's resourceVersion (None: no such application): whether a copy read earlier is
        still current, for the price of an index lookup instead of reading and parsing the row."""
        row = self._store.query_one("SELECT resource_version FROM applications WHERE name = ?", (name,))
        return None if row is None else str(row[0])

    def rbac_objects(self) -> list[str]:
        """`PROJECT/NAME` of every application (RBAC objects), without parsing any application."""
        rows = self._store.query("SELECT project, name FROM applications ORDER BY name")
        return [f"{r['project'] or 'default'}/{r['name']}" for r in rows]

    def list(
        self, projects: Iterable[str] = (), selector: str = "", repo: str = ""
    ) -> builtins.list[apppb.Application]:
        wanted = sorted(set(projects))
        match = parse_selector(selector) if selector else None
        apps = []
        where = f" WHERE project IN ({', '.join('?' * len(wanted))})" if wanted else ""
        for row in self._store.query(f"SELECT * FROM applications{where} ORDER BY name", tuple(wanted)):  # noqa: S608 - placeholders only
            app = self._from_row(row)
            if match and not match(dict(app.metadata.labels)):
                continue
            if (
                repo
                and app.spec.source.repo_url != repo
                and all(s.repo_url != repo for s in app.spec.sources)
            ):
                continue
            apps.append(app)
        return apps

    def specs_of_all(self) -> Iterator[apppb.Application]:
        """Every application's metadata and spec, without its status or server-set fields, by name.

        For what matches all applications on their sources (a webhook push): the status is most of a
        row and of its parse, and the JSON spec is read only for rows written before schema v7."""
        rows = self._store.query(
            "SELECT name, manifest_pb, CASE WHEN manifest_pb IS NULL THEN manifest END AS manifest"
            " FROM applications ORDER BY name"
        )
        for row in rows:  # parsed one at a time, as the caller goes
            app = apppb.Application()
            if row["manifest_pb"] is not None:
                app.ParseFromString(row["manifest_pb"])
            else:
                parse_document(loads(row["manifest"]), app)
            yield app

    # -- writing ---------------------------------------------------------------

    @staticmethod
    def _normalize(app: apppb.Application) -> apppb.Application:
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

    def _check_project(
        self, app: apppb.Application, seen: dict[str, projpb.AppProject] | None = None
    ) -> None:
        """The project must exist and permit the application's sources and destination.
        seen: projects already read in this request (a batch reads each once)."""
        name = app.spec.project
        project = seen.get(name) if seen is not None else None
        if project is None:
            try:
                project = self._projects.get(name)
            except NotFound:
                raise InvalidArgument(
                    f"spec.project: project {name!r} does not exist (create it with gitopsd proj create)"
                ) from None
            if seen is not None:
                seen[name] = project
        denial = application_denial(project, app)
        if denial:
            raise InvalidArgument(f"spec: {denial}")

    def _check_local_repos(self, app: apppb.Application) -> None:
        sources = [("spec.source", app.spec.source)] if app.spec.HasField("source") else []
        sources += [(f"spec.sources[{i}]", s) for i, s in enumerate(app.spec.sources)]
        for path, source in sources:
            # A moment-old answer will do: git checks afresh before it reads (gitcache_base._git).
            denial = self._protected.denial(source.repo_url, fresh=False)
            if denial:
                raise InvalidArgument(f"{path}.repoURL: {denial}")

    def create(
        self, app: apppb.Application, upsert: bool = False, actor: str = "", owner: tuple[str, str] = ("", "")
    ) -> apppb.Application:
        """actor: who asks (for the event log); owner: (kind, name) recorded on a new row, for the
        children gitopsd.app.generators.ownership creates (an upsert never changes an existing owner)."""
        return self._create([(app, upsert)], actor, owner, batch=False)[0]

    def create_many(
        self, items: Sequence[tuple[apppb.Application, bool]], actor: str = ""
    ) -> builtins.list[apppb.Application]:
        """(application, upsert) pairs, each checked as by create(); all are stored or none (one
        transaction), and an error names its item as requests[i] (BatchCreate's field)."""
        first: dict[str, int] = {}
        for i, (app, _) in enumerate(items):
            name = app.metadata.name
            if name and first.setdefault(name, i) != i:
                raise InvalidArgument(f"requests[{i}]: application {name!r} is also requests[{first[name]}]")
        return self._create(items, actor, ("", ""), batch=True)

    def _create(
        self,
        items: Sequence[tuple[apppb.Application, bool]],
        actor: str,
        owner: tuple[str, str],
        batch: bool,
    ) -> builtins.list[apppb.Application]:
        prepared: list[tuple[apppb.Application, str, bool]] = []
        projects: dict[str, projpb.AppProject] = {}
        with _naming(batch) as at:
            for i, (app, upsert) in enumerate(items):
                at.index = i
                validate_application(app)
                clean = self._normalize(app)
                self._check_local_repos(clean)
                self._check_project(clean, projects)
                prepared.append((clean, dumps(to_document(clean)), upsert))
            now = utcnow()
            # (event type, the old manifest of an updated row) per item
            written: list[tuple[str, str]] = []
            with self._store.transaction() as conn:
                for i, (clean, manifest, upsert) in enumerate(prepared):
                    at.index = i
                    written.append(self._write(conn, clean, manifest, upsert, now, actor, owner))
        results: builtins.list[apppb.Application] = []
        for (result, manifest, _), (event_type, old_manifest) in zip(prepared, written, strict=True):
            if event_type == "MODIFIED":
                self._record_update(result.metadata.name, old_manifest, manifest, actor)
            if event_type != "ADDED":
                result = self.get(result.metadata.name)
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
            self._write_spec(conn, clean, manifest, row, now)
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
        self.event_log.record(
            name, eventlog.RESOURCE_CREATED, f"{_by(actor)} created the application", conn=conn
        )
        # What the row now holds, without reading it back (_from_row of the new row).
        meta = clean.metadata
        meta.uid, meta.resource_version, meta.generation, meta.creation_timestamp = uid, str(rv), 1, now
        if owner[0]:
            meta.owner_references.add(api_version=API_VERSION, kind=owner[0], name=owner[1], controller=True)
        return "ADDED", ""

    def _record_update(self, name: str, old_manifest: str, new_manifest: str, actor: str) -> None:
        changed = eventlog.changed_fields(json.loads(old_manifest), json.loads(new_manifest))
        self.event_log.record(
            name, eventlog.RESOURCE_UPDATED, f"{_by(actor)} updated the application: {', '.join(changed)}"
        )

    def update(self, app: apppb.Application, actor: str = "") -> apppb.Application:
        """actor: who asks (for the event log)."""
        validate_application(app)
        clean = self._normalize(app)
        self._check_local_repos(clean)
        self._check_project(clean)
        name = clean.metadata.name
        with self._store.transaction() as conn:
            row = conn.execute(
                "SELECT manifest, resource_version, generation FROM applications WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise NotFound(f"application {name!r} not found")
            sent_rv = app.metadata.resource_version
            if sent_rv and sent_rv != str(row[1]):
                raise Conflict(
                    f"application {name!r} was modified since it was read (resourceVersion {sent_rv}, now {row[1]}); read it again"
                )
            manifest = dumps(to_document(clean))
            changed = row[0] != manifest
            if changed:
                self._write_spec(conn, clean, manifest, row, utcnow())
        result = self.get(name)
        if changed:
            self._record_update(name, row[0], manifest, actor)
            self._publish("MODIFIED", result)
        return result

    def _write_spec(
        self, conn: sqlite3.Connection, clean: apppb.Application, manifest: str, row: sqlite3.Row, now: str
    ) -> None:
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

    def set_status(
        self, name: str, status: apppb.ApplicationStatus, read: apppb.Application | None = None
    ) -> apppb.Application:
        """read: the application as read before the change; when its row has not changed since (same
        resourceVersion), the result is built from it instead of reading and parsing the row again."""
        # Binary only: the JSON status column is read just for rows written before schema v7.
        document = status.SerializeToString()
        # One statement each, no BEGIN/COMMIT around them: the write lock is held for as little as
        # possible (every comparison and sync writes a status). The row keeps its resourceVersion;
        # the counter row is not written (Store.counter starts above the highest row).
        with self._store.statements() as conn:
            rv = self._rv().next()
            cur = None
            if read is not None and read.metadata.resource_version:
                cur = conn.execute(
                    "UPDATE applications SET status = '{}', status_pb = ?, resource_version = ?"
                    " WHERE name = ? AND resource_version = ?",
                    (document, rv, name, int(read.metadata.resource_version)),
                )
            if cur is None or cur.rowcount == 0:
                read = None  # changed meanwhile (a spec update): write anyway, then read it back
                cur = conn.execute(
                    "UPDATE applications SET status = '{}', status_pb = ?, resource_version = ? WHERE name = ?",
                    (document, rv, name),
                )
            if cur.rowcount == 0:
                raise NotFound(f"application {name!r} not found")
        if read is not None:
            result = apppb.Application()
            result.CopyFrom(read)
            result.status.CopyFrom(status)
            result.metadata.resource_version = str(rv)
        else:
            result = self.get(name)
        self._publish("MODIFIED", result)
        return result

    def delete(self, name: str, actor: str = "", detail: str = "") -> apppb.Application:
        """actor: who asks; detail: what happened to its resources (both for the event log)."""
        app = self.get(name)
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM applications WHERE name = ?", (name,))
            # The deleted row may hold the highest resourceVersion: the counter row keeps it.
            self._rv().persist(conn)
        self.event_log.record(
            name,
            eventlog.RESOURCE_DELETED,
            f"{_by(actor)} deleted the application" + (f" ({detail})" if detail else ""),
        )
        self._publish("DELETED", app)
        return app

    def _rv(self) -> Counter:
        # One counter across all applications, like etcd's revision: a watcher can order events.
        return self._store.counter("applications", "SELECT MAX(resource_version) FROM applications")

    def _next_rv(self, conn: sqlite3.Connection) -> int:
        """The next resourceVersion, in a transaction: the counter row is saved with it."""
        counter = self._rv()
        value = counter.next()
        counter.persist(conn)
        return value

    def _publish(self, event_type: str, app: apppb.Application) -> None:
        self._events.publish(apppb.ApplicationEvent(type=event_type, application=app, timestamp=utcnow()))


def _by(actor: str) -> str:
    return actor or "an unknown user"


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
