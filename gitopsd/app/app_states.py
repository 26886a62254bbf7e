"""Each application's sync and health status, read a page of rows at a time (for /metrics).

A scrape wants four strings per application. Reading them through Applications.list parses every
row into a whole Application (spec, resources, operation, history) and holds all of them at once: at
10,000 applications that is tens of megabytes for each scrape, and the allocator keeps what a peak
took (docs/scaling.md). Here only the status column is read, PAGE rows per query (by name, so no
connection is held between pages), and each row's status is dropped before the next is parsed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.protojson import parse_document
from gitopsd.store import Store, loads

PAGE = 500


@dataclass(frozen=True)
class AppState:
    name: str
    project: str
    sync: str  # "" when never compared
    health: str


def app_states(store: Store, page: int = PAGE) -> Iterator[AppState]:
    """Every application's state, by name. A row written while the pages are read is seen or not,
    as in any scrape; every application present throughout is seen once."""
    after = ""
    while True:
        rows = store.query(
            # The JSON status is only read for rows written before schema v7 (no binary copy).
            "SELECT name, project, status_pb, CASE WHEN status_pb IS NULL THEN status END AS status"
            " FROM applications WHERE name > ? ORDER BY name LIMIT ?",
            (after, page),
        )
        for row in rows:
            status = apppb.ApplicationStatus()
            if row["status_pb"] is not None:
                status.ParseFromString(row["status_pb"])
            else:
                parse_document(loads(row["status"]), status)
            yield AppState(row["name"], row["project"], status.sync.status, status.health.status)
        if len(rows) < page:
            return
        after = rows[-1]["name"]
