"""Render children (kubectl, Helm workers, plugin tools): a kernel-enforced memory limit, death with the sidecar.

A sidecar runs its tools as child processes. `limited_argv()` wraps a child's argv in util-linux's
`setpriv --pdeathsig KILL` and `prlimit --data=N`: exec wrappers set the parent-death signal and the
rlimit in the child itself, between fork and the tool's exec, without Python code in the forked child
(`preexec_fn` is unsafe in a threaded gRPC server: the fork can copy a lock another thread holds).
`memory_exhausted()` recognizes a child that died of the limit, so the app gets a clear error.

Why RLIMIT_DATA and not RLIMIT_AS: Go binaries (kubectl, helm) reserve large ranges of address space
up front and commit them later. Measured with kubectl 1.37 (kustomize v5.8) on a YAML alias bomb:
`--as=1GiB` stops it at ~290 MB resident (the reservations eat most of the budget, and the share
varies by Go version), while `--data=1GiB` stops it at ~1,010 MB resident. Since Linux 4.7
RLIMIT_DATA counts private writable mappings (the Go heap), not reservations (PROT_NONE), so the
configured number is close to what the tool may really use. A normal kustomize build needs ~50 MB;
kubectl does not even start below ~100 MB of RLIMIT_DATA.

Why a parent-death signal: the child runs in its own session (so a deadline kill reaches its whole
process group), which also means nothing stops it when the sidecar is SIGKILLed; a kubectl orphaned
that way once grew to 24 GB. PR_SET_PDEATHSIG fires when the thread that forked the child exits,
i.e. when the sidecar dies (its render threads live as long as the server).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from gitopsd.sidecar.errors import LimitExceeded

# util-linux tools, looked up in the system directories only (never the repository's or a user's PATH).
_SYSTEM_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"

# How runtimes report a failed allocation on stderr: Go ("fatal error: runtime: out of memory",
# "fatal error: out of memory"), Python (MemoryError), C ("Cannot allocate memory", ENOMEM).
_OOM_MARKERS = (b"out of memory", b"MemoryError", b"Cannot allocate memory", b"cannot allocate memory")


def _tool(name: str) -> str:
    path = shutil.which(name, path=_SYSTEM_PATH)
    if path is None:
        raise RuntimeError(f"{name} (util-linux) is needed to limit render processes and was not found")
    return path


class ChildLimits:
    """Builds the argv of render children; construct once at sidecar start (checks the tools exist)."""

    def __init__(self, max_memory_bytes: int) -> None:
        if max_memory_bytes <= 0:
            raise ValueError("max_memory_bytes must be positive")
        self.max_memory_bytes = max_memory_bytes
        self._setpriv = _tool("setpriv")
        self._prlimit = _tool("prlimit")

    def argv(self, command: Sequence[str]) -> list[str]:
        """`command` run under the memory limit, killed when the sidecar dies.

        Use with subprocess.Popen(start_new_session=True, no preexec_fn): setpriv and prlimit
        exec the next program in place, so the child's pid is the tool's pid.
        """
        return [
            self._setpriv,
            "--pdeathsig",
            "KILL",
            "--",
            self._prlimit,
            f"--data={self.max_memory_bytes}",
            "--",
            *command,
        ]

    def exhausted(self, tool: str, returncode: int, stderr: bytes) -> LimitExceeded | None:
        """The error for a child that died of the memory limit, or None if it failed otherwise."""
        if returncode == 0 or not memory_exhausted(stderr):
            return None
        return LimitExceeded(
            f"{tool} ran out of memory: render.max_memory_bytes is {self.max_memory_bytes} bytes"
        )


def memory_exhausted(stderr: bytes) -> bool:
    """Whether a failed child's stderr says an allocation failed."""
    head = stderr[:8192]
    return any(marker in head for marker in _OOM_MARKERS)
