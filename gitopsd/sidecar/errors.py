"""Renderer errors and their gRPC status codes, plus message hygiene (truncation, secret scrubbing).

Renderers raise these; the sidecar server (gitopsd.sidecar.server) turns them into gRPC statuses
as the Renderer contract in proto/gitopsd/v1/renderer.proto describes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence

import grpc

from gitopsd.redact import mask_all

# Error texts can be huge (Helm's infinite include recursion gives ~97 KB); the daemon shows
# them to users, so keep the head, which names the failing template.
MAX_MESSAGE_CHARS = 4096

# Credentials embedded in URLs ("https://user:pw@host/...").


class RenderError(Exception):
    """A render failure with the gRPC status code the Renderer contract assigns to it."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, message: str, needs_credentials: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        # Repositories fetched without credentials when the failure happened (a Helm chart's
        # dependencies): sent as trailing metadata (NEEDS_CREDENTIALS_KEY) so the daemon can try
        # again with the credentials it holds for them, sending no others.
        self.needs_credentials = tuple(needs_credentials)


# Trailing metadata of a failed Render: a JSON list of repository URLs (see RenderError).
NEEDS_CREDENTIALS_KEY = "gitopsd-needs-credentials-bin"


class InvalidSource(RenderError):
    """The source itself is wrong: bad chart, bad kustomization, bad parameters, a path escaping the tree."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class PreconditionFailed(RenderError):
    """Something the source needs is missing or unreachable (a file, a chart repository)."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class LimitExceeded(RenderError):
    """A size limit was hit (input files, chart archive, rendered output)."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class DeadlineExceeded(RenderError):
    """The render did not finish within its timeout and was abandoned."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED


def truncate_message(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Cut a message to `limit` characters, saying how much was dropped."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}... [{len(message) - limit} more characters truncated]"


def scrub_secrets(message: str, secrets: Iterable[str]) -> str:
    """Remove secrets (and their usual encodings) and URL-embedded credentials from a message."""
    variants = [v for s in secrets if s for v in (s, base64.b64encode(s.encode()).decode())]
    return mask_all(message, variants)


def credential_variants(username: str, password: str) -> list[str]:
    """The strings under which a username/password pair may show up in an error (for scrubbing)."""
    variants = [password]
    if username and password:
        variants.append(base64.b64encode(f"{username}:{password}".encode()).decode())
    return variants
