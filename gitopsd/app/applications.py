"""Applications, persisted: the one facade of the application layer's store (create, read, list,
update, delete and status updates).

The spec is the generated protobuf message end to end (one schema: Argo CD's), stored as its
canonical JSON document and as binary protobuf; status is stored beside it so that the reconciler
can write status without touching the user's spec. The create path and the checks of every stored
spec live in gitopsd.app.app_writes (AppWriter, owned here); this module keeps the reads, update,
status writes, delete and the resourceVersion counter.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app import eventlog
from gitopsd.app.app_writes import AppWriter, by
from gitopsd.app.errors import Conflict, NotFound
from gitopsd.app.eventlog import EventLog
from gitopsd.app.events import EventBus
from gitopsd.app.fieldselect import Selection
from gitopsd.app.projects import Projects
from gitopsd.app.reconciled_at import ReconciledTimes
from gitopsd.app.selectors import parse_selector
from gitopsd.app.validation import API_VERSION
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
        self.event_log = EventLog(store)
        self._events = events or EventBus()
        # Comparisons that changed nothing else record just their time (gitopsd.app.reconciled_at).
        self._times = ReconciledTimes(store)
        self._writer = AppWriter(
            store,
            projects or Projects(store),
            protected or ProtectedPaths(),
            self.event_log,
            self._rv,
            self.get,
            self._publish,
        )

    # -- reading ---------------------------------------------------------------

    def _from_row(self, r: sqlite3.Row) -> apppb.Application:
        app = apppb.Application()
        _parse_manifest(app, r)
        _parse_status_and_meta(app, r, self._times)
        return app

    def get(self, name: str) -> apppb.Application:
        row = self._store.query_one(f"SELECT {_ROW_COLUMNS} FROM applications WHERE name = ?", (name,))  # noqa: S608 - a constant
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
        """As list_into, each application a message of its own (one kept does not keep the others)."""
        match = parse_selector(selector) if selector else None
        apps = []
        for row in self._list_rows(projects, ""):
            app = apppb.Application()
            _parse_manifest(app, row)
            if _matches(app, match, repo):
                _parse_status_and_meta(app, row, self._times)
                apps.append(app)
        return apps

    def list_into(
        self,
        reply: apppb.ApplicationList,
        projects: Iterable[str] = (),
        selector: str = "",
        repo: str = "",
        name: str = "",
        selection: Selection | None = None,
    ) -> None:
        """Appends to reply.items the applications of `projects` (all when empty) named `name` (any
        when empty) whose labels match `selector` and that have a source from `repo`, by name;
        with a selection, only its fields of each (gitopsd.app.fieldselect).

        Each row is parsed straight into the reply (a List of all at 10,000 applications is ~10 MB
        of messages: built once, not copied), and its status only once its spec has matched."""
        match = parse_selector(selector) if selector else None
        items = reply.items
        if selection is not None:
            self._select_into(items, self._list_rows(projects, name), match, repo, selection)
            return
        for row in self._list_rows(projects, name):
            app = items.add()
            _parse_manifest(app, row)
            if not _matches(app, match, repo):
                del items[-1]
                continue
            _parse_status_and_meta(app, row, self._times)

    def _select_into(
        self,
        items: Any,
        rows: Iterable[sqlite3.Row],
        match: Callable[[dict[str, str]], bool] | None,
        repo: str,
        selection: Selection,
    ) -> None:
        """list_into with a selection: each row's binary spec (and status, if selected) is parsed
        into the selection's own message type, which keeps the selected fields alone; the reply
        item is parsed from what that leaves (a few hundred bytes instead of ~1 KB)."""
        whole = apppb.Application()  # for the filters, and for rows from before schema v7
        with_status = selection.selects("status")
        with_time = selection.selects("status", "reconciled_at")
        with_meta = any(selection.selects("metadata", f) for f in _SERVER_META)
        cut = selection.new()
        for row in rows:
            spec = row["manifest_pb"]
            if match is not None or repo or spec is None:
                whole.Clear()
                _parse_manifest(whole, row)
                if not _matches(whole, match, repo):
                    continue
                spec = spec or whole.SerializeToString()
            cut.ParseFromString(spec)
            if with_status:
                status = row["status_pb"]
                if status is None:
                    whole.status.Clear()
                    parse_document(loads(row["status"]), whole.status)
                    status = whole.status.SerializeToString()
                cut.status.MergeFromString(status)  # type: ignore[attr-defined]
            if with_time:  # a comparison's time may be in the column, or not written yet
                stamp = apppb.ApplicationStatus(reconciled_at=cut.status.reconciled_at)  # type: ignore[attr-defined]
                _overlay_reconciled_at(stamp, row, self._times)
                cut.status.reconciled_at = stamp.reconciled_at  # type: ignore[attr-defined]
            if with_meta:
                meta = apppb.Application()
                _set_meta(meta, row)
                cut.MergeFromString(meta.SerializeToString())
            cut.DiscardUnknownFields()
            items.add().ParseFromString(cut.SerializeToString())

    def _list_rows(self, projects: Iterable[str], name: str) -> builtins.list[sqlite3.Row]:
        """The rows of `projects` (all when empty) named `name` (any when empty), by name."""
        wanted = sorted(set(projects))
        conditions, params = [], []
        if wanted:
            conditions.append(f"project IN ({', '.join('?' * len(wanted))})")
            params += wanted
        if name:
            conditions.append("name = ?")
            params.append(name)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        return self._store.query(f"SELECT {_ROW_COLUMNS} FROM applications{where} ORDER BY name", tuple(params))  # noqa: S608 - placeholders only

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

    def check_local_repos(self, app: apppb.Application) -> None:
        """Refuses a source that is a file:// repository inside the daemon's own directories."""
        self._writer.check_local_repos(app)

    def create(
        self, app: apppb.Application, upsert: bool = False, actor: str = "", owner: tuple[str, str] = ("", "")
    ) -> apppb.Application:
        """actor: who asks (for the event log); owner: (kind, name) recorded on a new row, for the
        children gitopsd.app.generators.ownership creates (an upsert never changes an existing owner)."""
        return self._writer.create([(app, upsert)], actor, owner, batch=False)[0]

    def create_many(
        self, items: Sequence[tuple[apppb.Application, bool]], actor: str = ""
    ) -> builtins.list[apppb.Application]:
        """(application, upsert) pairs, each checked as by create(); all are stored or none (one
        transaction), and an error names its item as requests[i] (BatchCreate's field)."""
        return self._writer.create(items, actor, ("", ""), batch=True)

    def update(self, app: apppb.Application, actor: str = "") -> apppb.Application:
        """actor: who asks (for the event log)."""
        clean = self._writer.checked(app, {})
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
                self._writer.write_spec(conn, clean, manifest, row, utcnow())
        result = self.get(name)
        if changed:
            self._writer.record_update(name, row[0], manifest, actor)
            self._publish("MODIFIED", result)
        return result

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
                    "UPDATE applications SET status = '{}', status_pb = ?, resource_version = ?,"
                    " reconciled_at = MAX(reconciled_at, ?) WHERE name = ? AND resource_version = ?",
                    (document, rv, status.reconciled_at, name, int(read.metadata.resource_version)),
                )
            if cur is None or cur.rowcount == 0:
                read = None  # changed meanwhile (a spec update): write anyway, then read it back
                cur = conn.execute(
                    "UPDATE applications SET status = '{}', status_pb = ?, resource_version = ?,"
                    " reconciled_at = MAX(reconciled_at, ?) WHERE name = ?",
                    (document, rv, status.reconciled_at, name),
                )
            if cur.rowcount == 0:
                raise NotFound(f"application {name!r} not found")
        if read is not None:
            result = apppb.Application()
            result.CopyFrom(read)
            result.status.CopyFrom(status)
            result.status.reconciled_at = self._times.latest(name, status.reconciled_at)
            result.metadata.resource_version = str(rv)
        else:
            result = self.get(name)
        self._publish("MODIFIED", result)
        return result

    def set_reconciled(self, app: apppb.Application, when: str) -> apppb.Application:
        """A comparison of `app` (as its row holds it now) at `when` changed nothing else of its
        status: the time is recorded without rewriting the status (gitopsd.app.reconciled_at), `app`
        is given it and returned. Its resourceVersion stays; a Watch stream open on the application
        is still told, so a dashboard showing when it was last compared stays true."""
        name = app.metadata.name
        self._times.record(name, when)
        app.status.reconciled_at = self._times.latest(name, app.status.reconciled_at)
        if self._events.watched(app):
            self._publish("MODIFIED", app)
        return app

    def flush(self) -> None:
        """Writes the comparison times not written yet (the end of a pass, the daemon's stop)."""
        self._times.flush()

    def delete(self, name: str, actor: str = "", detail: str = "") -> apppb.Application:
        """actor: who asks; detail: what happened to its resources (both for the event log)."""
        app = self.get(name)
        self._times.forget(name)
        with self._store.transaction() as conn:
            conn.execute("DELETE FROM applications WHERE name = ?", (name,))
            # The deleted row may hold the highest resourceVersion: the counter row keeps it.
            self._rv().persist(conn)
        self.event_log.record(
            name,
            eventlog.RESOURCE_DELETED,
            f"{by(actor)} deleted the application" + (f" ({detail})" if detail else ""),
        )
        self._publish("DELETED", app)
        return app

    def _rv(self) -> Counter:
        # One counter across all applications, like etcd's revision: a watcher can order events.
        return self._store.counter("applications", "SELECT MAX(resource_version) FROM applications")

    def _publish(self, event_type: str, app: apppb.Application) -> None:
        self._events.publish(apppb.ApplicationEvent(type=event_type, application=app, timestamp=utcnow()))


