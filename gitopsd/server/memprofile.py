"""Where the daemon's memory goes, on request: tracemalloc, switched on by an environment variable.

`GITOPSD_TRACEMALLOC=FILE` (optionally `FILE:FRAMES`) starts tracemalloc when the daemon starts;
each SIGUSR2 then writes to FILE the files and lines that hold the most memory and the call paths
that allocated it, with the RSS beside the traced total and what a full collection and a malloc trim
then free (cyclic garbage, and memory freed but kept by the allocator). It is a diagnostic for
measuring (bench/reconcile_bench.py --memory, docs/scaling.md): tracemalloc makes every allocation
slower, so a daemon in service runs without it.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import tracemalloc
from pathlib import Path

from gitopsd.logs import fields
from gitopsd.server import malloc

log = logging.getLogger("gitopsd.memory")

ENV = "GITOPSD_TRACEMALLOC"
DEFAULT_FRAMES = 12
TOP_LINES = 40
TOP_PATHS = 15
TOP_FILES = 25


def install_from_env() -> bool:
    """Starts tracemalloc and the SIGUSR2 report if the environment asks for it (main thread only)."""
    setting = os.environ.get(ENV, "")
    if not setting:
        return False
    path, _, frames = setting.partition(":")
    depth = int(frames) if frames.isdigit() else DEFAULT_FRAMES
    tracemalloc.start(depth)
    target = Path(path)

    def report(signum: int, frame: object) -> None:
        try:
            write_report(target)
        except OSError as exc:
            log.warning("memory report not written", extra=fields(path=str(target), error=str(exc)))

    signal.signal(signal.SIGUSR2, report)
    log.info("tracemalloc on; SIGUSR2 writes a report", extra=fields(path=str(target), frames=depth))
    return True


def write_report(target: Path) -> None:
    """The biggest holders of traced memory now, by line and by call path, written to target."""
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (
            tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
        )
    )
    current, peak = tracemalloc.get_traced_memory()
    # RSS beside the traced total tells Python's objects from what malloc holds and does not give back
    # (and tracemalloc's own traces, which it counts apart).
    lines = [
        f"traced now {current / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB; "
        f"tracemalloc itself {tracemalloc.get_tracemalloc_memory() / 2**20:.1f} MiB; RSS {rss_mib():.1f} MiB",
        f"gc objects tracked {len(gc.get_objects())}, collections waiting {gc.get_count()}",
        "",
        "by file:",
    ]
    for stat in snapshot.statistics("filename")[:TOP_FILES]:
        where = stat.traceback[0]
        lines.append(f"{stat.size / 2**20:9.2f} MiB {stat.count:9d} blocks  {where.filename}")
    lines += ["", "by line:"]
    for stat in snapshot.statistics("lineno")[:TOP_LINES]:
        where = stat.traceback[0]
        lines.append(f"{stat.size / 2**20:9.2f} MiB {stat.count:9d} blocks  {where.filename}:{where.lineno}")
    lines += ["", "by call path:"]
    for stat in snapshot.statistics("traceback")[:TOP_PATHS]:
        lines.append(f"{stat.size / 2**20:9.2f} MiB {stat.count:9d} blocks")
        lines += [f"      {f.filename}:{f.lineno}" for f in stat.traceback]
    # What a full collection finds now is garbage held only by reference cycles, waiting for the cyclic
    # collector (whose thresholds serve() raises): the report says how much of the above it was.
    # And what malloc then gives back is memory freed but kept (fragmentation, arenas), not in use.
    found = gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    collected_rss = rss_mib()
    malloc.trim()
    lines[1:1] = [
        f"a full gc.collect() then freed {found} objects: traced {after / 2**20:.1f} MiB, "
        f"RSS {collected_rss:.1f} MiB; after malloc_trim RSS {rss_mib():.1f} MiB"
    ]
    tmp = target.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(target)


def rss_mib() -> float:
    """This process's resident set now (Linux /proc; 0 where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
