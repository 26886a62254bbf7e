"""Benchmark: the render after a push to one application of a repository of N applications.

Not a test: prints figures per size. One Git repository holds N plain Directory applications
(apps/app-NNNNN/configmap.yaml, issue 14's layout). Two renderers, each with its own repo cache, render
application 0 at commit A (the clone and the first render: not measured), then for each of several
pushes (a commit changing one other application) both resolve the new commit (ls-remote, fetch) and
render the pushed application at it: once from a checkout (the path before gitopsd.sources.render_objects,
`read_objects` off: an idle checkout advanced in place) and once from git objects, on the same commit,
one after the other. Before the pushes, both render COLD_SAMPLE applications not rendered yet at the
first commit (what a cold sync does ten thousand times). The baseline is git itself on the bare
repository: `git ls-tree -r` of the whole commit (what any whole-tree check costs) and `git checkout`
of the commit into a fresh work tree.

Run: .venv/bin/python bench/push_render.py [--sizes 1000,5000,10000] [--pushes 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from benchlib import bare_of, git, make_repos, table

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer

# Applications rendered for the first time at the first commit, for the cold figure.
COLD_SAMPLE = 200


def _timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - start


class Run:
    """One size: the figures measured."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.fig: dict[str, float] = {}
        self.notes: dict[str, str] = {}

    def run(self, work_root: Path, pushes: int) -> None:
        start = time.perf_counter()
        work = make_repos(work_root, self.n, 1)[0]
        bare = bare_of(work)
        self.notes["repository built in"] = f"{time.perf_counter() - start:.1f} s"
        paths = {"checkout": False, "objects": True}
        renderers = {}
        for name, objects in paths.items():
            r = SourceRenderer(RepoCache(work_root / f"cache-{name}", max_fetch_bytes=1 << 30), None)
            r.read_objects = objects
            renderers[name] = r

        def source(i: int) -> apb.ApplicationSource:
            return apb.ApplicationSource(repo_url=str(bare), path=f"apps/app-{i:05d}", target_revision="main")

        for name, r in renderers.items():
            took = _timed(lambda r=r: r.render("app-0", source(0), "bench"))
            self.notes[f"first render ({name}: clone, whole-tree work)"] = f"{took:.2f} s"
        # A cold sync's renders: applications not rendered yet, at the commit already checked out.
        cold = [1 + (k * 104729) % (self.n - 1) for k in range(COLD_SAMPLE)]
        for name, r in renderers.items():
            start = time.perf_counter()
            for i in cold:
                r.render(f"app-{i}", source(i), "bench")
            self.fig[f"cold render, {name} (ms each)"] = (
                (time.perf_counter() - start) / len(cold) * 1000
            )
        resolve: dict[str, list[float]] = {n: [] for n in paths}
        render: dict[str, list[float]] = {n: [] for n in paths}
        ls_tree, checkout = [], []
        for k in range(pushes):
            i = 1 + (k * 7919) % (self.n - 1)  # an application spread over the repository
            cm = work / "apps" / f"app-{i:05d}" / "configmap.yaml"
            cm.write_text(cm.read_text().replace("payload:", f"push{k}: x\n  payload:"))
            git("commit", "--quiet", "-am", f"push {k}", cwd=work)
            git("push", "--quiet", "bare", "main", cwd=work)
            order = list(renderers.items()) if k % 2 == 0 else list(reversed(renderers.items()))
            for name, r in order:
                assert r.repo_cache is not None
                resolve[name].append(
                    _timed(lambda r=r: r.repo_cache.resolve(str(bare), "main", force=True))  # type: ignore[union-attr]
                )
                start = time.perf_counter()
                got = r.render(f"app-{i}", source(i), "bench").manifests[0]["data"]
                render[name].append(time.perf_counter() - start)
                assert f"push{k}" in got, got
            sha = git("rev-parse", "HEAD", cwd=work)
            ls_tree.append(_timed(lambda sha=sha: git("ls-tree", "-r", "-z", sha, cwd=bare)))
            with tempfile.TemporaryDirectory(dir=work_root) as tree:
                env = {**os.environ, "GIT_DIR": str(bare), "GIT_WORK_TREE": tree, "GIT_INDEX_FILE": f"{tree}.index"}
                checkout.append(
                    _timed(
                        lambda sha=sha, env=env: subprocess.run(
                            ["git", "checkout", "--quiet", "--force", "--detach", sha],
                            env=env,
                            check=True,
                            capture_output=True,
                        )
                    )
                )
        for name in paths:
            self.fig[f"resolve the push, {name} (ms)"] = statistics.median(resolve[name]) * 1000
        for name in paths:
            self.fig[f"render the pushed app, {name} (ms)"] = statistics.median(render[name]) * 1000
        self.fig["baseline: git ls-tree -r, whole commit (ms)"] = statistics.median(ls_tree) * 1000
        self.fig["baseline: git checkout, new work tree (ms)"] = statistics.median(checkout) * 1000
        self.notes["pushes (medians of)"] = str(pushes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,5000,10000")
    ap.add_argument("--pushes", type=int, default=5)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    runs = []
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="push-render-") as tmp:
            run = Run(n)
            run.run(Path(tmp), args.pushes)
            runs.append(run)
            print(f"{n:,} applications done (load average {os.getloadavg()[0]:.2f})", flush=True)
    table(runs)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
