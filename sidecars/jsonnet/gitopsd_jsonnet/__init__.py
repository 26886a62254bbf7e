"""gitopsd-jsonnet: the Jsonnet Renderer sidecar for Directory sources (see server.py)."""
