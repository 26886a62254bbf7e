"""A pool of warm Helm worker processes (gitopsd_helm.worker), with a hard deadline per job.

Workers are started with the `spawn` context (a forked Go runtime hangs on pulls). A job that
outlives its deadline gets its worker killed and replaced in the background, so a template that
loops forever costs one process, never the sidecar. Importing Helm takes ~70 ms per process, hence
the warm idle workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from gitopsd.sidecar.errors import DeadlineExceeded, RenderError
from gitopsd_helm.worker import worker_main

log = logging.getLogger("gitopsd.helm.pool")

# A worker serves this many jobs and is then replaced, bounding any slow growth inside the library.
JOBS_PER_WORKER = 1000
STARTUP_SECONDS = 60.0


class WorkerCrashed(RenderError):
    """The worker died mid-job (killed by the OOM killer, a crash in the native library)."""


@dataclass(eq=False)  # identity semantics: workers live in a set
class _Worker:
    process: BaseProcess
    conn: Connection
    jobs: int = 0
    _killed: threading.Lock = field(default_factory=threading.Lock)

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


class WorkerPool:
    """Runs jobs in worker processes: `warm` idle workers kept ready, at most `limit` at once."""

    def __init__(self, env: dict[str, str], warm: int = 2, limit: int = 4) -> None:
        self._ctx = multiprocessing.get_context("spawn")
        self._env = env
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
        process = self._ctx.Process(
            target=worker_main, args=(child, self._env), daemon=True, name="gitopsd-helm-worker"
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._workers.add(worker)
        try:
            ready = parent.poll(timeout) and parent.recv()
        except (EOFError, OSError):
            ready = None
        if not ready:
            worker.kill()
            with self._lock:
                self._workers.discard(worker)
            raise WorkerCrashed("a Helm render worker failed to start")
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
        except RenderError:
            log.error("could not start a Helm worker")
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
        with self._lock:
            self._workers.discard(worker)
        self._forget()

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
                    self._discard(worker)
                    self._replenish_if_low()
                    if parked and attempt == 1 and deadline - time.monotonic() > 1.0:
                        log.warning("a Helm worker died as it took a job; running the job on a fresh one")
                        continue
                    raise WorkerCrashed("the Helm render worker died during the render") from None
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
