"""Kubernetes access through the official client; API errors are mapped to our own types here."""
