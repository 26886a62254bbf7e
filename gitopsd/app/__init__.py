"""The application model: apps, projects, clusters, repos, operations and history, on top of the store."""
