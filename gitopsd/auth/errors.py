"""Errors of the auth layer; the gRPC edge maps them to UNAUTHENTICATED / PERMISSION_DENIED.

Messages are meant for the user as-is and never carry a password or a token."""

from __future__ import annotations

from gitopsd.app.errors import AppError


class Unauthenticated(AppError):
    """No token, or a token that is malformed, tampered, expired or revoked; or a failed login."""


class PermissionDenied(AppError):
    """The caller is known but the policy does not allow the action."""
