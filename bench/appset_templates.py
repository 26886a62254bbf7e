"""Benchmark: rendering an ApplicationSet template for N parameter sets, {{param}} substitution beside
Go templates (one worker process per generation: Helm SDK engine, sprig). The Go figure is mostly the
worker's start (a Python process importing the Helm SDK), paid once per generation, not per application.
Run: .venv/bin/python bench/appset_templates.py [--sets 1 100 1000]
"""

from __future__ import annotations

import argparse
import time

from gitopsd.app.generators.appset_gotemplate import GoTemplateLimits
from gitopsd.app.generators.appset_template import fast_renderer, go_renderer, render_documents

GO = {
    "metadata": {"name": "{{ .path.basename }}", "labels": {"team": "{{ .path.basename | upper }}"}},
    "spec": {"source": {"path": "{{ .path.path }}"}, "destination": {"namespace": "{{ .path.basename }}"}},
}
FAST = {
    "metadata": {"name": "{{path.basename}}", "labels": {"team": "{{path.basename}}"}},
    "spec": {"source": {"path": "{{path}}"}, "destination": {"namespace": "{{path.basename}}"}},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", type=int, nargs="+", default=[1, 100, 1000])
    args = parser.parse_args()
    print(f"{'sets':>6}  {'fasttemplate':>14}  {'goTemplate':>12}")
    for n in args.sets:
        go_params = [{"path": {"basename": f"svc{i}", "path": f"apps/svc{i}"}} for i in range(n)]
        fast_params = [{"path": f"apps/svc{i}", "path.basename": f"svc{i}"} for i in range(n)]
        t = time.perf_counter()
        render_documents(FAST, fast_params, fast_renderer())
        fast = time.perf_counter() - t
        t = time.perf_counter()
        render_documents(GO, go_params, go_renderer(True, GoTemplateLimits()))
        go = time.perf_counter() - t
        print(f"{n:>6}  {fast * 1000:>11.1f} ms  {go * 1000:>9.0f} ms")


if __name__ == "__main__":
    main()
