"""The Helm renderer backend (sidecar side): validate the request, build a job, run it in a worker.

Everything that needs no Helm library happens here (materializing files, checking that value files
stay inside the tree, converting valuesObject, YAML to JSON, limits); the worker
(gitopsd_helm.worker) pulls, loads and renders.
"""

from __future__ import annotations

import logging
import os
import posixpath
from importlib import metadata
from pathlib import Path
from typing import Any

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import (
    InvalidSource,
    LimitExceeded,
    Limits,
    OutputBudget,
    PreconditionFailed,
    RenderError,
    materialize,
    render_dir,
    resolve_inside,
    scrub_secrets,
    truncate_message,
)
from gitopsd.sidecar.errors import credential_variants
from gitopsd.sidecar.limits import DEFAULT_LIMITS
from gitopsd.sidecar.manifests import to_json, yaml_to_objects
from gitopsd.sidecar.version import package_version
from gitopsd_helm import depcache, outcome
from gitopsd_helm.pool import WorkerCrashed, WorkerPool
from gitopsd_helm.values import struct_to_values

log = logging.getLogger("gitopsd.helm")

_ERRORS: dict[str, type[RenderError]] = {
    outcome.INVALID_ARGUMENT: InvalidSource,
    outcome.FAILED_PRECONDITION: PreconditionFailed,
    outcome.RESOURCE_EXHAUSTED: LimitExceeded,
    outcome.INTERNAL: WorkerCrashed,
}
_TEST_HOOKS = {"test", "test-success"}


# The most a chart repository's index.yaml may be (--max-index-bytes): real ones are a few MiB; the
# cap bounds the download and the disk it takes (only the wanted chart's entries are parsed into memory).
DEFAULT_MAX_INDEX_BYTES = 32 * 1024 * 1024
# Built chart dependencies kept for later renders (--dependency-cache-mb).
DEFAULT_DEPENDENCY_CACHE_BYTES = 512 * 1024 * 1024


def private_dirs(work_dir: Path, paths: list[Path]) -> None:
    """Create `paths` (under `work_dir`) and every directory between, all 0700 whatever the umask.

    Made here, before any worker starts, rather than by each worker: mkdir's mode passes through
    the umask, and a directory we cannot enter (0600) would stop every later render.
    """
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        current = path
        while current != work_dir and work_dir in current.parents:
            os.chmod(current, 0o700)
            current = current.parent


def helm_environment(work_dir: Path) -> dict[str, str]:
    """Helm's home, cache, config and data under the sidecar's work dir: the user's home is never touched."""
    home = work_dir / "home"
    return {
        "HOME": str(home),
        "HELM_CACHE_HOME": str(work_dir / "helm" / "cache"),
        "HELM_CONFIG_HOME": str(work_dir / "helm" / "config"),
        "HELM_DATA_HOME": str(work_dir / "helm" / "data"),
        "HELM_REGISTRY_CONFIG": str(work_dir / "helm" / "config" / "registry" / "config.json"),
        "HELM_REPOSITORY_CONFIG": str(work_dir / "helm" / "config" / "repositories.yaml"),
        "HELM_REPOSITORY_CACHE": str(work_dir / "helm" / "cache" / "repository"),
        "KUBECONFIG": "/dev/null",
    }


def _is_test_hook(obj: dict[str, Any]) -> bool:
    metadata_ = obj.get("metadata")
    annotations = metadata_.get("annotations") if isinstance(metadata_, dict) else None
    hooks = annotations.get("helm.sh/hook", "") if isinstance(annotations, dict) else ""
    return isinstance(hooks, str) and bool({hook.strip() for hook in hooks.split(",")} & _TEST_HOOKS)


