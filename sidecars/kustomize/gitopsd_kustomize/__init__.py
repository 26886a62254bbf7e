"""The Kustomize renderer sidecar: a Renderer gRPC server running the pinned kustomize."""
