"""The Helm render worker: a child process (spawn context) that owns the Helm SDK.

Helm's render has no timeout and cannot be interrupted in-process, and a forked Go runtime hangs on
network pulls, so each render runs in a spawned worker that the sidecar kills at the deadline
(gitopsd_helm.pool). The worker serves jobs over a pipe: one dict in, one dict out.
This module imports only the standard library and helm_python, so a worker starts fast.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.parse
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from gitopsd_helm.archive import check_archive, check_chart_dir
from gitopsd_helm.outcome import (
    FAILED_PRECONDITION,
    INTERNAL,
    INVALID_ARGUMENT,
    RESOURCE_EXHAUSTED,
    WorkerFailure,
)
from gitopsd_helm.values import escape_set_value, merge_set, merge_values


def _die_with_parent() -> None:
    """A worker stuck in a template loop must not outlive a sidecar that was killed outright.

    (prctl's PDEATHSIG would fire when the *thread* that started the worker ends, which in the pool
    is a short-lived thread; watching the parent pid works whatever thread started us.)
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def worker_main(conn: Connection, env: dict[str, str]) -> None:
    """Entry point of a worker process: set up Helm's environment, then serve jobs until EOF."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the sidecar decides when workers stop
    # Before the Helm library loads: Go reads the environment once, at start.
    os.environ.update(env)
    for key in ("HOME", "HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        if key in env:
            Path(env[key]).mkdir(parents=True, exist_ok=True)
    import helm_python

    helm_python.disable_logging()
    conn.send({"ready": True, "helm": helm_python.helm_sdk_version()})
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run_job(job))


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Render one job; never raises (failures become {"ok": False, "code", "message"})."""
    import helm_python

    try:
        return {"ok": True, **_render(job)}
    except WorkerFailure as failure:
        return {"ok": False, "code": failure.code, "message": failure.message}
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
        helm.pull(
            chart,
            repo_url=repo_url,
            version=version,
            destination=destination,
            username=username,
            password=password,
            insecure_skip_tls_verify=job["insecure_skip_tls_verify"],
        )
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


def _render(job: dict[str, Any]) -> dict[str, Any]:
    import helm_python as helm
    from helm_python import _native

    scratch = Path(job["scratch"])
    if job["chart_dir"]:
        chart_dir = Path(job["chart_dir"])
        check_chart_dir(chart_dir, job["max_chart_bytes"])
        chart = helm.Chart.load(chart_dir)
    else:
        archive = _pull(job, scratch)
        check_archive(archive, job["max_chart_bytes"], archive.name)
        chart = helm.Chart.load(archive)
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
