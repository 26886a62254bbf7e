"""A comparison that finds what the last one found (every application of a no-change pass) records when
it ran and nothing else: the status row, its resourceVersion and the event log stay as they were, `app
get` and a Watch stream on the application still see the new reconciledAt, the time outlives a restart,
and a drift found afterwards is a status write as before."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import grpc
from fixtures.daemon import GitOpsEnv, wait_for
from fixtures.gitrepos import GitRepos
from reconcile.apps import application, configmap, create, status

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc


def test_a_comparison_that_finds_nothing_new_records_only_its_time(
    gitops_env: GitOpsEnv, git_repos: GitRepos, tmp_path: Path
) -> None:
    cli, daemon = gitops_env.cli, gitops_env.daemon
    repo = git_repos.create("nochange")
    repo.commit({"apps/web/cm.yaml": configmap("web-config", {"colour": "blue"})})
    create(cli, tmp_path, application("web", repo.url, "apps/web", "nochange"))
    synced = cli("app", "sync", "web")
    assert synced.returncode == 0, synced.stdout + synced.stderr
    wait_for(lambda: status(cli, "web")["sync"]["status"] == "Synced", what="synced")

    stub = application_pb2_grpc.ApplicationServiceStub(daemon.channel())
    before = stub.Get(apppb.GetApplicationRequest(name="web"), timeout=30)
    logged = len(stub.ListEvents(apppb.ListEventsRequest(name="web"), timeout=30).items)
    watched: list[apppb.ApplicationEvent] = []
    stream = stub.Watch(apppb.WatchApplicationsRequest(name="web"), timeout=120)

    def watch() -> None:
        try:
            for event in stream:
                watched.append(event)
        except grpc.RpcError:
            pass  # cancelled at the end

    threading.Thread(target=watch, daemon=True).start()

    # Compared again (a user's refresh) until the clock has moved on: reconciledAt has seconds.
    def refreshed() -> apppb.Application | None:
        app = stub.Get(apppb.GetApplicationRequest(name="web", refresh="normal"), timeout=30)
        return app if app.status.reconciled_at > before.status.reconciled_at else None

    after = wait_for(refreshed, what="a later comparison")
    assert after.metadata.resource_version == before.metadata.resource_version  # the row was not rewritten
    unchanged = apppb.ApplicationStatus()
    unchanged.CopyFrom(after.status)
    unchanged.reconciled_at = before.status.reconciled_at
    assert unchanged == before.status
    read = stub.Get(apppb.GetApplicationRequest(name="web"), timeout=30)
    assert read.status.reconciled_at == after.status.reconciled_at  # a plain read sees the new time
    # So do Lists, whole and with a field selection (which builds its items another way).
    for fields in ([], ["status.reconciledAt"], ["status"]):
        listed = stub.List(apppb.ListApplicationsRequest(name="web", fields=fields), timeout=30).items
        assert [a.status.reconciled_at for a in listed] == [after.status.reconciled_at], fields
    assert len(stub.ListEvents(apppb.ListEventsRequest(name="web"), timeout=30).items) == logged
    # The open Watch stream heard of it (the dashboard's "Reconciled" line), at the same resourceVersion.
    wait_for(
        lambda: any(e.application.status.reconciled_at == after.status.reconciled_at for e in watched),
        what="the new reconciledAt on the Watch stream",
    )
    assert all(e.application.metadata.resource_version == before.metadata.resource_version for e in watched)
    stream.cancel()

    # The time outlives a restart (written when the daemon stops), in the row's own column.
    daemon.stop()
    with sqlite3.connect(daemon.data_dir / "gitopsd.db") as db:
        (column,) = db.execute("SELECT reconciled_at FROM applications WHERE name = 'web'").fetchone()
    assert column == after.status.reconciled_at
    daemon.start()
    stub = application_pb2_grpc.ApplicationServiceStub(daemon.channel())
    assert stub.Get(apppb.GetApplicationRequest(name="web"), timeout=30).status.reconciled_at >= column

    # A drift is a status change again: written, with a new resourceVersion.
    repo.commit({"apps/web/cm.yaml": configmap("web-config", {"colour": "green"})})
    drifted = wait_for(
        lambda: (a := stub.Get(apppb.GetApplicationRequest(name="web", refresh="normal"), timeout=30)).status.sync.status
        == "OutOfSync"
        and a,
        what="the new commit found",
    )
    assert int(drifted.metadata.resource_version) > int(before.metadata.resource_version)
