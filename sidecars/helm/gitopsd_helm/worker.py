"""The Helm render worker: a child process (spawn context) that owns the Helm SDK.

Helm's render has no timeout and cannot be interrupted in-process, and a forked Go runtime hangs on
network pulls, so each render runs in a spawned worker that the sidecar kills at the deadline
(gitopsd_helm.pool). The worker serves jobs over a pipe: one dict in, one dict out.
This module imports only the standard library and helm_python, so a worker starts fast.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import urllib.parse
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gitopsd_helm.archive import check_archive, check_chart_dir
from gitopsd_helm.deps import build as build_dependencies
from gitopsd_helm.fetch import fetch_chart
from gitopsd_helm.outcome import (
    FAILED_PRECONDITION,
    INTERNAL,
    INVALID_ARGUMENT,
    RESOURCE_EXHAUSTED,
    WorkerFailure,
)
from gitopsd_helm.values import escape_set_value, merge_set, merge_values

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _confine(parent: int, max_memory_bytes: int, stderr_path: str) -> None:
    """Bind this worker to the sidecar's lifetime and to a kernel-enforced memory limit.

    Runs first, before the Helm library (a Go runtime) loads:
    - PR_SET_PDEATHSIG: the kernel kills us when the sidecar dies, even by SIGKILL and even while we
      are stuck in a native render. The signal follows the *thread* that started us, so the pool
      starts every worker from one long-lived thread; a parent gone before this call is caught by
      the getppid check.
    - RLIMIT_DATA, not RLIMIT_AS: the Go runtime reserves address space it never uses (a worker is
      ~1.8 GB of virtual memory before its first render, while ~140 MB of it is data), so an
      address-space limit would have to be set far above any useful bound. RLIMIT_DATA counts
      private writable mappings (since Linux 4.7): the Go heap, Python's heap and thread stacks,
      which is what a hostile chart grows. Past it, mmap fails: Go aborts with "fatal error: out of
      memory" and Python raises MemoryError; either way the pool reports the limit and replaces us.
    - GOMEMLIMIT at 3/4 of the limit makes Go collect garbage harder before it reaches the wall.
    - stderr goes to a file of our own, so the pool can tell an out-of-memory death from a crash.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0 or os.getppid() != parent:
        os._exit(1)
    descriptor = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = max_memory_bytes if hard == resource.RLIM_INFINITY else min(max_memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    os.environ.setdefault("GOMEMLIMIT", str(limit * 3 // 4))


def worker_main(
    conn: Connection, env: dict[str, str], parent: int, max_memory_bytes: int, stderr_path: str
) -> None:
    """Entry point of a worker process: confine it, set up Helm's environment, then serve jobs until EOF."""
    _confine(parent, max_memory_bytes, stderr_path)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sidecar decides when workers stop
    # Before the Helm library loads: Go reads the environment once, at start. The directories
    # themselves are made by the sidecar (gitopsd_helm.render), with explicit modes, before any worker.
    os.environ.update(env)
    import helm_python

    helm_python.disable_logging()
    conn.send({"ready": True, "helm": helm_python.helm_sdk_version()})
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        result = run_job(job)
        conn.send(result)
        if result.get("out_of_memory"):
            return  # the heap may be in any state: the pool starts a fresh worker


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Render one job; never raises (failures become {"ok": False, "code", "message"})."""
    import helm_python

    try:
        return {"ok": True, **_render(job)}
    except WorkerFailure as failure:
        return {
            "ok": False,
            "code": failure.code,
            "message": failure.message,
            "needs_credentials": failure.needs_credentials,
        }
    except MemoryError:
        return {"ok": False, "code": RESOURCE_EXHAUSTED, "message": "out of memory", "out_of_memory": True}
    except helm_python.HelmError as exc:
        return {"ok": False, "code": _helm_code(exc), "message": str(exc)}
    except Exception as exc:  # a bug here must come back as an answer, not kill the worker
        return {
            "ok": False,
            "code": INTERNAL,
            "message": f"internal error in the Helm worker ({type(exc).__name__})",
        }


def _helm_code(exc: Exception) -> str:
    import helm_python as helm

    if isinstance(
        exc, helm.HelmRepoError | helm.HelmRegistryError | helm.HelmNotFoundError | helm.HelmIOError
    ):
        return FAILED_PRECONDITION
    if isinstance(exc, helm.HelmPanicError | helm.HelmUnknownError | helm.HelmLibraryError):
        return INTERNAL
    return INVALID_ARGUMENT


def _pull(job: dict[str, Any], scratch: Path) -> Path:
    """Fetch a chart archive from an HTTP repository or an OCI registry into scratch; returns the .tgz."""
    import helm_python as helm

    destination = scratch / "pull"
    destination.mkdir()
    repo_url: str = job["repo_url"]
    chart: str = job["chart"]
    version = job["version"] or None
    username = job["username"] or None
    password = job["password"] or None
    if repo_url.startswith("oci://"):
        parsed = urllib.parse.urlsplit(repo_url)
        if parsed.username or parsed.password:
            raise WorkerFailure(
                INVALID_ARGUMENT, "credentials in the chart repository URL are refused; pass them as fields"
            )
        reference = f"{repo_url.rstrip('/')}/{chart}" if chart else repo_url
        # A credentials file per job: logins never leak into another request or the user's config.
        with helm.RegistryClient(
            plain_http=job["plain_http"], credentials_file=scratch / "registry.json"
        ) as client:
            if username or password:
                client.login(
                    parsed.netloc,
                    username or "",
                    password or "",
                    insecure=job["insecure_skip_tls_verify"],
                    plain_http=job["plain_http"],
                )
            client.pull(reference, version=version, destination=destination)
    else:
        parsed = urllib.parse.urlsplit(repo_url)
        if parsed.scheme not in ("http", "https"):
            raise WorkerFailure(
                INVALID_ARGUMENT, f"chart repository URL must be http(s):// or oci://, got {parsed.scheme!r}"
            )
        if parsed.username or parsed.password:
            raise WorkerFailure(
                INVALID_ARGUMENT, "credentials in the chart repository URL are refused; pass them as fields"
            )
        if not chart:
            raise WorkerFailure(INVALID_ARGUMENT, "a chart repository source needs a chart name")
        # Not helm.pull: it reads index.yaml and the archive into memory with no size limit.
        return fetch_chart(job, destination)
    archives = sorted(destination.glob("*.tgz"))
    if len(archives) != 1:
        raise WorkerFailure(FAILED_PRECONDITION, f"pulling chart {chart!r} produced no chart archive")
    return archives[0]


def _value_layers(job: dict[str, Any], chart: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Parse the value files (with Helm's own YAML reader) and inline values, in override order."""
    import helm_python as helm

    layers: list[dict[str, Any]] = []
    warnings: list[str] = []
    chart_files: dict[str, str] | None = None
    for name, text in job["value_files"]:
        if text is None:
            # A pulled chart: value files are files shipped inside the chart.
            if chart_files is None:
                chart_files = {entry["name"]: entry["data"] for entry in chart.files}
            text = chart_files.get(name)
            if text is None and name == "values.yaml":
                layers.append(chart.values)
                continue
            if text is None:
                if job["ignore_missing_value_files"]:
                    warnings.append(f"values file {name!r} not found in the chart; ignored")
                    continue
                raise WorkerFailure(FAILED_PRECONDITION, f"values file {name!r} not found in the chart")
        try:
            layers.append(helm.values_from_yaml(text))
        except helm.HelmError as exc:
            raise WorkerFailure(INVALID_ARGUMENT, f"values file {name!r}: {exc}") from None
    if job["inline_yaml"]:
        try:
            layers.append(helm.values_from_yaml(job["inline_yaml"]))
        except helm.HelmError as exc:
            raise WorkerFailure(INVALID_ARGUMENT, f"helm values: {exc}") from None
    if job["inline_values"] is not None:
        layers.append(job["inline_values"])
    return layers, warnings


def _values(job: dict[str, Any], chart: Any) -> tuple[dict[str, Any], list[str]]:
    import helm_python as helm

    layers, warnings = _value_layers(job, chart)
    values: dict[str, Any] = {}
    for layer in layers:
        values = merge_values(values, layer)
    for name, value, force_string in job["parameters"]:
        if not name or "=" in name:
            raise WorkerFailure(INVALID_ARGUMENT, f"helm parameter name {name!r} is empty or contains '='")
        expression = f"{name}={escape_set_value(value)}"
        try:
            parsed = (
                helm.parse_set_string_values(expression)
                if force_string
                else helm.parse_set_string(expression)
            )
        except helm.HelmError as exc:
            raise WorkerFailure(INVALID_ARGUMENT, f"helm parameter {name!r}: {exc}") from None
        values = merge_set(values, parsed)
    for name, path in job["file_parameters"]:
        if not name or "=" in name:
            raise WorkerFailure(
                INVALID_ARGUMENT, f"helm fileParameter name {name!r} is empty or contains '='"
            )
        try:
            parsed = helm.parse_set_file(f"{name}={escape_set_value(path)}")
        except helm.HelmError as exc:
            raise WorkerFailure(INVALID_ARGUMENT, f"helm fileParameter {name!r}: {exc}") from None
        values = merge_set(values, parsed)
    return values, warnings


def _without_schemas(chart: Any, scratch: Path) -> Any:
    """skipSchemaValidation: rendering always validates values.schema.json, so drop the schemas.

    The chart (with its subcharts) is written out as a directory in scratch, its schemas removed,
    and loaded again; the repository's files are never modified.
    """
    import helm_python as helm

    with chart:
        unpacked = Path(chart.save_dir(scratch / "no-schema"))
    for schema in unpacked.rglob("values.schema.json"):
        schema.unlink()
    return helm.Chart.load(unpacked)


def _with_dependencies(chart: Any, archive: Path, job: dict[str, Any]) -> Any:
    """A pulled chart that declares dependencies: expanded, its missing dependencies built, loaded again."""
    import helm_python as helm

    chart.close()
    expanded = Path(job["scratch"]) / "expanded"
    helm.expand(expanded, archive)
    chart_dirs = [path for path in expanded.iterdir() if (path / "Chart.yaml").is_file()]
    if len(chart_dirs) != 1:
        raise WorkerFailure(INVALID_ARGUMENT, f"chart archive {archive.name} does not hold one chart")
    # file:// dependencies of a pulled chart may only point inside that chart.
    if build_dependencies(chart_dirs[0], chart_dirs[0], job):
        check_chart_dir(chart_dirs[0], job["max_chart_bytes"])
    return helm.Chart.load(chart_dirs[0])


def _render(job: dict[str, Any]) -> dict[str, Any]:
    import helm_python as helm
    from helm_python import _native

    scratch = Path(job["scratch"])
    if job["chart_dir"]:
        chart_dir = Path(job["chart_dir"])
        check_chart_dir(chart_dir, job["max_chart_bytes"])
        if build_dependencies(chart_dir, Path(job["repo_root"]), job):
            check_chart_dir(chart_dir, job["max_chart_bytes"])
        chart = helm.Chart.load(chart_dir)
    else:
        archive = _pull(job, scratch)
        check_archive(archive, job["max_chart_bytes"], archive.name)
        chart = helm.Chart.load(archive)
        declared = {d.get("name") for d in chart.metadata.get("dependencies") or [] if isinstance(d, dict)}
        # Most archives carry their dependencies (`helm package` insists): only a lack costs a build.
        if declared - {d.get("name") for d in chart.dependencies}:
            chart = _with_dependencies(chart, archive, job)
    if job["skip_schema_validation"]:
        chart = _without_schemas(chart, scratch)
    with chart:
        values, warnings = _values(job, chart)
        options: dict[str, Any] = {"name": job["release_name"], "namespace": job["namespace"]}
        if job["kube_version"]:
            options["kube_version"] = job["kube_version"]
        if job["api_versions"]:
            options["api_versions"] = job["api_versions"]
        # Chart.render() does not expose kube_version/api_versions (Capabilities); the C ABI's render
        # options do, so call it directly with the same arguments Chart.render() passes.
        rendered: dict[str, str] = json.loads(
            _native.call_string("helm_render", chart._raw(), json.dumps(values), json.dumps(options))
        )
        crds = [] if job["skip_crds"] else [(crd["filename"], crd["data"]) for crd in chart.crds]
        templates = sorted(
            (name, text) for name, text in rendered.items() if not name.endswith("NOTES.txt") and text.strip()
        )
        # Check the size here: a template can produce far more than should cross the pipe.
        size = sum(len(text) for _, text in templates) + sum(len(text) for _, text in crds)
        if size > job["max_output_bytes"]:
            raise WorkerFailure(
                RESOURCE_EXHAUSTED, f"rendered output exceeds the limit of {job['max_output_bytes']} bytes"
            )
        return {"templates": templates, "crds": crds, "version": chart.version, "warnings": warnings}
