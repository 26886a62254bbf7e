"""Password hashing with Argon2id (argon2-cffi), and the constant-time check.

Every login runs exactly one Argon2 verification: against the account's hash, or
against a dummy hash when the user is unknown, disabled or has no password, so the
time a login takes does not tell whether the user exists.
"""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


class Passwords:
    def __init__(self) -> None:
        self._hasher = PasswordHasher()
        # Hashed once with the same parameters as real hashes: verifying it costs the same.
        self._dummy = self._hasher.hash(secrets.token_urlsafe(24))
        self._lock = threading.Lock()
        self.dummy_verifications = 0
        self.account_verifications = 0

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if password matches stored_hash; with None, burns one verification and returns False."""
        candidate = password[:MAX_PASSWORD_LENGTH]
        with self._lock:
            if stored_hash is None:
                self.dummy_verifications += 1
            else:
                self.account_verifications += 1
        try:
            ok = self._hasher.verify(stored_hash or self._dummy, candidate)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return ok and stored_hash is not None


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def check_new_password(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"the new password must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"the new password must be at most {MAX_PASSWORD_LENGTH} characters long"
    return None
