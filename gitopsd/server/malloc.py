"""How the C allocator under the daemon keeps memory: fewer glibc malloc arenas (called by serve()),
and a trim that gives freed pages back (for the memory report, gitopsd/server/memprofile.py).

glibc gives each thread an arena of its own while there are fewer than 8 per core. The daemon has
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

from gitopsd.logs import fields

log = logging.getLogger("gitopsd.server")

# glibc's malloc.h: the mallopt parameter for the most arenas.
_M_ARENA_MAX = -8
# Measured with bench/reconcile_bench.py (docs/scaling.md): 2 arenas cut the RSS right after a cold sync
# of 2,000 applications from 202 to 179 MB; the daemon's CPU for the sync did not grow.
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
    """Gives the pages malloc holds free back to the system (glibc's malloc_trim); False elsewhere.

    Not run periodically: a trim every 30 s changed neither figure of bench/reconcile_bench.py at
    10,000 applications (336 / 255 MB with it, 273 / 257 MB without, one run each; docs/scaling.md)."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False

