"""The daemon's cap on glibc malloc arenas (gitopsd.server.malloc): threads that run at once share two
arenas instead of taking one each, unless MALLOC_ARENA_MAX says otherwise; a trim gives memory back."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="the arena cap is glibc's (elsewhere it does nothing)"
)

# Eight threads alive at once, each allocating, then glibc's own count of its arenas (malloc_info).
PROGRAM = """
import ctypes, sys, tempfile, threading
from gitopsd.server import malloc
print(malloc.limit_arenas() if sys.argv[1] == "limit" else None)
together = threading.Barrier(8)
def work():
    together.wait()
    held = [bytes(4096) for _ in range(100)]
    together.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    f = ctypes.c_void_p(libc.fopen(out.name.encode(), b"w"))
    libc.malloc_info(0, f)
    libc.fclose(f)
    print(open(out.name).read().count("<heap nr="))
"""


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=True,
    )
    said, count = done.stdout.split()
    return said, int(count)


def test_threads_share_two_arenas() -> None:
    assert _arenas("default")[1] > 2  # what glibc does alone: an arena per thread that needs one
    assert _arenas("limit") == ("True", 2)


def test_an_explicit_malloc_arena_max_wins() -> None:
    said, count = _arenas("limit", MALLOC_ARENA_MAX="5")
    assert said == "False" and 2 < count <= 5


def test_a_trim_after_freeing_a_burst_gives_memory_back() -> None:
    from gitopsd.server import malloc

    burst = [bytes(3000) for _ in range(20_000)]  # ~60 MB in malloc's heap, not in mappings of its own
    pin = bytes(3000)  # above the burst: free() alone cannot shrink the heap back past it
    del burst
    assert malloc.trim() is True
    del pin
