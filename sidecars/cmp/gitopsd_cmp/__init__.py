"""gitopsd-cmp: runs Argo CD Config Management Plugins (plugin.yaml) as a Renderer sidecar (see server.py)."""
