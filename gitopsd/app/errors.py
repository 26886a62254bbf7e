"""Errors of the application layer; the gRPC servicers map each to one status code."""

from __future__ import annotations


class AppError(Exception):
    """Base class: the message is meant for the user as-is."""


class InvalidArgument(AppError):
    """The request or document is malformed; the message names the field."""


class NotFound(AppError):
    pass


class AlreadyExists(AppError):
    pass


class Conflict(AppError):
    """A stale resourceVersion or a concurrent change."""


class FailedPrecondition(AppError):
    """The request is valid but the system is not in a state that allows it."""


class Unavailable(AppError):
    """A dependency (cluster, repository, renderer) cannot be reached."""
