"""py-spy sampling of a running daemon, phase by phase, for the bench scripts.

`Profiler(pid, out_dir)` starts `py-spy record` on the daemon for one named phase and stops it
when the phase ends; `summary()` prints, for each phase, the functions where the samples were
(self time) and the call paths that held them (inclusive time), from py-spy's raw (collapsed
stack) output. Attaching needs ptrace rights on the daemon (root, or the same user with
kernel.yama.ptrace_scope = 0). A missing py-spy makes the profiler a no-op with one line saying so.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path


class Profiler:
    def __init__(self, pid: int, out_dir: Path | None, rate: int = 50) -> None:
        """rate: samples a second (py-spy's --rate)."""
        self._pid = pid
        self._rate = rate
        self._out = out_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._phase = ""
        self._spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if out_dir is not None and not Path(self._spy).exists():
            print("py-spy not found: no profile", flush=True)
            self._out = None
        if self._out is not None:
            self._out.mkdir(parents=True, exist_ok=True)

    def start(self, phase: str) -> None:
        if self._out is None:
            return
        self.stop()
        self._phase = phase
        self._proc = subprocess.Popen(
            [
                self._spy,
                "record",
                "--pid",
                str(self._pid),
                "--rate",
                str(self._rate),
                "--format",
                "raw",
                "--nonblocking",
                # Only the thread holding the GIL: where the interpreter's one core goes. Without it a
                # thread blocked on a lock or on SQLite counts like one that computes.
                "--gil",
                "-o",
                str(self._out / f"{phase}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self._out / f"{phase}.log").open("wb"),
        )

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGINT)
        try:
            self._proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._proc = None

    def summary(self, top: int = 15) -> None:
        if self._out is None:
            return
        self.stop()
        for raw in sorted(self._out.glob("*.txt")):
            self_time: collections.Counter[str] = collections.Counter()
            inclusive: collections.Counter[str] = collections.Counter()
            total = 0
            for line in raw.read_text(errors="replace").splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                n = int(count)
                frames = [f for f in stack.split(";") if not f.startswith("thread (")]
                if not frames:
                    continue
                total += n
                self_time[_short(frames[-1])] += n
                for frame in {_short(f) for f in frames if "gitopsd" in f}:
                    inclusive[frame] += n
            print(f"\nprofile of phase {raw.stem}: {total} samples (the thread holding the GIL)")
            print("  self:")
            for frame, n in self_time.most_common(top):
                print(f"    {100 * n / max(total, 1):5.1f}%  {frame}")
            print("  inclusive (gitopsd frames):")
            for frame, n in inclusive.most_common(top):
                print(f"    {100 * n / max(total, 1):5.1f}%  {frame}")


def _short(frame: str) -> str:
    """`func (path/to/gitopsd/x.py:12)` -> `func (gitopsd/x.py)`: lines differ per sample, files do not."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    for marker in ("/gitopsd/", "/site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})"
