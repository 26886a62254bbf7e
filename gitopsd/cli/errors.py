"""The CLI's own error: printed as-is on stderr, the command exits with `code`."""

from __future__ import annotations


class CLIError(Exception):
    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code
