"""Benchmark: rendering every Kustomize application of a monorepo once, through the real kustomize sidecar.

Not a test: prints figures per size. One Git repository holds N applications, one directory each
(apps/app-NNNNN: a kustomization and a ConfigMap, as in issue 14's layout), plus a shared base every
application refers to. Each application is rendered once by SourceRenderer (the daemon's render path:
checkout, read the files, build the request, the sidecar's render), and the wall time is printed.

A render that sends the whole repository reads and ships 2N files for each of N applications: the total
grows as N^2. One that sends the application's inputs only grows as N. Compare both builds with
    PYTHONPATH=/work/main .venv/bin/python bench/monorepo_render.py      (before)
    PYTHONPATH=$PWD .venv/bin/python bench/monorepo_render.py            (after)
--sample K renders only K applications spread over the repository and scales the total up to N
(for the slow build at large sizes); the per-render figures are measured either way.
Run: .venv/bin/python bench/monorepo_render.py [--sizes 100,1000,3000] [--sample K]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from benchlib import configmap, git, table

from gitopsd.api.gitopsd.v1 import application_pb2 as apb
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.sidecars import SidecarConfig, SidecarSupervisor

BASE = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: shared\n"


def make_repo(root: Path, n: int) -> Path:
    """A bare repository of n Kustomize applications under apps/, each referring to ../../base."""
    work = root / "work"
    (work / "base").mkdir(parents=True)
    (work / "base" / "kustomization.yaml").write_text("resources:\n  - sa.yaml\n")
    (work / "base" / "sa.yaml").write_text(BASE)
    for i in range(n):
        d = work / "apps" / f"app-{i:05d}"
        d.mkdir(parents=True)
        (d / "configmap.yaml").write_text(yaml.safe_dump(configmap(i)))
        (d / "kustomization.yaml").write_text(
            f"namePrefix: a{i}-\nresources:\n  - configmap.yaml\n  - ../../base\n"
        )
    git("init", "--quiet", "--initial-branch=main", ".", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "applications", cwd=work)
    bare = root / "repo.git"
    git("clone", "--quiet", "--bare", str(work), str(bare), cwd=root)
    return bare


class Run:
    """One size: the figures measured."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.fig: dict[str, float] = {}
        self.notes: dict[str, str] = {}

    def run(self, supervisor: SidecarSupervisor, work: Path, sample: int) -> None:
        bare = make_repo(work, self.n)
        renderer = SourceRenderer(RepoCache(work / "cache"), supervisor)

        def source(i: int) -> apb.ApplicationSource:
            return apb.ApplicationSource(repo_url=str(bare), path=f"apps/app-{i:05d}", target_revision="main")

        # The clone and checkout, once for the repository: not what is measured.
        start = time.perf_counter()
        renderer.render("app-warm", source(0), "bench")
        self.fig["first render (clone, checkout) (s)"] = time.perf_counter() - start
        apps = list(range(1, self.n))
        if sample and sample < len(apps):
            step = len(apps) / sample
            apps = [apps[int(k * step)] for k in range(sample)]
        took = []
        wrong = 0
        for i in apps:
            start = time.perf_counter()
            result = renderer.render(f"app-{i:05d}", source(i), "bench")
            took.append(time.perf_counter() - start)
            wrong += sorted(m["kind"] for m in result.manifests) != ["ConfigMap", "ServiceAccount"]
        per = statistics.mean(took)
        self.fig["render every app once (s)"] = per * (self.n - 1)
        self.fig["per render, mean (ms)"] = per * 1000
        self.fig["per render, p50 (ms)"] = statistics.median(took) * 1000
        self.fig["per render, max (ms)"] = max(took) * 1000
        if len(apps) < self.n - 1:
            self.notes["sampled"] = f"{len(apps)} of {self.n - 1} renders timed, total scaled up"
        if wrong:
            self.notes["WRONG"] = f"{wrong} renders without the expected ConfigMap and ServiceAccount"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100,1000,3000", help="comma-separated numbers of applications")
    parser.add_argument("--sample", type=int, default=0, help="time only this many renders per size (0: all)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if max(sizes) > 3000:
        parser.error("sizes above 3000 are not for this shared machine")
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-monorepo-") as d:
        supervisor = SidecarSupervisor(SidecarConfig(socket_dir=Path(d) / "sc", ready_timeout=60))
        supervisor.start()
        try:
            if not supervisor.wait_ready("kustomize", 60):
                raise SystemExit("the kustomize sidecar did not start")
            for n in sizes:
                run = Run(n)
                work = Path(d) / f"n{n}"
                work.mkdir()
                run.run(supervisor, work, args.sample)
                print(f"{n:,} apps: {run.fig}", flush=True)
                runs.append(run)
        finally:
            supervisor.stop()
    table(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
