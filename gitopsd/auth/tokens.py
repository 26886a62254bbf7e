"""Signed bearer tokens: JWT (HS256) with a random key kept in the data dir.

A token carries its subject (`admin`, `alice`, `proj:PROJECT:ROLE`), issued-at,
expiry (absent: none), an id and, for login sessions, the account's session generation
(`gen`, bumped by a password change); the signature is HMAC-SHA256 over the header and
claims, checked in constant time. Revocation and account checks live in accounts.py:
this module only proves that the daemon issued the token and that it is not expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from gitopsd.auth.errors import Unauthenticated

ISSUER = "gitopsd"
KEY_FILENAME = "token.key"
# A token is a few hundred bytes; anything much larger is not ours.
MAX_TOKEN_BYTES = 4096
_HEADER = {"alg": "HS256", "typ": "JWT"}


@dataclass(frozen=True)
class Claims:
    subject: str
    issued_at: int
    expires_at: int  # 0: no expiry
    token_id: str
    # Login sessions: the account's session generation at login; None for API keys, project
    # tokens and sessions issued before generations existed.
    generation: int | None = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_or_create_key(directory: Path) -> bytes:
    """The signing key, created (32 random bytes, mode 0600) on first use."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / KEY_FILENAME
    try:
        key = path.read_bytes()
        if len(key) >= 32:
            return key
    except FileNotFoundError:
        pass
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    tmp.replace(path)
    return key


class TokenSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, signing_input: bytes) -> bytes:
        return hmac.new(self._key, signing_input, hashlib.sha256).digest()

    def issue(
        self,
        subject: str,
        ttl_seconds: int,
        token_id: str = "",
        now: int | None = None,
        generation: int | None = None,
    ) -> tuple[str, Claims]:
        """A new token for subject; ttl 0 means it never expires."""
        issued = int(time.time()) if now is None else now
        claims = Claims(
            subject,
            issued,
            issued + ttl_seconds if ttl_seconds > 0 else 0,
            token_id or str(uuid.uuid4()),
            generation,
        )
        body: dict[str, object] = {"iss": ISSUER, "sub": subject, "iat": issued, "jti": claims.token_id}
        if claims.expires_at:
            body["exp"] = claims.expires_at
        if generation is not None:
            body["gen"] = generation
        head = _b64(json.dumps(_HEADER, separators=(",", ":")).encode())
        payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        signing_input = f"{head}.{payload}".encode()
        return f"{head}.{payload}.{_b64(self._sign(signing_input))}", claims

    def verify(self, token: str, now: float | None = None) -> Claims:
        """The token's claims; Unauthenticated (never naming the token) if it is not valid now."""
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("malformed token: too long")
        parts = token.split(".")
        if len(parts) != 3 or not all(parts):
            raise Unauthenticated("malformed token: expected a JWT (three dot-separated parts)")
        head, payload, signature = parts
        try:
            given = _unb64(signature)
        except (binascii.Error, ValueError):
            raise Unauthenticated("malformed token: bad signature encoding") from None
        if not hmac.compare_digest(given, self._sign(f"{head}.{payload}".encode())):
            raise Unauthenticated(
                "invalid token: the signature does not match (tampered, or issued by another daemon)"
            )
        try:
            header = json.loads(_unb64(head))
            body = json.loads(_unb64(payload))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise Unauthenticated("malformed token: undecodable header or claims") from None
        if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(body, dict):
            raise Unauthenticated("malformed token: unexpected header or claims")
        sub, iat, exp, jti = body.get("sub"), body.get("iat"), body.get("exp", 0), body.get("jti")
        gen = body.get("gen")
        if (
            body.get("iss") != ISSUER
            or not isinstance(sub, str)
            or not sub
            or not isinstance(jti, str)
            or type(iat) is not int
            or type(exp) is not int
            or (gen is not None and type(gen) is not int)
        ):
            raise Unauthenticated("malformed token: missing or mistyped claims")
        current = time.time() if now is None else now
        if exp and current >= exp:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
            raise Unauthenticated(f"token expired at {stamp}; log in again (gitopsd login)")
        return Claims(sub, iat, exp, jti, gen)