# What a read (get, list) takes of a row: the binary copies, and a JSON one only where a row from before schema
# v7 has no binary copy (the JSON status is most of such a row).
_ROW_COLUMNS = (
    "name, uid, resource_version, generation, created_at, owner_kind, owner_name, reconciled_at, manifest_pb,"
    " CASE WHEN manifest_pb IS NULL THEN manifest END AS manifest, status_pb,"
    " CASE WHEN status_pb IS NULL THEN status END AS status"
)


# The metadata fields a row holds in columns of their own (set by the server, not in manifest_pb).
_SERVER_META = ("uid", "resource_version", "generation", "creation_timestamp", "owner_references")


def _matches(app: apppb.Application, match: Callable[[dict[str, str]], bool] | None, repo: str) -> bool:
    """Whether an application's labels match the selector and one of its sources is from `repo`."""
    if match is not None and not match(dict(app.metadata.labels)):
        return False
    return not repo or app.spec.source.repo_url == repo or any(s.repo_url == repo for s in app.spec.sources)


def _parse_manifest(app: apppb.Application, r: sqlite3.Row) -> None:
    # The binary copy when present (every row written since schema v7): ~50x cheaper to parse.
    if r["manifest_pb"] is not None:
        app.ParseFromString(r["manifest_pb"])
    else:
        parse_document(loads(r["manifest"]), app)


