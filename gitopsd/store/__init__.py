"""Persistence: SQLite (WAL) through sqlite-utils, with a schema version and forward migrations."""

from gitopsd.store.db import Counter, Store, StoreError, dumps, loads, utcnow

__all__ = ["Counter", "Store", "StoreError", "dumps", "loads", "utcnow"]