class HelmRenderer:
    """RenderBackend for Helm sources: charts from the repository tree, HTTP chart repositories and OCI."""

    def __init__(
        self,
        work_dir: Path,
        warm_workers: int = 2,
        max_workers: int = 4,
        max_memory_bytes: int = DEFAULT_LIMITS.max_memory_bytes,
        max_index_bytes: int = DEFAULT_MAX_INDEX_BYTES,
        dependency_cache_bytes: int = DEFAULT_DEPENDENCY_CACHE_BYTES,
    ) -> None:
        self.work_dir = work_dir
        self.max_index_bytes = max_index_bytes
        # Built chart dependencies (gitopsd_helm.depcache): emptied at start, keyed with a fresh salt.
        self.dependency_cache = work_dir / "dependencies"
        self.dependency_cache_bytes = dependency_cache_bytes
        self._dependency_salt = os.urandom(16).hex()
        env = helm_environment(work_dir)
        stderr_dir = work_dir / "workers"
        directories = [
            "HOME",
            "HELM_CACHE_HOME",
            "HELM_CONFIG_HOME",
            "HELM_DATA_HOME",
            "HELM_REPOSITORY_CACHE",
        ]
        private_dirs(work_dir, [stderr_dir, *(Path(env[key]) for key in directories)])
        depcache.reset(self.dependency_cache)
        self.pool = WorkerPool(
            env, stderr_dir, max_memory_bytes=max_memory_bytes, warm=warm_workers, limit=max_workers
        )

    def capabilities(self) -> renderer_pb2.Capabilities:
        self.pool.wait_ready(30)
        return renderer_pb2.Capabilities(
            name="gitopsd-helm",
            version=package_version(),
            source_types=["Helm"],
            tool_versions={
                "helm": self.pool.helm_version or "unknown",
                "helm-python-sdk": metadata.version("helm-python-sdk"),
            },
        )

    def close(self) -> None:
        self.pool.close()

    def render(self, request: renderer_pb2.RenderRequest, limits: Limits) -> renderer_pb2.RenderResponse:
        if request.source_type and request.source_type != "Helm":
            raise InvalidSource(f"gitopsd-helm renders Helm sources, not {request.source_type!r}")
        # URL-embedded credentials are scrubbed by pattern; these are the ones passed as fields.
        secrets = credential_variants(request.chart.username, request.chart.password)
        for entry in request.dependency_credentials:
            secrets.extend(credential_variants(entry.username, entry.password))
        try:
            return self._render(request, limits)
        except RenderError as exc:
            # Tool messages may quote URLs or credentials: scrub whatever goes back to the daemon.
            exc.message = truncate_message(scrub_secrets(exc.message, secrets))
            raise

    def _render(self, request: renderer_pb2.RenderRequest, limits: Limits) -> renderer_pb2.RenderResponse:
        helm = request.source.helm
        with render_dir(self.work_dir) as scratch:
            job = self._job(request, limits, scratch)
            result = self.pool.run(job, limits.timeout_seconds)
        if not result.get("ok"):
            error = _ERRORS.get(result.get("code", ""), WorkerCrashed)
            message = str(result.get("message", "Helm failed"))
            # Paths relative to the repository (or the pulled chart), not our scratch dir.
            for prefix in (f"{scratch}/repo/", f"{scratch}/pull/", f"{scratch}/"):
                message = message.replace(prefix, "")
            raise error(message, needs_credentials=result.get("needs_credentials") or ())
        budget = OutputBudget(limits.max_output_bytes)
        manifests: list[str] = []
        for name, text in [*result["crds"], *result["templates"]]:
            for obj in yaml_to_objects(text, name, budget):
                if helm.skip_tests and _is_test_hook(obj):
                    continue
                manifests.append(to_json(obj))
        return renderer_pb2.RenderResponse(
            manifests=manifests,
            warnings=result.get("warnings", []),
            resolved_version=result.get("version", "") if not request.files else "",
        )

    def _job(self, request: renderer_pb2.RenderRequest, limits: Limits, scratch: Path) -> dict[str, Any]:
        helm = request.source.helm
        chart_ref = request.chart
        if not chart_ref.repo_url and not request.files and request.source.chart:
            # A chart source without a ChartReference: take repoURL/chart/targetRevision (no credentials).
            chart_ref = renderer_pb2.ChartReference(
                repo_url=request.source.repo_url,
                chart=request.source.chart,
                version=request.source.target_revision,
            )
        from_repository = bool(chart_ref.repo_url)
        job: dict[str, Any] = {
            "scratch": str(scratch),
            "chart_dir": "",
            "repo_url": chart_ref.repo_url,
            "chart": chart_ref.chart,
            "version": chart_ref.version,
            "username": chart_ref.username,
            "password": chart_ref.password,
            "insecure_skip_tls_verify": chart_ref.insecure_skip_tls_verify,
            "plain_http": chart_ref.plain_http,
            "release_name": helm.release_name or request.app_name or "release",
            "namespace": helm.namespace or request.namespace or "default",
            "kube_version": helm.kube_version or request.kube_version,
            "api_versions": [*helm.api_versions, *request.api_versions],
            "skip_crds": helm.skip_crds,
            "skip_schema_validation": helm.skip_schema_validation,
            "max_chart_bytes": limits.max_chart_bytes,
            "max_index_bytes": self.max_index_bytes,
            "max_output_bytes": limits.max_output_bytes,
            "ignore_missing_value_files": helm.ignore_missing_value_files,
            "parameters": [(p.name, p.value, p.force_string) for p in helm.parameters],
            "inline_yaml": "",
            "inline_values": None,
            "value_files": [],
            "file_parameters": [],
            "repo_root": "",
            # Credentials for the repositories the chart's dependencies name (gitopsd_helm.deps).
            "dependency_credentials": [
                {
                    "repo_url": entry.repo_url,
                    "username": entry.username,
                    "password": entry.password,
                    "insecure_skip_tls_verify": entry.insecure_skip_tls_verify,
                    "plain_http": entry.plain_http,
                }
                for entry in request.dependency_credentials
                if entry.repo_url
            ],
            "dependency_cache": str(self.dependency_cache),
            "dependency_cache_salt": self._dependency_salt,
            "dependency_cache_bytes": self.dependency_cache_bytes,
        }
        # valuesObject wins over values when both are set (as in Argo CD).
        if helm.HasField("values_object"):
            job["inline_values"] = struct_to_values(helm.values_object)
        elif helm.values.strip():
            job["inline_yaml"] = helm.values
        if from_repository:
            if helm.file_parameters:
                raise InvalidSource(
                    "helm fileParameters need repository files; a chart from a repository has none"
                )
            for name in helm.value_files:
                if name.startswith("$"):
                    job["value_files"].append(self._ref_file(request, name))
                    continue
                job["value_files"].append((self._chart_relative(name), None))
            return job
        if not request.files:
            raise InvalidSource("a Helm source needs either repository files or a chart reference")
        root = scratch / "repo"
        root.mkdir()
        materialize(request.files, root, limits.max_input_bytes)
        chart_dir = resolve_inside(root, request.source.path, "source.path")
        if not (chart_dir / "Chart.yaml").is_file():
            raise PreconditionFailed(f"no Chart.yaml in {request.source.path or '.'!r}")
        job["chart_dir"] = str(chart_dir)
        job["repo_root"] = str(root)
        relative_chart = posixpath.normpath(request.source.path or ".")
        for name in helm.value_files:
            if name.startswith("$"):
                job["value_files"].append(self._ref_file(request, name))
                continue
            if "://" in name:
                self._refuse_url(name)
            # Relative to the chart directory, and inside the repository tree.
            joined = name if name.startswith("/") else posixpath.join(relative_chart, name)
            path = resolve_inside(root, joined, "helm valueFile", must_exist=False)
            if not path.is_file():
                if helm.ignore_missing_value_files:
                    continue
                raise PreconditionFailed(f"helm valueFile {name!r} does not exist in the repository")
            job["value_files"].append((name, path.read_text(encoding="utf-8", errors="replace")))
        # fileParameters (`--set-file`): the value is a file's content; the path must stay in the tree.
        for parameter in helm.file_parameters:
            if "://" in parameter.path:
                raise InvalidSource(f"helm fileParameter {parameter.name!r}: {parameter.path!r} is a URL")
            joined = (
                parameter.path
                if parameter.path.startswith("/")
                else posixpath.join(relative_chart, parameter.path)
            )
            path = resolve_inside(root, joined, f"helm fileParameter {parameter.name!r}")
            if not path.is_file():
                raise PreconditionFailed(
                    f"helm fileParameter {parameter.name!r}: {parameter.path!r} is not a file"
                )
            job["file_parameters"].append((parameter.name, str(path)))
        return job

    @staticmethod
    def _ref_file(request: renderer_pb2.RenderRequest, name: str) -> tuple[str, str]:
        """A "$ref/path" value file of a multi-source application: the daemon read it from the ref
        source's checkout (path-checked there) and sent it in ref_files under that exact name."""
        for f in request.ref_files:
            if f.path == name:
                return name, f.content.decode("utf-8", errors="replace")
        raise PreconditionFailed(f"helm valueFile {name!r}: the daemon sent no file of that ref source")

    @staticmethod
    def _refuse_url(name: str) -> Path:
        raise InvalidSource(f"helm valueFile {name!r} is a URL; only files inside the repository are allowed")

    @staticmethod
    def _chart_relative(name: str) -> str:
        if "://" in name:
            HelmRenderer._refuse_url(name)
        normalized = posixpath.normpath(name)
        if name.startswith("/") or normalized == ".." or normalized.startswith("../"):
            raise InvalidSource(f"helm valueFile {name!r} points outside the chart")
        return normalized
