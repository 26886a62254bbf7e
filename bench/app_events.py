"""What bench/reconcile_bench.py watches and sends besides its figures: the stream of application
events it counts synced applications from, and the GitHub push payload of its webhook phase.

The cold sync is watched as the dashboard watches it, one List and then the Watch stream, not by a
List of all every few seconds: at 10,000 applications such a List costs the daemon about 0.7 s, a
quarter of a 2-core daemon's time when sent every 3 s, and it grows with the applications as the
sync does (the figure would grow with the square of their number).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import grpc

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc

OVERFLOW = "OVERFLOW"  # the daemon dropped this stream (its queue of unread events was full)


def _done(app: apppb.Application) -> bool:
    return app.status.sync.status == "Synced" and app.status.operation_state.phase == "Succeeded"


class SyncedWatch:
    """Counts the applications that are Synced with a Succeeded operation, from one Watch of all.

    Opened before the applications are created, so that no event is missed; should the daemon drop
    the stream (OVERFLOW) or it end, one List sets the count right and a new stream is opened."""

    def __init__(self, stub: application_pb2_grpc.ApplicationServiceStub) -> None:
        self._stub = stub
        self._state: dict[str, bool] = {}
        self._synced = 0
        self._cond = threading.Condition()
        self._closed = False
        self.reopened = 0  # streams opened again after a drop (printed by the bench as a note)
        self._call: Any = None
        self._thread = threading.Thread(target=self._follow, name="synced-watch", daemon=True)
        self._call = self._open()
        self._thread.start()

    def _open(self) -> Any:
        return self._stub.Watch(apppb.WatchApplicationsRequest(), timeout=24 * 3600)

    def _set(self, name: str, done: bool) -> None:
        was = self._state.get(name, False)
        self._state[name] = done
        self._synced += int(done) - int(was)

    def _follow(self) -> None:
        while not self._closed:
            with contextlib.suppress(grpc.RpcError):  # cancelled by close(), or the daemon went away
                for event in self._call:
                    if event.type == OVERFLOW:
                        break
                    with self._cond:
                        if event.type == "DELETED":
                            self._set(event.application.metadata.name, False)
                        else:
                            self._set(event.application.metadata.name, _done(event.application))
                        self._cond.notify_all()
            if self._closed:
                return
            self.reopened += 1
            self._call = self._open()  # first, so what changes during the List is seen after it
            items = self._stub.List(apppb.ListApplicationsRequest(), timeout=300).items
            with self._cond:
                for app in items:
                    self._set(app.metadata.name, _done(app))
                self._cond.notify_all()

    def wait(self, n: int, timeout: float) -> int:
        """Waits until n applications are synced or timeout seconds pass; returns how many are."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._synced < n and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(min(left, 1.0))
            return self._synced

    def close(self) -> None:
        self._closed = True
        self._call.cancel()
        self._thread.join(10)


def github_push(url: str, previous: str, sha: str, modified: list[str], message: str) -> bytes:
    """What GitHub sends for a push of one commit (the fields gitopsd reads, and a few it does not)."""
    commit = {
        "id": sha,
        "message": message,
        "timestamp": "2026-01-01T00:00:00Z",
        "author": {"name": "bench", "email": "bench@gitopsd.invalid"},
        "added": [],
        "removed": [],
        "modified": modified,
    }
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": previous,
            "after": sha,
            "created": False,
            "deleted": False,
            "forced": False,
            "compare": f"{url}/compare/{previous[:12]}...{sha[:12]}",
            "commits": [commit],
            "head_commit": commit,
            "pusher": {"name": "bench", "email": "bench@gitopsd.invalid"},
            "repository": {
                "name": "apps",
                "full_name": "bench/apps",
                "html_url": url,
                "clone_url": url,
                "default_branch": "main",
            },
        }
    ).encode()
