"""Credentials at rest: the store's `secret` columns are sealed with a key kept beside the database.

The key (32 random bytes) lives in `DATA_DIR/auth/secret.key`, mode 0600, created on first start;
the database records only an identifier of it (an HMAC of a fixed label, which reveals nothing
of the key), so a copied database or backup alone holds no credential, and a start with a
missing or different key fails with a clear error instead of losing or garbling credentials.

Sealed values are AES-256-GCM (`cryptography`'s AESGCM) with a random 96-bit nonce; the table
name is authenticated with them, so a value cannot be moved to another table unnoticed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILENAME = "secret.key"
KEY_BYTES = 32
PREFIX = "gsec1:"
_NONCE_BYTES = 12


class SecretKeyError(Exception):
    """The secret key is missing, unreadable or not the one the database was sealed with."""


class SecretBox:
    """Seals and opens the JSON documents kept in `secret` columns."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"the secret key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = hmac.new(key, b"gitopsd secret key id", hashlib.sha256).hexdigest()[:32]

    def seal(self, table: str, value: dict[str, Any]) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        sealed = self._aead.encrypt(nonce, plain, table.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode()

    def open(self, table: str, text: str | None) -> dict[str, Any]:
        """The document of a sealed value; an empty column ('' or '{}') is no credential."""
        if not text or text.strip() == "{}":
            return {}
        if not text.startswith(PREFIX):
            # Migrations seal every row: a plaintext one was written behind gitopsd's back.
            raise SecretKeyError(f"a {table} credential is stored unencrypted")
        try:
            raw = base64.b64decode(text.removeprefix(PREFIX), validate=True)
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], table.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretKeyError(
                f"a {table} credential cannot be decrypted with this secret key (wrong key or damaged row)"
            ) from None
        value = json.loads(plain)
        return value if isinstance(value, dict) else {}


def read_key(path: Path) -> bytes | None:
    """The key in `path`, or None when there is no such file."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretKeyError(f"cannot read the secret key {path}: {exc.strerror}") from None
    if len(key) != KEY_BYTES:
        raise SecretKeyError(f"the secret key {path} is damaged ({len(key)} bytes, expected {KEY_BYTES})")
    return key


def create_key(path: Path) -> bytes:
    """A new random key written to `path` (mode 0600, its directory 0700), durably."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    # Never replace a key another process wrote meanwhile: link fails if the name exists.
    try:
        os.link(tmp, path)
    except FileExistsError:
        tmp.unlink(missing_ok=True)
        existing = read_key(path)
        assert existing is not None
        return existing
    tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return key