def _parse_status_and_meta(app: apppb.Application, r: sqlite3.Row, times: ReconciledTimes) -> None:
    """The status and server-set metadata of a row, onto `app` (its manifest already parsed); its
    reconciledAt is the latest of the status's, the row's column and one not yet written."""
    if r["status_pb"] is not None:
        app.status.ParseFromString(r["status_pb"])
    else:
        parse_document(loads(r["status"]), app.status)
    _overlay_reconciled_at(app.status, r, times)
    _set_meta(app, r)


def _overlay_reconciled_at(status: apppb.ApplicationStatus, r: sqlite3.Row, times: ReconciledTimes) -> None:
    """status.reconciledAt: the latest of the status's own, the row's column and one not yet written."""
    stored = r["reconciled_at"] if r["reconciled_at"] > status.reconciled_at else status.reconciled_at
    latest = times.latest(r["name"], stored)
    if latest != status.reconciled_at:
        status.reconciled_at = latest


def _set_meta(app: apppb.Application, r: sqlite3.Row) -> None:
    """The server-set metadata of a row, onto `app` (its manifest already parsed)."""
    meta = app.metadata
    meta.uid = r["uid"]
    meta.resource_version = str(r["resource_version"])
    meta.generation = r["generation"]
    meta.creation_timestamp = r["created_at"]
    if r["owner_kind"]:  # a child of an app of apps or an ApplicationSet (generators.ownership)
        meta.owner_references.add(
            api_version=API_VERSION, kind=r["owner_kind"], name=r["owner_name"], controller=True
        )
