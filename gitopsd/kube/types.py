"""Plain values shared by gitopsd.kube and its callers (pure: no ``kubernetes`` import)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceInfo:
    """What discovery says about a kind: where it is served and whether it lives in namespaces."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version
