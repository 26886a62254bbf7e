"""The GitOps engine: compare, diff, health, sync planning. Knows nothing of apps, SQLite, gRPC or Git."""
