"""What thousands of applications need of the store and the repo cache, asserted as outcomes: a
resourceVersion that never goes back, reads that do not wait for a writer, one data dir per daemon,
and one ls-remote for a burst of forced refreshes."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from fixtures.daemon import DaemonProcess

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.app.applications import Applications
from gitopsd.sources.gitcache import RepoCache
from gitopsd.store import Store
from gitopsd.store.db import DB_FILENAME


def _app(name: str) -> apppb.Application:
    app = apppb.Application()
    app.metadata.name = name
    app.spec.source.repo_url = "https://example.com/repo.git"
    app.spec.source.path = name
    app.spec.destination.server = "https://kubernetes.default.svc"
    app.spec.destination.namespace = "web"
    return app


def test_resource_version_never_goes_back_after_a_delete(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    apps = Applications(store)
    apps.create(_app("a"))
    newest = int(apps.create(_app("b")).metadata.resource_version)
    apps.delete("b")
    # A watcher that saw "b" at `newest` must never see an older-looking later event.
    assert int(apps.create(_app("c")).metadata.resource_version) > newest
    store.close()
    store = Store.open_data_dir(tmp_path)  # and not after a restart either
    assert int(Applications(store).create(_app("d")).metadata.resource_version) > newest + 1
    store.close()


def test_resource_version_of_status_writes_survives_a_restart_and_a_delete(tmp_path: Path) -> None:
    """Status writes are single statements that leave the counter row alone (Store.counter): the
    next daemon must still start above every version it handed out, whether the row that holds
    the highest one is still there or was deleted."""
    store = Store.open_data_dir(tmp_path)
    apps = Applications(store)
    apps.create(_app("a"))
    apps.create(_app("b"))
    status = apppb.ApplicationStatus()
    for _ in range(5):
        status.sync.status = "Synced" if status.sync.status != "Synced" else "OutOfSync"
        top = int(apps.set_status("a", status).metadata.resource_version)
    store.close()
    store = Store.open_data_dir(tmp_path)
    apps = Applications(store)
    assert int(apps.set_status("b", status).metadata.resource_version) == top + 1
    top = int(apps.set_status("a", status).metadata.resource_version)
    apps.delete("a")  # the row with the highest version goes
    store.close()
    store = Store.open_data_dir(tmp_path)
    assert int(Applications(store).create(_app("c")).metadata.resource_version) > top
    store.close()


def test_reads_are_answered_while_a_write_transaction_is_open(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    apps = Applications(store)
    apps.create(_app("web"))
    inside, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        with store.transaction() as conn:
            conn.execute("UPDATE applications SET updated_at = 'now' WHERE name = 'web'")
            inside.set()
            release.wait(30)

    writer = threading.Thread(target=slow_writer)
    writer.start()
    try:
        assert inside.wait(10)
        got: list[apppb.Application] = []
        reader = threading.Thread(target=lambda: got.extend([apps.get("web"), *apps.list()]))
        reader.start()
        reader.join(10)  # with one shared connection this read would wait for the writer
        assert not reader.is_alive(), "a read waited for an open write transaction"
        assert [a.metadata.name for a in got] == ["web", "web"]
    finally:
        release.set()
        writer.join()
    store.close()


def test_rows_written_before_the_binary_columns_are_still_read(tmp_path: Path) -> None:
    store = Store.open_data_dir(tmp_path)
    apps = Applications(store)
    apps.create(_app("legacy"))
    store.close()
    # As a v6 gitopsd left it: JSON only.
    conn = sqlite3.connect(tmp_path / DB_FILENAME, isolation_level=None)
    conn.execute(
        "UPDATE applications SET manifest_pb = NULL, status_pb = NULL, status = ?",
        ('{"sync":{"status":"Synced"},"health":{"status":"Healthy"}}',),
    )
    conn.close()
    store = Store.open_data_dir(tmp_path)
    app = Applications(store).get("legacy")
    assert app.spec.source.path == "legacy"
    assert (app.status.sync.status, app.status.health.status) == ("Synced", "Healthy")
    store.close()


def test_a_second_daemon_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = DaemonProcess(tmp_path / "data", tmp_path / "first.log").start()
    try:
        second = DaemonProcess(tmp_path / "data", tmp_path / "second.log", login=False)
        with pytest.raises(RuntimeError) as err:
            second.start()
        assert f"another gitopsd serve (pid {first.proc.pid})" in str(err.value)  # type: ignore[union-attr]
        assert str(tmp_path / "data") in str(err.value)
    finally:
        first.stop()
    # Its lock goes with it: the next daemon starts.
    DaemonProcess(tmp_path / "data", tmp_path / "third.log").start().stop()


def test_a_burst_of_forced_ls_remotes_asks_the_server_once_per_round(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create("app")
    first = repo.commit({"a.yaml": "x: 1\n"})
    cache = RepoCache(tmp_path / "cache")
    cache.ls_remote(repo.url, force=True)
    before = cache.stats(repo.url).ls_remote
    results: list[str] = []
    ready = threading.Barrier(40)

    def refresh() -> None:
        ready.wait(30)  # all ask at once, as 10,000 new applications do
        results.append(cache.resolve_sha(repo.url, "main", force=True))

    threads = [threading.Thread(target=refresh) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [first] * 40
    # Every caller got an answer the server gave after it asked, in a few rounds: not one call each
    # (a loaded machine may spread the 40 over several rounds, hence the margin).
    assert cache.stats(repo.url).ls_remote - before <= 10
    # Freshness holds: a forced call after a push sees the push.
    second = repo.commit({"a.yaml": "x: 2\n"})
    assert cache.resolve_sha(repo.url, "main", force=True) == second
