"""The sources package's own exceptions: git, path-safety, limit and renderer failures.

Every error raised out of gitopsd.sources is a SourceError; its message is meant to be
shown to a user as-is (an application's ComparisonError) and never contains a secret.
"""

from __future__ import annotations

import enum


class SourceError(Exception):
    """Base class: a source could not be turned into manifests."""


class RepoErrorKind(enum.StrEnum):
    NOT_FOUND = "repository not found"
    UNREACHABLE = "repository unreachable"
    AUTH_FAILED = "authentication failed"
    REVISION_NOT_FOUND = "revision not found"
    INVALID_URL = "invalid repository URL"
    TOO_LARGE = "repository too large"
    FAILED = "git failed"


class RepoError(SourceError):
    """A git operation failed; `kind` says which way, the message is already scrubbed."""

    def __init__(self, kind: RepoErrorKind, repo: str, detail: str = "") -> None:
        self.kind = kind
        self.repo = repo
        self.detail = detail
        text = f"{kind.value}: {repo}"
        if detail:
            text += f": {detail}"
        super().__init__(text)


class UnsafePathError(SourceError):
    """The source tries to read outside its repository (path, symlink or value file)."""


class LimitExceededError(SourceError):
    """A size limit on repository files or rendered output was hit."""


class ManifestError(SourceError):
    """A manifest file does not parse or is not a Kubernetes object."""


class SourceSpecError(SourceError):
    """The application source itself is wrong (conflicting blocks, missing fields, unknown plugin)."""


class RendererError(SourceError):
    """A renderer answered with an error (the source does not render)."""

    def __init__(self, renderer: str, message: str, code: str = "") -> None:
        self.renderer = renderer
        self.code = code
        # Repositories the renderer fetched without credentials when it failed (a Helm chart's
        # dependencies): the caller may try again with the credentials it holds for them.
        self.needs_credentials: tuple[str, ...] = ()
        super().__init__(message)


class RendererUnavailableError(RendererError):
    """The renderer is not running, crashed or does not answer."""


class RenderTimeoutError(RendererError):
    """The renderer did not finish within the render timeout."""
