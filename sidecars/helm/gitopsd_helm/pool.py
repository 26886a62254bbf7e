"""A pool of warm Helm worker processes (gitopsd_helm.worker), with a hard deadline per job.

Workers are started with the `spawn` context (a forked Go runtime hangs on pulls). A job that
outlives its deadline gets its worker killed and replaced in the background, so a template that
loops forever costs one process, never the sidecar. Each worker runs under a kernel memory limit
(`--max-memory-bytes`, the daemon's `render.max_memory_bytes`): a render that reaches it fails with
an error naming the limit and its worker is replaced. Importing Helm takes ~70 ms per process,
hence the warm idle workers.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from gitopsd.sidecar.errors import DeadlineExceeded, LimitExceeded, RenderError
from gitopsd_helm.worker import worker_main

log = logging.getLogger("gitopsd.helm.pool")

# A worker serves this many jobs and is then replaced, bounding any slow growth inside the library.
JOBS_PER_WORKER = 1000
STARTUP_SECONDS = 60.0
# How a worker's death by the memory limit shows in its stderr (Go's runtime, or Python). A thread
# Go cannot start is the limit too: its stack is a private writable mapping that no longer fits
# (Go's own "failed to create new OS thread", or cgo's "pthread_create failed").
_OUT_OF_MEMORY = (
    "out of memory",
    "cannot allocate memory",
    "MemoryError",
    "failed to create new OS thread",
    "pthread_create failed",
)
# Go prints the fatal error first and then every goroutine's stack: the head and the tail are read.
_STDERR_TAIL_BYTES = 64 * 1024


def out_of_memory_message(limit: int) -> str:
    return f"helm ran out of memory: render.max_memory_bytes is {limit} bytes"


class WorkerCrashed(RenderError):
    """The worker died mid-job (killed by the OOM killer, a crash in the native library)."""


class _Spawner:
    """Starts every worker from one thread that lives as long as the pool.

    A worker's parent-death signal (gitopsd_helm.worker) fires when the *thread* that started it
    ends; started from the pool's short-lived threads, workers would be killed with them.
    """

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple[BaseProcess, Future[None]]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name="helm-worker-spawner", daemon=True).start()

    def _serve(self) -> None:
        while True:
            process, done = self._requests.get()
            try:
                process.start()
            except BaseException as exc:  # handed to the caller, the spawner thread goes on
                done.set_exception(exc)
            else:
                done.set_result(None)

    def start(self, process: BaseProcess) -> None:
        done: Future[None] = Future()
        self._requests.put((process, done))
        done.result()


@dataclass(eq=False)  # identity semantics: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection
    stderr_path: Path
    jobs: int = 0
    _killed: threading.Lock = field(default_factory=threading.Lock)

    def stderr_tail(self) -> str:
        """The start and the end of what the worker wrote to stderr (Go's fatal error line comes
        first, then a goroutine dump that can outgrow any tail)."""
        try:
            with self.stderr_path.open("rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                handle.seek(0)
                if size <= 2 * _STDERR_TAIL_BYTES:
                    return handle.read().decode(errors="replace")
                head = handle.read(_STDERR_TAIL_BYTES)
                handle.seek(size - _STDERR_TAIL_BYTES)
                return (head + b"\n...\n" + handle.read()).decode(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """Stop the process (it may be stuck in a native call: SIGKILL, not a request).

        Safe to call twice and from two threads (close() may meet a worker still starting)."""
        if not self._killed.acquire(blocking=False):
            return
        try:
            self.process.kill()
        except (OSError, ValueError):
            pass
        self.process.join(5)
        with contextlib.suppress(OSError):
            self.conn.close()

    def forget_stderr(self) -> None:
        self.stderr_path.unlink(missing_ok=True)


class WorkerPool:
    """Runs jobs in worker processes: `warm` idle workers kept ready, at most `limit` at once."""

    def __init__(
        self,
        env: dict[str, str],
        stderr_dir: Path,
        max_memory_bytes: int,
        warm: int = 2,
        limit: int = 4,
    ) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._env = env
        self._stderr_dir = stderr_dir
        self._max_memory_bytes = max_memory_bytes
        self._serial = itertools.count()
        self._spawner = _Spawner()
        self._warm = warm
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(limit, 1))
        self._closed = False
        # Workers alive or starting (idle + busy); kept at `warm` at least.
        self._live = 0
        # Every started worker, busy ones included, so close() can stop renders still running.
        self._workers: set[_Worker] = set()
        self.helm_version = ""
        self._ready = threading.Event()
        self._replenish_if_low()

    def _start(self, timeout: float) -> _Worker:
        parent, child = self._ctx.Pipe()
        stderr_path = self._stderr_dir / f"worker-{next(self._serial)}.stderr"
        process = self._ctx.Process(
            target=worker_main,
            args=(child, self._env, os.getpid(), self._max_memory_bytes, str(stderr_path)),
            daemon=True,
            name="gitopsd-helm-worker",
        )
        self._spawner.start(process)
        child.close()
        worker = _Worker(process, parent, stderr_path)
        with self._lock:
            self._workers.add(worker)
        try:
            ready = parent.poll(timeout) and parent.recv()
        except (EOFError, OSError):
            ready = None
        if not ready:
            with self._lock:
                self._workers.discard(worker)
            raise self._death(worker, "a Helm render worker failed to start")
        self.helm_version = str(ready.get("helm", ""))
        self._ready.set()
        return worker

    def _replenish_if_low(self) -> None:
        """Start workers in the background up to `warm` (keeps latency low after a kill)."""
        with self._lock:
            missing = 0 if self._closed else self._warm - self._live
            self._live += max(missing, 0)
        for _ in range(missing):
            threading.Thread(target=self._start_idle, name="helm-worker-start", daemon=True).start()

    def _start_idle(self) -> None:
        try:
            worker = self._start(STARTUP_SECONDS)
        except RenderError as exc:
            log.error("could not start a Helm worker: %s", exc.message)
            self._forget()
            return
        with self._lock:
            closed = self._closed
            if not closed:
                self._idle.append(worker)
        if closed:
            self._discard(worker)

    def _forget(self) -> None:
        with self._lock:
            self._live -= 1

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        worker.forget_stderr()
        with self._lock:
            self._workers.discard(worker)
        self._forget()

    def _death(self, worker: _Worker, crashed: str) -> RenderError:
        """Kill a worker that stopped answering and say why it died: the memory limit, or a crash."""
        worker.kill()
        tail = worker.stderr_tail()
        worker.forget_stderr()
        fatal = next(
            (
                line
                for line in tail.splitlines()
                if any(w in line for w in ("fatal error", "Error", "failed"))
            ),
            "",
        )
        log.warning(
            "a Helm worker died",
            extra={"fields": {"exitcode": worker.process.exitcode, "stderr": fatal[:500]}},
        )
        if any(marker in tail for marker in _OUT_OF_MEMORY):
            return LimitExceeded(out_of_memory_message(self._max_memory_bytes))
        return WorkerCrashed(crashed)

    def wait_ready(self, timeout: float) -> bool:
        """True once some worker has started (and reported the Helm version)."""
        return self._ready.wait(timeout)

    def run(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Run one job; DeadlineExceeded (worker killed) when it takes longer than `timeout` seconds."""
        deadline = time.monotonic() + timeout
        if not self._slots.acquire(timeout=timeout):
            raise DeadlineExceeded(f"no Helm worker became free within {timeout:g} s")
        try:
            # A parked worker may have been killed from outside an instant ago (is_alive() can still
            # say yes): if it dies on receipt of the job, the job runs once more on a fresh worker.
            for attempt in (1, 2):
                worker = self._take_idle() if attempt == 1 else None
                parked = worker is not None
                if worker is None:
                    with self._lock:
                        self._live += 1
                    try:
                        worker = self._start(STARTUP_SECONDS)
                    except RenderError:
                        self._forget()
                        raise
                try:
                    worker.conn.send(job)
                    remaining = max(deadline - time.monotonic(), 0.0)
                    if not worker.conn.poll(remaining):
                        self._discard(worker)
                        self._replenish_if_low()
                        log.warning(
                            "killed a Helm worker at the deadline", extra={"fields": {"timeout_s": timeout}}
                        )
                        raise DeadlineExceeded(f"Helm did not finish rendering within {timeout:g} s")
                    result: dict[str, Any] = worker.conn.recv()
                except (EOFError, OSError, BrokenPipeError):
                    death = self._death(worker, "the Helm render worker died during the render")
                    self._discard(worker)
                    self._replenish_if_low()
                    if (
                        parked
                        and attempt == 1
                        and isinstance(death, WorkerCrashed)
                        and deadline - time.monotonic() > 1.0
                    ):
                        log.warning("a Helm worker died as it took a job; running the job on a fresh one")
                        continue
                    raise death from None
                if result.get("out_of_memory"):
                    self._discard(worker)  # it exits by itself; its heap may be in any state
                    self._replenish_if_low()
                    raise LimitExceeded(out_of_memory_message(self._max_memory_bytes))
                worker.jobs += 1
                self._park(worker)
                return result
            raise WorkerCrashed("the Helm render worker died during the render")
        finally:
            self._slots.release()

    def _take_idle(self) -> _Worker | None:
        """An idle worker that is still alive (one may have been killed from outside while parked)."""
        while True:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or worker.process.is_alive():
                return worker
            log.warning("a parked Helm worker had died; replacing it")
            self._discard(worker)
            self._replenish_if_low()

    def _park(self, worker: _Worker) -> None:
        with self._lock:
            keep = not self._closed and worker.jobs < JOBS_PER_WORKER and len(self._idle) < self._warm
            if keep:
                self._idle.append(worker)
        if not keep:
            self._discard(worker)
            self._replenish_if_low()

    def close(self) -> None:
        """Stop every worker, busy ones too: a render still running at shutdown ends with an error."""
        with self._lock:
            self._closed = True
            self._idle = []
            workers = list(self._workers)
        for worker in workers:
            self._discard(worker)
