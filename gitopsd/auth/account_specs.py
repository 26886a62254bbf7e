"""The declared accounts (`auth.accounts`, admin built in) and what an accounts row says of a session.

Used by accounts.py, which keeps the specs in memory and reads the rows from the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from gitopsd.auth.tokens import Claims

ADMIN = "admin"
CAPABILITIES = ("login", "apiKey")
MAX_USERNAME = 253


@dataclass(frozen=True)
class AuthSettings:
    session_ttl: int = 24 * 3600
    admin_enabled: bool = True
    # name -> capabilities ("login, apiKey")
    accounts: dict[str, str] = field(default_factory=dict)
    max_failures: int = 5
    failure_window: int = 300


@dataclass(frozen=True)
class AccountSpec:
    name: str
    capabilities: frozenset[str]
    enabled: bool = True


def parse_accounts(declared: dict[str, str]) -> dict[str, AccountSpec]:
    """The config's accounts; ValueError naming the bad entry."""
    specs: dict[str, AccountSpec] = {}
    for name, caps in declared.items():
        key = f"auth.accounts.{name}"
        if (
            not name
            or len(name) > MAX_USERNAME
            or name.startswith("proj:")
            or not name.isprintable()
            or ":" in name
        ):
            raise ValueError(f"{key}: {name!r} is not a valid account name")
        if name == ADMIN:
            raise ValueError(f"{key}: admin is built in (disable it with auth.admin_enabled: false)")
        items = {c.strip() for c in str(caps or "").split(",") if c.strip()}
        unknown = items - set(CAPABILITIES)
        if unknown:
            raise ValueError(f"{key}: unknown capability {sorted(unknown)[0]!r} (known: login, apiKey)")
        specs[name] = AccountSpec(name, frozenset(items))
    return specs


def int_column(row: Mapping[str, object], column: str) -> int:
    """An INTEGER column of an accounts row; NULL (never set) reads as 0."""
    value = row.get(column) or 0
    if not isinstance(value, int | str):
        raise TypeError(f"accounts.{column}: not an integer: {type(value).__name__}")
    return int(value)


def session_is_current(claims: Claims, row: dict[str, object]) -> bool:
    """False once the account's password changed after the session was issued."""
    generation = int_column(row, "session_generation")
    if claims.generation is not None:
        return claims.generation == generation
    # A session token from before generations (schema v4): any change since then ends it, and
    # so does one in its own second or later (whole seconds: in doubt, the session ends).
    return generation == 0 and claims.issued_at > int_column(row, "password_mtime")
