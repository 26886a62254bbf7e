"""Benchmark: pulling one chart from a big HTTP chart repository, Helm's own pull vs the Helm sidecar's fetch.

A generated index.yaml of --mib MiB (100 versions each of many charts) is served on 127.0.0.1; each
side runs in a fresh process and reports its peak memory (VmHWM) and time. Helm's pull reads and
parses the whole index; gitopsd_helm.fetch streams it to disk (capped) and builds only the wanted
chart's entries from the parse events.
Run: .venv/bin/python bench/helm_index_bench.py [--mib 25]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ENTRY = """\
  - apiVersion: v2
    appVersion: "1.{v}.0"
    created: "2024-01-01T00:00:00.000000000Z"
    description: A Helm chart for Kubernetes, number {c}, with a description of ordinary length
    digest: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    name: chart{c}
    urls:
    - chart{c}-0.{v}.0.tgz
    version: 0.{v}.0
"""

MEASURE = """
import json, re, sys, time
from pathlib import Path
sys.path.insert(0, {sidecar!r})
side, url, scratch, wanted = sys.argv[1:5]
started = time.monotonic()
if side == "helm":
    import helm_python
    try:
        helm_python.pull(wanted, repo_url=url, version="0.1.0", destination=scratch)
    except helm_python.HelmError:
        pass  # the archive itself is absent: only the index matters here
else:
    from gitopsd_helm.fetch import fetch_chart
    from gitopsd_helm.outcome import WorkerFailure
    job = {{"repo_url": url, "chart": wanted, "version": "0.1.0", "username": "", "password": "",
           "insecure_skip_tls_verify": False, "max_index_bytes": 1 << 30, "max_chart_bytes": 1 << 25}}
    (Path(scratch) / "pull").mkdir()
    try:
        fetch_chart(job, Path(scratch) / "pull")
    except WorkerFailure:
        pass
peak = int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) // 1024
print(json.dumps({{"peak_mib": peak, "seconds": round(time.monotonic() - started, 2)}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=25, help="size of the generated index.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as base:
        root = Path(base)
        with (root / "index.yaml").open("w") as index:
            index.write("apiVersion: v1\nentries:\n")
            chart = 0
            while index.tell() < args.mib * 1024 * 1024:
                index.write(f"  chart{chart}:\n" + "".join(ENTRY.format(c=chart, v=v) for v in range(100)))
                chart += 1

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Quiet, directory=str(root))
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        script = MEASURE.format(sidecar=str(Path(__file__).resolve().parents[1] / "sidecars" / "helm"))
        # The last chart in the file: the fetch stops reading the index once it has the wanted entries.
        wanted = f"chart{chart - 1}"
        print(f"index.yaml: {args.mib} MiB, {chart} charts x 100 versions; pulling {wanted}")
        for side, label in (("helm", "Helm's pull (helm_python.pull)"), ("gitopsd", "gitopsd_helm.fetch")):
            with tempfile.TemporaryDirectory() as scratch:
                env = {"HOME": scratch, "PATH": "/usr/bin:/bin"}
                out = subprocess.run(
                    [sys.executable, "-c", script, side, url, scratch, wanted],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                result = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{label:34} peak {result['peak_mib']:6} MiB   {result['seconds']:6} s")
        server.shutdown()


if __name__ == "__main__":
    main()
