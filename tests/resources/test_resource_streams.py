"""The resource streams (WatchResourceTree, PodLogs with follow) hold no gRPC worker thread while
they wait, and count towards each user's stream limit as Watch does: a daemon with 2 worker threads
keeps 6 such streams open and still answers unary calls; a user's stream over the limit is refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from fixtures.daemon import wait_for
from resources.resenv import ResEnv, deployment, start, stop

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import resource_pb2 as respb

WORKERS = 2
STREAMS_PER_USER = 3


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResEnv]:
    e = start(
        tmp_path_factory.mktemp("streams"),
        {"GITOPSD_GRPC_WORKERS": str(WORKERS), "GITOPSD_GRPC_MAX_STREAMS_PER_USER": str(STREAMS_PER_USER)},
    )
    try:
        yield e
    finally:
        stop(e)


def test_open_tree_watches_and_log_follows_hold_no_worker_and_are_capped_per_user(env: ResEnv) -> None:
    env.deploy("streamed", {"deploy.yaml": deployment("st", 1, log_lines="ready")}, "streamed-ns")
    admin_channel, admin = env.apps("admin")
    viewer_channel, viewer = env.apps("viewer")
    firsts: list[str] = []
    lock = threading.Lock()

    def drain(stream: grpc.Future) -> None:  # type: ignore[type-arg]
        try:
            for item in stream:  # type: ignore[attr-defined]
                with lock:
                    firsts.append(type(item).__name__)
                # keep reading: the stream stays open until cancelled
        except grpc.RpcError:
            pass

    streams = [
        admin.WatchResourceTree(respb.ResourcesQuery(application_name="streamed"), timeout=120)
        for _ in range(STREAMS_PER_USER)
    ] + [
        viewer.PodLogs(respb.ApplicationPodLogsQuery(name="streamed", follow=True), timeout=120)
        for _ in range(STREAMS_PER_USER)
    ]
    readers = [threading.Thread(target=drain, args=(s,), daemon=True) for s in streams]
    for r in readers:
        r.start()
    try:
        # Every stream has answered (a tree; the log's lines), and waits for more: 6 open on 2 workers.
        wait_for(
            lambda: firsts.count("ApplicationTree") >= STREAMS_PER_USER and firsts.count("LogEntry") >= STREAMS_PER_USER,
            what="every stream's first message",
        )
        assert all(s.running() for s in streams)  # type: ignore[attr-defined]
        # Unary calls are still served, by the two workers the streams do not hold.
        for _ in range(5):
            got = admin.Get(apppb.GetApplicationRequest(name="streamed"), timeout=10)
            assert got.metadata.name == "streamed"
        # A fourth stream of the same user is over its limit.
        with pytest.raises(grpc.RpcError) as refused:
            list(admin.WatchResourceTree(respb.ResourcesQuery(application_name="streamed"), timeout=10))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "grpc.max_streams_per_user" in refused.value.details()
    finally:
        for s in streams:
            s.cancel()  # type: ignore[attr-defined]
        admin_channel.close()
        viewer_channel.close()


def test_a_tree_watch_ends_when_its_application_is_deleted(env: ResEnv) -> None:
    env.deploy("ephemeral", {"deploy.yaml": deployment("eph", 1)}, "ephemeral-ns")
    channel, apps = env.apps("admin")
    with channel:
        stream = apps.WatchResourceTree(respb.ResourcesQuery(application_name="ephemeral"), timeout=60)
        first = next(stream)
        assert any(n.kind == "Deployment" for n in first.nodes)
        assert env.cli("app", "delete", "ephemeral", "-y").returncode == 0
        with pytest.raises(grpc.RpcError) as ended:
            for _ in stream:
                pass
    assert ended.value.code() == grpc.StatusCode.NOT_FOUND, ended.value.details()
    assert "ephemeral" in ended.value.details()
