"""The Helm renderer sidecar: a Renderer gRPC server rendering charts with the Helm v4 SDK."""
