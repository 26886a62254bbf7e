"""The cache of built chart dependencies (worker side), shared by every worker of one sidecar.

An entry is the set of dependency archives one chart needed, keyed by a digest of the resolved
dependency list (each dependency's name, repository and exact version, from Chart.lock when there
is one) together with the credentials that fetched them: what one project fetched with its
credentials is never handed to a render that came without them. The key is salted with a random
value the sidecar draws at start, so the directory names reveal nothing about the credentials
(and the sidecar empties the cache at start: entries of another salt could never be found).

Entries are written to a temporary directory and renamed into place, so a worker never sees half
an entry; a worker that finds an entry gone (evicted by another) just fetches again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_COMPLETE = ".complete"


def cache_key(salt: str, lock_digest: str, entries: Sequence[tuple[str, ...]]) -> str:
    """The digest naming one dependency set; `entries` hold name, repository, version and credentials."""
    material = json.dumps([salt, lock_digest, sorted(entries)], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def lookup(cache_dir: Path, key: str, charts_dir: Path) -> bool:
    """Copy the cached archives of `key` into `charts_dir`; False when there is no complete entry."""
    entry = cache_dir / key
    try:
        if not (entry / _COMPLETE).is_file():
            return False
        archives = sorted(entry.glob("*.tgz"))
        charts_dir.mkdir(exist_ok=True)
        for archive in archives:
            shutil.copyfile(archive, charts_dir / archive.name)
        os.utime(entry)  # recently used: evicted last
    except OSError:
        # Evicted by another worker while we copied: a miss (what was copied is overwritten).
        return False
    return True


def store(cache_dir: Path, key: str, archives: Sequence[Path], max_bytes: int) -> None:
    """Keep `archives` under `key` (atomically), then evict the least recently used entries past `max_bytes`."""
    if max_bytes <= 0 or sum(path.stat().st_size for path in archives) > max_bytes:
        return
    with contextlib.suppress(OSError):
        cache_dir.mkdir(mode=0o700, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=cache_dir))
        for archive in archives:
            shutil.copyfile(archive, temporary / archive.name)
        (temporary / _COMPLETE).write_text("")
        try:
            os.rename(temporary, cache_dir / key)
        except OSError:  # another worker stored the same set first
            shutil.rmtree(temporary, ignore_errors=True)
        _evict(cache_dir, max_bytes)


def _evict(cache_dir: Path, max_bytes: int) -> None:
    sized: list[tuple[float, int, Path]] = []
    for entry in cache_dir.iterdir():
        if entry.name.startswith(".tmp-"):
            continue
        with contextlib.suppress(OSError):
            size = sum(path.stat().st_size for path in entry.iterdir())
            sized.append((entry.stat().st_mtime, size, entry))
    total = sum(size for _, size, _ in sized)
    for _, size, entry in sorted(sized, key=lambda item: item[0]):
        if total <= max_bytes:
            return
        shutil.rmtree(entry, ignore_errors=True)
        total -= size


def reset(cache_dir: Path) -> None:
    """Empty the cache (at sidecar start: its entries were keyed with an earlier salt)."""
    shutil.rmtree(cache_dir, ignore_errors=True)
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def describe(job: dict[str, Any]) -> tuple[Path, str, int]:
    """The cache directory, salt and size limit a job carries."""
    return (
        Path(job["dependency_cache"]),
        str(job["dependency_cache_salt"]),
        int(job["dependency_cache_bytes"]),
    )
