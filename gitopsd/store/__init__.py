"""Persistence: SQLite (WAL) through sqlite-utils, with a schema version and forward migrations."""

from gitopsd.store.db import Store, StoreError, dumps, loads, utcnow

__all__ = ["Store", "StoreError", "dumps", "loads", "utcnow"]
