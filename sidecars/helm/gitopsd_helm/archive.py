"""Inspection of chart archives (.tgz) before Helm loads them: size after expansion and member types.

Charts pulled from repositories and .tgz dependencies in charts/ are untrusted: a small archive can
expand to gigabytes, and members can be links or devices. The archive is streamed (never extracted);
the sizes in member headers are summed, nested chart archives under charts/ are scanned too, and
anything but regular files and directories is refused.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
import zlib
from pathlib import Path
from typing import IO

from gitopsd_helm.outcome import INVALID_ARGUMENT, RESOURCE_EXHAUSTED, WorkerFailure


class _Budget:
    def __init__(self, limit: int, origin: str) -> None:
        self.limit = limit
        self.used = 0
        self.origin = origin

    def charge(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise WorkerFailure(
                RESOURCE_EXHAUSTED,
                f"chart archive {self.origin} expands beyond the limit of {self.limit} bytes",
            )


def _scan(stream: IO[bytes], budget: _Budget, shown: str, depth: int) -> None:
    try:
        # gzip.GzipFile, not tarfile's "r|gz": Helm writes a gzip header extra field that
        # tarfile's stream reader rejects.
        with (
            gzip.GzipFile(fileobj=stream, mode="rb") as unzipped,
            tarfile.open(fileobj=unzipped, mode="r|") as archive,
        ):
            for member in archive:
                name = member.name
                if "\x00" in name or name.startswith("/") or ".." in posixpath.normpath(name).split("/"):
                    raise WorkerFailure(
                        INVALID_ARGUMENT, f"chart archive {shown} has an illegal member path {name[:200]!r}"
                    )
                if member.issym() or member.islnk():
                    raise WorkerFailure(
                        INVALID_ARGUMENT,
                        f"chart archive {shown} contains a link ({name[:200]!r}); links are refused",
                    )
                if not (member.isreg() or member.isdir()):
                    raise WorkerFailure(
                        INVALID_ARGUMENT, f"chart archive {shown} contains a special file ({name[:200]!r})"
                    )
                budget.charge(member.size)
                if member.isreg() and name.endswith(".tgz") and "/charts/" in f"/{name}" and depth < 8:
                    extracted = archive.extractfile(member)
                    if extracted is not None:
                        _scan(io.BytesIO(extracted.read()), budget, f"{shown}:{name[:200]}", depth + 1)
    except (tarfile.TarError, zlib.error, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise WorkerFailure(INVALID_ARGUMENT, f"chart archive {shown} is not a valid .tgz: {exc}") from None


def check_archive(path: Path, limit: int, shown: str) -> None:
    """Refuse a chart archive whose size or expanded size exceeds `limit`, or that holds links/specials."""
    size = path.stat().st_size
    if size > limit:
        raise WorkerFailure(
            RESOURCE_EXHAUSTED, f"chart archive {shown} is {size} bytes, over the limit of {limit}"
        )
    with path.open("rb") as handle:
        _scan(handle, _Budget(limit, shown), shown, 0)


def check_chart_dir(chart_dir: Path, limit: int) -> None:
    """Check a chart directory: no symlinks anywhere, and every .tgz dependency in charts/ within `limit`."""
    for path in sorted(chart_dir.rglob("*")):
        if path.is_symlink():
            raise WorkerFailure(
                INVALID_ARGUMENT, f"chart contains a symlink {path.relative_to(chart_dir)}; refused"
            )
        if path.suffix == ".tgz" and path.parent.name == "charts" and path.is_file():
            check_archive(path, limit, str(path.relative_to(chart_dir)))
