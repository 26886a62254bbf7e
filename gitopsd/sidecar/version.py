"""The gitopsd version a sidecar reports in GetCapabilities."""

from __future__ import annotations

from importlib import metadata


def package_version() -> str:
    """The installed gitopsd distribution's version (metadata works with editable installs too)."""
    try:
        return metadata.version("gitopsd")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"
