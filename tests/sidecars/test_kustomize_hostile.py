"""Hostile kustomizations against the real gitopsd-kustomize (issue 10, items 2 and 3).

Remote references are refused whatever the repository holds on disk; kubectl runs where it could
fetch nothing even if that check were wrong; a YAML bomb costs one render a clear error under the
kernel-enforced memory limit; and no kubectl outlives a SIGKILLed sidecar.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from fixtures.gitrepos import GitRepos
from fixtures.renderers import Sidecar, render_failure, source_files
from gitopsd_kustomize.render import KustomizeRenderer, clean_env

from gitopsd.api.gitopsd.v1 import application_pb2, renderer_pb2
from gitopsd.sidecar import InvalidSource, Limits

PRIVATE = "private-config-of-another-project"
MiB = 1024 * 1024


def request(path: str, tree: dict[str, str], **limits: float) -> renderer_pb2.RenderRequest:
    req = renderer_pb2.RenderRequest(
        source_type="Kustomize",
        source=application_pb2.ApplicationSource(repo_url="https://git.example.com/app.git", path=path),
        files=source_files(tree),
        app_name="app",
        namespace="default",
        revision="0" * 40,
    )
    if limits:
        req.limits.CopyFrom(renderer_pb2.RenderLimits(**limits))
    return req


def render_names(sidecar: Sidecar, req: renderer_pb2.RenderRequest) -> list[str]:
    reply = sidecar.stub.Render(req, timeout=120)
    return [json.loads(doc)["metadata"]["name"] for doc in reply.manifests]


GOOD = {
    "ok/kustomization.yaml": "resources: [cm.yaml]\n",
    "ok/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fine\n",
}


@pytest.fixture
def other_repo(git_repos: GitRepos) -> str:
    """Another project's private repository on this host (a bare repo, as in the daemon's data dir)."""
    repo = git_repos.create("other")
    repo.commit(
        {
            "app/kustomization.yaml": "resources: [cm.yaml]\n",
            "app/cm.yaml": f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {PRIVATE}\n",
        }
    )
    return str(repo.url).removeprefix("file://")


def look_alike(entry: str) -> dict[str, str]:
    """A kustomization naming `entry`, plus a committed directory with the name pathlib gives it."""
    collapsed = str(Path("app") / entry)  # pathlib collapses "//": the old check saw this directory
    return {
        "app/kustomization.yaml": f"resources:\n  - {entry}\n",
        f"{collapsed}/kustomization.yaml": "resources: []\n",
    }


def remote_entries(bare: str) -> list[str]:
    return [
        f"file://{bare}//app?ref=main",
        f"git::file://{bare}//app",
        f"file://{bare}//app",
        f"{bare.lstrip('/')}//app?ref=main",
        "ssh://git.example.com/org/repo.git//app",
        "git@git.example.com:org/repo.git//app",
        "github.com/org/repo//app?ref=main",
        "github.com/org/repo/app",
        "https://git.example.com/org/repo.git//app?ref=v1",
    ]


def test_remote_bases_refused_whatever_exists_on_disk(kustomize_sidecar: Sidecar, other_repo: str) -> None:
    for entry in remote_entries(other_repo):
        failure = render_failure(kustomize_sidecar, request("app", look_alike(entry)))
        assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT, (entry, failure.details())
        assert failure.details().startswith(f"app/kustomization.yaml: remote resource {entry!r} refused: "), entry
        assert "fetches nothing" in failure.details()
        assert PRIVATE not in failure.details()
    assert render_names(kustomize_sidecar, request("ok", GOOD)) == ["fine"]


def test_local_paths_that_merely_look_like_hosts_still_render(kustomize_sidecar: Sidecar) -> None:
    tree = {
        "overlay/kustomization.yaml": "resources:\n  - ../my.app/base\n  - ./extra.v2.yaml\n  - sub/\n",
        "overlay/extra.v2.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
        "overlay/sub/kustomization.yaml": "resources: [cm.yaml]\n",
        "overlay/sub/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub\n",
        "my.app/base/kustomization.yaml": "resources: [cm.yaml]\n",
        "my.app/base/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n",
    }
    assert sorted(render_names(kustomize_sidecar, request("overlay", tree))) == ["base", "extra", "sub"]


def test_remote_files_in_patches_refused(kustomize_sidecar: Sidecar) -> None:
    tree = dict(GOOD)
    tree["ok/kustomization.yaml"] = "resources: [cm.yaml]\npatches:\n  - path: https://example.com/p.yaml\n"
    failure = render_failure(kustomize_sidecar, request("ok", tree))
    assert failure.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "ok/kustomization.yaml: patches path 'https://example.com/p.yaml' is a URL, refused" in failure.details()


def test_kubectl_cannot_fetch_even_past_the_check(tmp_path: Path, other_repo: str) -> None:
    """Defence in depth: kubectl run as the sidecar runs it, on a remote base the check never saw."""
    backend = KustomizeRenderer(tmp_path / "work", tree_cache_bytes=0)
    app = tmp_path / "repo" / "app"
    app.mkdir(parents=True)
    for entry in (f"file://{other_repo}//app?ref=main", f"{other_repo}//app"):
        (app / "kustomization.yaml").write_text(f"resources:\n  - {entry}\n")
        with pytest.raises(InvalidSource) as failure:
            backend._run(app, Limits(timeout_seconds=60), app.parent)
        assert PRIVATE not in failure.value.message
        assert "kustomize build failed" in failure.value.message, failure.value.message
    # Should a git be found after all, it allows no transport (file:// included).
    env = {**clean_env(backend.home), "PATH": "/usr/bin:/bin"}
    (app / "kustomization.yaml").write_text(f"resources:\n  - file://{other_repo}//app?ref=main\n")
    result = subprocess.run(
        [str(backend.kubectl), "kustomize", "."], cwd=app, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and PRIVATE not in result.stdout
    assert "transport 'file' not allowed" in result.stderr


def alias_bomb() -> str:
    """553 bytes: ten levels of nine aliases, which kustomize expands while building."""
    lines = ["apiVersion: v1", "kind: Bomb", "metadata:", "  name: bomb", "spec:"]
    lines.append('  a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]')
    for level in range(1, 10):
        lines.append(f"  a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_yaml_bomb_hits_the_memory_limit_and_the_sidecar_serves_on(
    start_sidecar: Callable[..., Sidecar],
) -> None:
    limit = 256 * MiB
    sidecar = start_sidecar("gitopsd-kustomize", "--max-memory-bytes", str(limit))
    bomb = {"bomb/kustomization.yaml": "resources: [bomb.yaml]\n", "bomb/bomb.yaml": alias_bomb()}
    assert len(bomb["bomb/bomb.yaml"]) == 553
    failure = render_failure(sidecar, request("bomb", bomb, timeout_seconds=30))
    assert failure.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, failure.details()
    assert failure.details() == f"kustomize ran out of memory: render.max_memory_bytes is {limit} bytes"
    assert sidecar.process.poll() is None
    assert render_names(sidecar, request("ok", GOOD)) == ["fine"]


def _kubectl_children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if "kubectl" in Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(child))
            except FileNotFoundError:
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_kubectl_dies_with_a_sigkilled_sidecar(start_sidecar: Callable[..., Sidecar]) -> None:
    sidecar = start_sidecar("gitopsd-kustomize")
    # kustomize's prefix and label transformers are quadratic: thousands of objects take many seconds.
    many = "---\n".join(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{index}\ndata: {{a: b}}\n" for index in range(8000)
    )
    slow = {
        "slow/kustomization.yaml": "resources: [many.yaml]\nnamePrefix: x-\nlabels:\n- pairs: {a: b}\n",
        "slow/many.yaml": many,
    }
    req = request("slow", slow, timeout_seconds=300, max_output_bytes=64 * MiB)
    threading.Thread(target=lambda: render_failure(sidecar, req), daemon=True).start()
    deadline = time.monotonic() + 60
    children: list[int] = []
    while not children and time.monotonic() < deadline:
        children = _kubectl_children(sidecar.process.pid)
        time.sleep(0.05)
    assert children, "kubectl never started"
    os.kill(sidecar.process.pid, signal.SIGKILL)
    sidecar.process.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [pid for pid in children if _alive(pid)]
    for pid in survivors:  # do not leave it running if the test fails
        os.kill(pid, signal.SIGKILL)
    assert survivors == []
