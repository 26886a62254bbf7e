"""Keeping an app of apps' parent current with its children's health (its own health is the worst of theirs).

After each child's refresh, the parent is refreshed when its resource list shows that child with another
health. A refresh asked for through the scheduler is dropped when the parent is busy, and one that runs
while a child changes can read the child's old state: so the parent is refreshed here, on a thread of
its own that waits for the parent's lock, and checked again afterwards (a few times at most, so a parent
whose comparison keeps failing does not spin), until its view matches its children.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.errors import AppError
from gitopsd.app.generators.ownership import APPLICATION, Owner
from gitopsd.logs import fields

log = logging.getLogger("gitopsd.generators")

GROUP, APP_KIND = "argoproj.io", "Application"
# Checks of one parent after a trigger before it waits for the next child refresh.
MAX_ATTEMPTS = 5


def _owner(app: apppb.Application) -> Owner | None:
    for ref in app.metadata.owner_references:
        return Owner(ref.kind, ref.name)
    return None


class ParentRefresher:
    def __init__(
        self,
        read: Callable[[str], apppb.Application],
        refresh: Callable[[str], apppb.Application],
        children_of: Callable[[Owner], list[str]],
        delay: float = 0.5,
    ) -> None:
        """read: an application from the store; refresh: compare one now (waiting for its lock)."""
        self._read = read
        self._refresh = refresh
        self._children_of = children_of
        self._delay = delay
        self._pending: dict[str, int] = {}  # parent name -> checks left
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="parent-refresh", daemon=True)
        self._thread.start()

    def child_reconciled(self, child: apppb.Application, _seconds: float = 0.0) -> None:
        """Called after every comparison with the application as it was written (the controller's
        on_reconciled, whoever asked for it: the scheduler, a user, the end of a sync): a child wakes
        its parent. Most applications have no parent: they cost no read. Never raises."""
        try:
            self.child_refreshed(child)
        except AppError:
            pass
        except Exception:
            log.exception("checking the parent of a child failed", extra=fields(app=child.metadata.name))

    def child_refreshed(self, child: apppb.Application) -> None:
        owner = _owner(child)
        if owner is None or owner.kind != APPLICATION:
            return
        try:
            parent = self._read(owner.name)
        except AppError:
            return
        if self._differs(parent, {child.metadata.name: child}):
            self._mark(owner.name)

    def _differs(self, parent: apppb.Application, children: dict[str, apppb.Application]) -> bool:
        shown = {
            r.name: r.health.status for r in parent.status.resources if r.group == GROUP and r.kind == APP_KIND
        }
        return any(
            shown.get(name) != (child.status.health.status or "Progressing") for name, child in children.items()
        )

    def _mark(self, name: str) -> None:
        with self._wake:
            self._pending[name] = MAX_ATTEMPTS
            self._wake.notify()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
            time.sleep(self._delay)  # let a burst of child refreshes settle into one parent refresh
            with self._wake:
                due, self._pending = self._pending, {}
            for name, left in due.items():
                self._check(name, left)

    def _check(self, name: str, left: int) -> None:
        try:
            parent = self._refresh(name)
            children = {}
            for child_name in self._children_of(Owner(APPLICATION, name)):
                try:
                    children[child_name] = self._read(child_name)
                except AppError:
                    continue
        except AppError:
            return  # the parent is gone
        except Exception:  # one parent's failure never stops the others
            log.exception("parent refresh failed", extra=fields(app=name))
            return
        if left > 1 and self._differs(parent, children):
            with self._wake:
                self._pending.setdefault(name, left - 1)
                self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
