"""Answers of successful token checks, kept so that a repeated call costs no database read.

Used by accounts.py (`Accounts.authenticate` fills it, `Accounts.cached` reads it; the gRPC
interceptor answers a hit on its event loop, with no hop to the thread pool).

Why in-process invalidation is exact and not a guess: every write that can change the answer of a
token check happens inside this daemon process, through Accounts (logout and token revocation,
password changes, API keys, the account specs) or through gitopsd.app.projects (project roles and
their tokens). The CLI and every other client go through the API; nothing else writes the data dir
while the daemon holds its lock. So each of those writes bumps a generation after it commits:
- Accounts' own generation (this class: `invalidate`), which every entry was stamped with;
- the projects' write count (gitopsd.app.projects.project_writes), stamped on project-role entries.
A check reads the stamps *before* it reads the database, so a check that races with a write either
saw the write or carries a stamp older than the write's bump, and `get` answers only with entries
whose stamps are current. The token's own expiry is checked on every hit.

Failures are never cached: a wrong token costs the full check every time (the signature check is
cheap; logins are throttled elsewhere). The cache holds at most `max_entries` tokens (least
recently used out first), so a flood of distinct valid tokens cannot grow memory.

On the dict lookup: the key is the full token string the caller presents, so a hit needs no
signature check (only a token the daemon signed and fully checked was ever put in), and a token
differing anywhere is a miss that takes the full, constant-time check. The lookup itself is not
constant-time, but it cannot serve as an oracle: str hashes are keyed per process (SipHash with a
random seed), so a caller cannot aim a guess at a stored token's bucket, and what a comparison
might reveal is only how much of an unknown token a wrong guess shares, which the full check of
the miss then rejects anyway.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

DEFAULT_MAX_ENTRIES = 4096

P = TypeVar("P")


@dataclass(frozen=True)
class Stamp:
    """The generations a check started under."""

    accounts: int
    projects: int


@dataclass(frozen=True)
class _Entry(Generic[P]):
    principal: P
    expires_at: int  # 0: never
    stamp: Stamp
    project_role: bool  # its answer depends on a project: the projects' count must not have moved


class AuthCache(Generic[P]):
    """Token string -> the principal it authenticated as. Thread-safe: the gRPC loop, the HTTP
    listener's loop and the pool's threads all use it."""

    def __init__(
        self,
        project_writes: Callable[[], int],
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._project_writes = project_writes
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._generation = 0
        self._entries: OrderedDict[str, _Entry[P]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def stamp(self) -> Stamp:
        """To be read before the check's database reads (see the module docstring)."""
        with self._lock:
            return Stamp(self._generation, self._project_writes())

    def _current(self, entry: _Entry[P]) -> bool:
        if entry.stamp.accounts != self._generation:
            return False
        return not entry.project_role or entry.stamp.projects == self._project_writes()

    def get(self, token: str) -> P | None:
        """The principal if `token` was checked and nothing has changed since; None: check it."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            expired = entry.expires_at and self._clock() >= entry.expires_at
            if expired or not self._current(entry):
                # The full check answers it now (with the message saying why, if it fails).
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry.principal

    def put(self, token: str, principal: P, expires_at: int, stamp: Stamp, project_role: bool) -> None:
        """Keeps the answer of a successful check begun at `stamp` (if something was written since,
        `get` never answers with it)."""
        entry = _Entry(principal, expires_at, stamp, project_role)
        with self._lock:
            self._entries[token] = entry
            self._entries.move_to_end(token)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self) -> None:
        """Drops every answer: called after each committed write to accounts or revocations."""
        with self._lock:
            self._generation += 1
            self._entries.clear()
