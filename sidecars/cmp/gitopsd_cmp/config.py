"""ConfigManagementPlugin definitions (Argo CD's plugin.yaml), read once when gitopsd-cmp starts.

`--plugins` names one plugin.yaml or a directory of them (*.yaml, *.yml; several documents per file
allowed). The file is Argo CD's, unchanged: apiVersion argoproj.io/v1alpha1, kind
ConfigManagementPlugin, metadata.name, spec.version, init/generate {command, args}, discover
{fileName, find {glob, command, args}}, parameters {static, dynamic}, preserveFileMode. A field
gitopsd does not implement is refused by name (provideGitCreds: true), so a plugin never runs
other than its author meant; lockRepo and allowConcurrency mean nothing for a sidecar (each render
has its own copy) and are accepted, as Argo CD does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "argoproj.io/v1alpha1"
KIND = "ConfigManagementPlugin"

_SPEC_FIELDS = {
    "version", "init", "generate", "discover", "parameters", "preserveFileMode", "provideGitCreds",
    "allowConcurrency", "lockRepo",
}


class PluginConfigError(Exception):
    pass


@dataclass(frozen=True)
class Command:
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Discover:
    file_name: str = ""
    find_glob: str = ""
    find_command: Command | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.file_name or self.find_glob or self.find_command)


@dataclass(frozen=True)
class Plugin:
    name: str
    version: str
    generate: Command
    init: Command | None = None
    discover: Discover = field(default_factory=Discover)
    preserve_file_mode: bool = False
    origin: str = ""

    @property
    def full_name(self) -> str:
        """What spec.source.plugin.name must say: `<name>-<version>`, or `<name>` without a version."""
        return f"{self.name}-{self.version}" if self.version else self.name


def _command(data: Any, where: str, *, required: bool) -> Command | None:
    if data is None:
        if required:
            raise PluginConfigError(f"{where}: a command is required")
        return None
    if not isinstance(data, dict):
        raise PluginConfigError(f"{where}: expected a mapping with command and args")
    unknown = sorted(set(data) - {"command", "args", "glob"})
    if unknown:
        raise PluginConfigError(f"{where}: unknown field {unknown[0]!r}")
    command, args = data.get("command") or [], data.get("args") or []
    for name, value in (("command", command), ("args", args)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise PluginConfigError(f"{where}.{name}: expected a list of strings")
    if not command:
        if required:
            raise PluginConfigError(f"{where}.command: must name the program to run")
        return None
    return Command(tuple(command) + tuple(args))


def _discover(data: Any, where: str) -> Discover:
    if data is None:
        return Discover()
    if not isinstance(data, dict):
        raise PluginConfigError(f"{where}: expected a mapping")
    unknown = sorted(set(data) - {"fileName", "find"})
    if unknown:
        raise PluginConfigError(f"{where}: unknown field {unknown[0]!r}")
    file_name = data.get("fileName") or ""
    find = data.get("find") or {}
    if not isinstance(file_name, str) or not isinstance(find, dict):
        raise PluginConfigError(f"{where}: fileName is a glob, find a mapping")
    glob = find.get("glob") or ""
    if not isinstance(glob, str):
        raise PluginConfigError(f"{where}.find.glob: expected a string")
    return Discover(file_name, glob, _command(find, f"{where}.find", required=False))


def _parameters(data: Any, where: str) -> None:
    """Announcements for a UI: checked for shape only (gitopsd has no parameter form to fill)."""
    if data is None:
        return
    if not isinstance(data, dict) or set(data) - {"static", "dynamic"}:
        raise PluginConfigError(f"{where}: expected a mapping with static and dynamic")
    static = data.get("static") or []
    if not isinstance(static, list) or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in static):
        raise PluginConfigError(f"{where}.static: expected a list of parameters, each with a name")
    _command(data.get("dynamic"), f"{where}.dynamic", required=False)


def parse_plugin(doc: Any, origin: str) -> Plugin:
    if not isinstance(doc, dict):
        raise PluginConfigError(f"{origin}: not a ConfigManagementPlugin (a {type(doc).__name__})")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise PluginConfigError(f"{origin}: expected apiVersion {API_VERSION} and kind {KIND}")
    meta = doc.get("metadata") or {}
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise PluginConfigError(f"{origin}: metadata.name is required")
    where = f"{origin} ({name}): spec"
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        raise PluginConfigError(f"{where}: is required")
    unknown = sorted(set(spec) - _SPEC_FIELDS)
    if unknown:
        raise PluginConfigError(f"{where}: unknown field {unknown[0]!r}")
    if spec.get("provideGitCreds"):
        # Sharing the daemon's repository credentials with a plugin is not implemented: refused, not ignored.
        raise PluginConfigError(f"{where}.provideGitCreds: true is not supported by gitopsd")
    version = spec.get("version") or ""
    if not isinstance(version, (str, int, float)):
        raise PluginConfigError(f"{where}.version: expected a string")
    preserve = spec.get("preserveFileMode", False)
    if not isinstance(preserve, bool):
        raise PluginConfigError(f"{where}.preserveFileMode: expected true or false")
    _parameters(spec.get("parameters"), f"{where}.parameters")
    generate = _command(spec.get("generate"), f"{where}.generate", required=True)
    assert generate is not None
    return Plugin(
        name=name,
        version=str(version),
        generate=generate,
        init=_command(spec.get("init"), f"{where}.init", required=False),
        discover=_discover(spec.get("discover"), f"{where}.discover"),
        preserve_file_mode=preserve,
        origin=origin,
    )


@dataclass(frozen=True)
class PluginSet:
    plugins: tuple[Plugin, ...]
    # Digest of the definitions: part of the renderer's ident, so a changed plugin.yaml re-renders.
    digest: str

    def names(self) -> list[str]:
        return [p.full_name for p in self.plugins]


def load_plugins(path: Path) -> PluginSet:
    """Every ConfigManagementPlugin under `path` (a file, or a directory's *.yaml/*.yml), sorted by name."""
    if path.is_dir():
        files: Sequence[Path] = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise PluginConfigError(f"{path}: no such file or directory")
    digest = hashlib.sha256()
    plugins: dict[str, Plugin] = {}
    for file in files:
        text = file.read_bytes()
        digest.update(file.name.encode() + b"\0" + text + b"\0")
        try:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as exc:
            raise PluginConfigError(f"{file.name}: invalid YAML: {exc}") from None
        for doc in docs:
            plugin = parse_plugin(doc, file.name)
            if plugin.full_name in plugins:
                raise PluginConfigError(f"{file.name}: plugin {plugin.full_name!r} is defined twice")
            plugins[plugin.full_name] = plugin
    if not plugins:
        raise PluginConfigError(f"{path}: holds no ConfigManagementPlugin")
    ordered = tuple(plugins[name] for name in sorted(plugins))
    return PluginSet(ordered, digest.hexdigest()[:16])
