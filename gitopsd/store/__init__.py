"""Persistence: SQLite (WAL) through sqlite-utils, with a schema version and forward migrations."""
