"""The CMP renderer backend: a private copy of the repository, the plugin chosen, init then generate.

Each render gets a fresh copy of the repository files the daemon sent (file modes reset to 0644
unless the plugin says preserveFileMode), its own HOME and TMPDIR; the commands run in the app's
directory with the environment of gitopsd_cmp.environment, each under the render memory limit, in
their own process group, all within one deadline (the render time-out), generate's stdout capped at
the output limit. A plugin is chosen as Argo CD does: `plugin.name` is `<name>-<version>` (or
`<name>` for a plugin without a version) and, when that plugin has discover rules, they must match;
without a name the first plugin (by name) whose discover rules match is used. Discover rules:
fileName (a glob in the app directory), else find.glob (`**` allowed), else find.command (matches
when it exits 0 with output). A non-zero exit is an error with the command's stderr, truncated and
with the scratch directory's path taken out.
"""

from __future__ import annotations

import glob
import os
import signal
import time
from pathlib import Path

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import (
    DEFAULT_LIMITS,
    InvalidSource,
    Limits,
    OutputBudget,
    PreconditionFailed,
    materialize,
    render_dir,
    resolve_inside,
    truncate_message,
    yaml_to_manifests,
)
from gitopsd.sidecar.childio import run_child
from gitopsd.sidecar.childproc import ChildLimits
from gitopsd.sidecar.version import package_version
from gitopsd_cmp.config import Command, Plugin, PluginSet
from gitopsd_cmp.environment import plugin_env


class _Run:
    """One render's scratch space, environment and deadline."""

    def __init__(self, children: ChildLimits, scratch: Path, env: dict[str, str], limits: Limits) -> None:
        self.children = children
        self.scratch = scratch
        self.env = env
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout_seconds

    def shown(self, text: str) -> str:
        return text.replace(f"{self.scratch}/repo/", "").replace(str(self.scratch), ".")

    def run(self, command: Command, cwd: Path, what: str) -> tuple[int, bytes, bytes]:
        code, out, err = run_child(
            self.children.argv(list(command.argv)),
            cwd=str(cwd),
            env=self.env,
            deadline=self.deadline,
            max_stdout=self.limits.max_output_bytes,
            what=what,
            timeout_seconds=self.limits.timeout_seconds,
        )
        exhausted = self.children.exhausted(what, code, err)
        if exhausted is not None:
            raise exhausted
        return code, out, err

    def checked(self, command: Command, cwd: Path, what: str) -> bytes:
        code, out, err = self.run(command, cwd, what)
        if code < 0:
            raise InvalidSource(f"{what} was killed by {signal.Signals(-code).name}")
        if code != 0:
            detail = self.shown(err.decode("utf-8", "replace")).strip() or "no error output"
            raise InvalidSource(truncate_message(f"{what} failed with exit code {code}: {detail}"))
        return out


def _reset_modes(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            os.chmod(os.path.join(dirpath, name), 0o644)


class CmpRenderer:
    """RenderBackend running ConfigManagementPlugin commands."""

    def __init__(self, work_dir: Path, plugins: PluginSet, max_memory_bytes: int = DEFAULT_LIMITS.max_memory_bytes) -> None:
        self.work_dir = work_dir
        self.plugins = plugins
        self.children = ChildLimits(max_memory_bytes)

    def capabilities(self) -> renderer_pb2.Capabilities:
        return renderer_pb2.Capabilities(
            name="gitopsd-cmp",
            version=package_version(),
            source_types=["Plugin"],
            tool_versions={"plugins": self.plugins.digest},
        )

    def close(self) -> None:
        pass

    def render(self, request: renderer_pb2.RenderRequest, limits: Limits) -> renderer_pb2.RenderResponse:
        if request.source_type and request.source_type != "Plugin":
            raise InvalidSource(f"gitopsd-cmp renders Plugin sources, not {request.source_type!r}")
        with render_dir(self.work_dir) as scratch:
            root = scratch / "repo"
            home, tmp = scratch / "home", scratch / "tmp"
            for directory in (root, home, tmp):
                directory.mkdir(mode=0o700)
            materialize(request.files, root, limits.max_input_bytes)
            app_dir = resolve_inside(root, request.source.path, "source.path")
            if not app_dir.is_dir():
                raise PreconditionFailed(f"source.path {request.source.path!r} is not a directory")
            run = _Run(self.children, scratch, plugin_env(request, home, tmp), limits)
            plugin = self._choose(request.source.plugin.name, app_dir, run)
            if not plugin.preserve_file_mode:
                _reset_modes(root)
            if plugin.init is not None:
                run.checked(plugin.init, app_dir, f"plugin {plugin.full_name}: init")
            out = run.checked(plugin.generate, app_dir, f"plugin {plugin.full_name}: generate")
        text = out.decode("utf-8", errors="replace")
        manifests = yaml_to_manifests(text, f"plugin {plugin.full_name} output", OutputBudget(limits.max_output_bytes))
        return renderer_pb2.RenderResponse(manifests=manifests)

    def _choose(self, name: str, app_dir: Path, run: _Run) -> Plugin:
        if name:
            plugin = next((p for p in self.plugins.plugins if p.full_name == name), None)
            if plugin is None:
                named = next((p for p in self.plugins.plugins if p.name == name), None)
                hint = f" (it has a version: name it {named.full_name!r})" if named is not None else ""
                raise PreconditionFailed(
                    f"no config management plugin named {name!r}{hint}; "
                    f"configured: {', '.join(self.plugins.names())}"
                )
            if plugin.discover.enabled and not self._matches(plugin, app_dir, run):
                raise PreconditionFailed(
                    f"config management plugin {name!r} does not match this source: its discover rules "
                    "find nothing in the application's directory"
                )
            return plugin
        for plugin in self.plugins.plugins:
            if plugin.discover.enabled and self._matches(plugin, app_dir, run):
                return plugin
        raise PreconditionFailed(
            "no config management plugin's discover rules match this source (plugin: {} names none); "
            f"configured: {', '.join(self.plugins.names())}"
        )

    @staticmethod
    def _matches(plugin: Plugin, app_dir: Path, run: _Run) -> bool:
        rules = plugin.discover
        if rules.file_name:
            return bool(glob.glob(os.path.join(glob.escape(str(app_dir)), rules.file_name), include_hidden=True))
        if rules.find_glob:
            pattern = os.path.join(glob.escape(str(app_dir)), rules.find_glob)
            return bool(glob.glob(pattern, recursive=True, include_hidden=True))
        assert rules.find_command is not None
        code, out, _err = run.run(rules.find_command, app_dir, f"plugin {plugin.full_name}: discover.find.command")
        return code == 0 and bool(out.strip())
