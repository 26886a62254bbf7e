"""How the C allocator under the daemon keeps memory: fewer glibc malloc arenas (called by serve()).

glibc gives threads that contend for malloc arenas of their own, up to 8 per core. The daemon has
dozens of threads (reconcile workers, sync operations, live-cache watches, gRPC's and SQLite's), and
each arena keeps what was freed in it for its own later use: after a burst of work (a cold sync of
thousands of applications) every arena holds a share of the peak, which RSS then shows for good.
The interpreter serializes most allocations anyway (the GIL), so few arenas cost little time.

An explicit ``MALLOC_ARENA_MAX`` in the environment wins (glibc has read it at start). Anywhere but
glibc (musl, macOS) this does nothing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading

from gitopsd.logs import fields

log = logging.getLogger("gitopsd.server")

# glibc's malloc.h: the mallopt parameter for the most arenas.
_M_ARENA_MAX = -8
# Measured with bench/reconcile_bench.py (docs/scaling.md): 2 arenas cut the RSS right after a cold sync
# of 2,000 applications from 202 to 179 MB, with no slower sync.
ARENAS = 2


def _glibc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 - present on glibc only
    except (OSError, AttributeError):
        return None
    return libc


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Caps glibc's malloc arenas (unless MALLOC_ARENA_MAX is set); True when the cap was set here."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    libc = _glibc()
    if libc is None:
        return False
    done = bool(libc.mallopt(_M_ARENA_MAX, arenas))
    if not done:
        log.debug("malloc arenas not limited", extra=fields(arenas=arenas))
    return done


def trim() -> bool:
    """Gives the pages malloc holds free back to the system (glibc's malloc_trim); False elsewhere."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


class Trimmer:
    """Gives freed memory back every ``interval`` seconds, on a thread of its own.

    What a burst allocated and freed (a cold sync, a List or a scrape of every application) stays in
    malloc's free lists, spread over its arenas, until the same sizes are asked for again: RSS keeps
    the peak. A trim walks the free lists once (milliseconds at hundreds of megabytes)."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)

    def start(self) -> None:
        if _glibc() is not None:
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            trim()

    def close(self) -> None:
        self._stop.set()
