"""A push that names its changed files refreshes the application whose path holds them before every
other application on the repository (which are still refreshed: a change may reach them through a
shared base), skips applications whose manifest-generate-paths annotation names none of them, and
treats a malformed or huge file list as "unknown": every matching application refreshed at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from fixtures.daemon import wait_for
from fixtures.gitrepos import GitRepo
from reconcile.apps import application, configmap, create
from webhooks.hookenv import HookEnv
from webhooks.payloads import Repo, auth_headers, event_headers, get, post, push_body

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc

MGP = "argocd.argoproj.io/manifest-generate-paths"


class Revisions:
    """The order in which applications are first seen compared at each revision (the Watch stream)."""

    def __init__(self, env: HookEnv) -> None:
        self._channel = env.daemon.channel()
        self.stub = application_pb2_grpc.ApplicationServiceStub(self._channel)
        self._lock = threading.Lock()
        self.seen: dict[str, list[str]] = {}  # revision -> application names, in the order first seen
        self._stream = self.stub.Watch(apppb.WatchApplicationsRequest(send_initial=True), timeout=600)
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            for event in self._stream:
                app = event.application
                with self._lock:
                    names = self.seen.setdefault(app.status.sync.revision, [])
                    if app.metadata.name not in names:
                        names.append(app.metadata.name)
        except grpc.RpcError:
            pass  # cancelled at the end

    def order(self, revision: str) -> list[str]:
        with self._lock:
            return list(self.seen.get(revision, []))

    def revision(self, name: str) -> str:
        return str(self.stub.Get(apppb.GetApplicationRequest(name=name), timeout=30).status.sync.revision)

    def close(self) -> None:
        self._stream.cancel()
        self._channel.close()


@pytest.fixture
def revisions(hook_env: HookEnv) -> Iterator[Revisions]:
    watcher = Revisions(hook_env)
    try:
        yield watcher
    finally:
        watcher.close()


def _github_push(
    env: HookEnv, repo: GitRepo, before: str, after: str, commits: Any
) -> tuple[int, dict[str, Any]]:
    body = push_body("github", Repo(repo.bare.name.removesuffix(".git")), "refs/heads/main")
    body.update(before=before, after=after, created=False, deleted=False, forced=False, commits=commits)
    if isinstance(commits, list) and commits and isinstance(commits[-1], dict):
        body["head_commit"] = commits[-1]
    raw = json.dumps(body).encode()
    reply = post(env.http, {**event_headers("github"), **auth_headers("github", env.secrets["github"], raw)}, raw)
    return reply.status, reply.body


def _commit(sha: str, **files: list[str]) -> dict[str, Any]:
    return {"id": sha, "message": "change", **{k: files.get(k, []) for k in ("added", "modified", "removed")}}


def _apps_on(env: HookEnv, repo: GitRepo, names: dict[str, str], annotations: dict[str, str] | None = None) -> None:
    """One application per name, on `repo` at its path (name -> path), each in its own namespace."""
    for name, path in names.items():
        app = application(name, env.git_url(repo), path, name)
        if annotations and name in annotations:
            app["metadata"]["annotations"] = {MGP: annotations[name]}
        create(env.cli, env.tmp, app)


def test_the_app_whose_files_changed_is_refreshed_before_all_others(
    hook_env: HookEnv, revisions: Revisions
) -> None:
    env = hook_env
    repo = env.repos.create("monorepo")
    # Named so that the changed one comes last: in name order it would be refreshed last.
    names = {f"mono-{i:02d}": f"apps/app-{i:02d}" for i in range(12)}
    changed_app = "mono-11"
    first = repo.commit({f"{path}/cm.yaml": configmap(name) for name, path in names.items()}, message="v1")
    _apps_on(env, repo, names)
    wait_for(lambda: set(revisions.order(first)) >= set(names), timeout=60, what="first comparison of all")

    second = repo.commit({"apps/app-11/cm.yaml": configmap(changed_app, {"v": "2"})}, message="change app-11")
    status, reply = _github_push(env, repo, first, second, [_commit(second, modified=["apps/app-11/cm.yaml"])])
    assert status == 200, reply
    assert reply["changedFiles"] == 1
    assert reply["refreshed"][0] == changed_app and sorted(reply["refreshed"]) == sorted(names)

    # Every application sees the new commit (a shared file could have changed any of them)...
    wait_for(lambda: set(revisions.order(second)) >= set(names), timeout=60, what="all refreshed by the push")
    # ...and the one whose files changed is compared at it before any other.
    assert revisions.order(second)[0] == changed_app, revisions.order(second)


def test_manifest_generate_paths_skips_apps_whose_paths_did_not_change(
    hook_env: HookEnv, revisions: Revisions
) -> None:
    env = hook_env
    repo = env.repos.create("annotated")
    paths = {"mgp-c": "apps/c", "mgp-d": "apps/d", "mgp-e": "apps/e", "mgp-f": "apps/f"}
    files = {f"{path}/cm.yaml": configmap(name) for name, path in paths.items()}
    first = repo.commit({**files, "shared/base.yaml": "# shared\n"}, message="v1")
    # c: its own directory; d: its directory and a shared one (absolute); e: its own, untouched;
    # f: no annotation.
    _apps_on(env, repo, paths, {"mgp-c": ".", "mgp-d": "/shared; .", "mgp-e": "."})
    wait_for(lambda: set(revisions.order(first)) >= set(paths), timeout=60, what="first comparison of all")

    second = repo.commit(
        {"apps/c/cm.yaml": configmap("mgp-c", {"v": "2"}), "shared/base.yaml": "# shared, v2\n"}, message="c"
    )
    commits = [_commit(second, modified=["apps/c/cm.yaml", "shared/base.yaml"])]
    status, reply = _github_push(env, repo, first, second, commits)
    assert status == 200, reply
    assert reply["refreshed"] == ["mgp-c", "mgp-d", "mgp-f"], reply
    assert reply["skipped"] == ["mgp-e"] and "manifest-generate-paths" in reply["message"]
    wait_for(
        lambda: set(revisions.order(second)) >= {"mgp-c", "mgp-d", "mgp-f"}, timeout=60, what="refreshed by the push"
    )
    assert revisions.revision("mgp-e") == first  # not refreshed: its annotation said nothing it uses changed

    # A push that does not say what changed refreshes it too: the annotation cannot tell.
    status, reply = _github_push(env, repo, first, second, [])
    assert status == 200 and reply["changedFiles"] is None and "mgp-e" in reply["refreshed"], reply
    wait_for(lambda: revisions.revision("mgp-e") == second, timeout=60, what="refreshed when changes are unknown")


@pytest.fixture(scope="module")
def hostile_repo(hook_env: HookEnv) -> tuple[GitRepo, str]:
    """Two applications on one repository, one with a manifest-generate-paths annotation."""
    repo = hook_env.repos.create("hostile-lists")
    sha = repo.commit({"apps/x/cm.yaml": configmap("hostile-x")}, message="v1")
    _apps_on(hook_env, repo, {"hostile-x": "apps/x", "hostile-y": "apps/y"}, {"hostile-y": "."})
    return repo, sha


@pytest.mark.parametrize(
    "commits",
    [
        "apps/x/cm.yaml",
        [{"modified": "apps/x/cm.yaml"}],
        [{"added": [None, 7]}],
        [_commit("3" * 40, modified=[f"apps/x/{i:06d}.yaml" for i in range(15_000)])],  # ~700 KB with head_commit
    ],
    ids=["string", "string-list", "non-strings", "huge"],
)
def test_malformed_or_huge_file_lists_refresh_as_if_unknown(
    hook_env: HookEnv, hostile_repo: tuple[GitRepo, str], commits: Any
) -> None:
    env = hook_env
    repo, sha = hostile_repo
    status, reply = _github_push(env, repo, "1" * 40, sha, commits)
    assert status == 200, reply
    assert reply["changedFiles"] is None and reply["changedFilesUnknown"], reply
    # Unknown: both refreshed at once, the annotated one too (nothing says its paths are untouched).
    assert reply["refreshed"] == ["hostile-x", "hostile-y"] and "skipped" not in reply
    assert get(env.http, "/healthz") == (200, "ok\n")
    log = env.daemon.log()
    assert "Traceback" not in log and "apps/x/000001.yaml" not in log
    env.assert_no_secret_logged()
