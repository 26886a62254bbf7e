"""Turning sources into manifests: repo cache, source detection, directory rendering, renderer client.

Sits under gitopsd.app (which calls it) and above nothing of the project but the generated
API types. The daemon uses:

- `open_sources(SourcesSettings(...), credentials_lookup)` -> `Sources` (start/stop); the lookup
  answers (normalized URL, project) with the credentials that project may use
- `Sources.renderer.render(app_name, source, namespace, ..., project=...)` -> `RenderResult`
- `Sources.repo_cache`: `resolve`, `resolve_sha`, `list_refs`, `ls_remote` (each with `project=`,
  or a `RepoAccess` from `access(url, project)`), `new_interval`
- `localrepos.ProtectedPaths`: the daemon's own directories no file:// repository may reach
- `Sources.supervisor.status()` for the sidecars' state.

Every failure is a `SourceError` whose message can be shown to a user as-is.
"""

from gitopsd.sources.detect import SourceType, detect_source_type
from gitopsd.sources.errors import (
    LimitExceededError,
    ManifestError,
    RendererError,
    RendererUnavailableError,
    RenderTimeoutError,
    RepoError,
    RepoErrorKind,
    SourceError,
    SourceSpecError,
    UnsafePathError,
)
from gitopsd.sources.gitauth import CredentialsLookup, RepoCredentials
from gitopsd.sources.gitcache import CommitInfo, GitTimeouts, Refs, RepoCache, RepoStats
from gitopsd.sources.giturl import normalize_repo_url, redact_url
from gitopsd.sources.render import (
    MANIFEST_GENERATE_PATHS,
    RenderCounters,
    RendererRegistry,
    RenderResult,
    SourceRenderer,
)
from gitopsd.sources.renderer_client import RendererClient, RendererInfo
from gitopsd.sources.safety import Limits
from gitopsd.sources.sidecars import SidecarConfig, SidecarStatus, SidecarSupervisor
from gitopsd.sources.wiring import Sources, SourcesSettings, open_sources

__all__ = [
    "MANIFEST_GENERATE_PATHS",
    "CommitInfo",
    "CredentialsLookup",
    "GitTimeouts",
    "LimitExceededError",
    "Limits",
    "ManifestError",
    "Refs",
    "RenderCounters",
    "RenderResult",
    "RenderTimeoutError",
    "RendererClient",
    "RendererError",
    "RendererInfo",
    "RendererRegistry",
    "RendererUnavailableError",
    "RepoCache",
    "RepoCredentials",
    "RepoError",
    "RepoErrorKind",
    "RepoStats",
    "SidecarConfig",
    "SidecarStatus",
    "SidecarSupervisor",
    "SourceError",
    "SourceRenderer",
    "SourceSpecError",
    "SourceType",
    "Sources",
    "SourcesSettings",
    "UnsafePathError",
    "detect_source_type",
    "normalize_repo_url",
    "open_sources",
    "redact_url",
]
