"""Resource customizations from every place an Argo CD user keeps them, merged into one table for the daemon.

Sources, lowest precedence first (a later one replaces a field an earlier one set for the same kind):
1. ``resource_customizations_dir``: Argo CD's ``resource_customizations/GROUP/KIND/health.lua`` tree;
2. ``argocd_cm``, the data block of an argocd-cm ConfigMap: its ``resource.customizations`` YAML block, then
   its per-kind keys ``resource.customizations.health.GROUP_KIND`` / ``...knownTypeFields.GROUP_KIND``;
3. ``resource_customizations``, gitopsd's own key.
What gitopsd does not use (resource actions, ``useOpenLibs``, other argocd-cm settings) is named in ``notes``
for the daemon's log, never dropped without a word. The result feeds the Lua health checks and knownTypeFields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# A health.lua is a few hundred lines; a bigger file in the tree is a mistake, not a check.
MAX_SCRIPT_BYTES = 1024 * 1024
_FIELDS = ("health.lua", "knownTypeFields")
_SPLIT_KEYS = {
    "resource.customizations.health.": "health.lua",
    "resource.customizations.knownTypeFields.": "knownTypeFields",
}
_UNUSED_PREFIXES = (
    "resource.customizations.actions.",
    "resource.customizations.ignoreDifferences.",
    "resource.customizations.ignoreResourceUpdates.",
    "resource.customizations.useOpenLibs.",
)


@dataclass
class Customizations:
    # group/Kind → {"health.lua": script, "knownTypeFields": list or YAML string}.
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def health_scripts(self) -> dict[str, str]:
        return {gk: str(c["health.lua"]) for gk, c in self.by_kind.items() if c.get("health.lua")}

    def _set(self, group_kind: str, name: str, value: Any) -> None:
        self.by_kind.setdefault(group_kind, {})[name] = value


def load_customizations(
    directory: str, argocd_cm: Mapping[str, Any], inline: Mapping[str, Mapping[str, Any]]
) -> Customizations:
    """Merges the three sources; raises ValueError naming the config key (and file) that is wrong."""
    out = Customizations()
    if directory:
        _from_directory(Path(directory), out)
    _from_argocd_cm(argocd_cm, out)
    _from_nested(inline, "resource_customizations", out)
    return out


def _from_directory(root: Path, out: Customizations) -> None:
    where = "resource_customizations_dir"
    if not root.is_dir():
        raise ValueError(f"{where}: {str(root)!r} is not a directory")
    try:
        groups = sorted(p for p in root.iterdir() if p.is_dir())
        for group_dir in groups:
            for kind_dir in sorted(p for p in group_dir.iterdir() if p.is_dir()):
                group_kind = f"{group_dir.name}/{kind_dir.name}"
                script = kind_dir / "health.lua"
                if script.is_file():
                    size = script.stat().st_size
                    if size > MAX_SCRIPT_BYTES:
                        raise ValueError(f"{where}: {script} is {size} bytes (at most {MAX_SCRIPT_BYTES})")
                    out._set(group_kind, "health.lua", script.read_text(encoding="utf-8", errors="replace"))
                if (kind_dir / "actions").exists():
                    out.notes.append(
                        f"{where}: actions of {group_kind} ignored (gitopsd runs no resource actions)"
                    )
    except OSError as exc:
        raise ValueError(f"{where}: cannot read {exc.filename}: {exc.strerror}") from None


def _data_block(value: Mapping[str, Any]) -> Mapping[str, Any]:
    # The whole ConfigMap pasted in (apiVersion, kind, metadata, data) is accepted as well as its data.
    if value.get("kind") == "ConfigMap" and isinstance(value.get("data"), Mapping):
        return value["data"]  # type: ignore[no-any-return]
    return value


def _group_kind(key: str, suffix: str) -> str:
    # argocd-cm keys cannot hold "/": GROUP_KIND, or KIND alone for the core group (as Argo CD reads them).
    parts = suffix.split("_")
    if len(parts) == 1 and suffix:
        return suffix
    if len(parts) == 2 and all(parts):
        return f"{parts[0]}/{parts[1]}"
    raise ValueError(
        f"argocd_cm: {key!r}: expected ...GROUP_KIND or ...KIND (e.g. cert-manager.io_Certificate, Service)"
    )


def _from_argocd_cm(value: Mapping[str, Any], out: Customizations) -> None:
    data = _data_block(value)
    nested = data.get("resource.customizations")
    if nested is not None:
        if isinstance(nested, str):
            try:
                nested = yaml.safe_load(nested) or {}
            except yaml.YAMLError as exc:
                raise ValueError(f"argocd_cm: 'resource.customizations' is not valid YAML: {exc}") from None
        if not isinstance(nested, Mapping):
            raise ValueError("argocd_cm: 'resource.customizations': expected a mapping of GROUP/KIND")
        _from_nested(nested, "argocd_cm: 'resource.customizations'", out)
    unused: list[str] = []
    for key in sorted(str(k) for k in data):
        raw = data[key]
        target = next((f for prefix, f in _SPLIT_KEYS.items() if key.startswith(prefix)), None)
        if target is not None:
            prefix = next(p for p in _SPLIT_KEYS if key.startswith(p))
            if not isinstance(raw, str):
                raise ValueError(f"argocd_cm: {key!r}: expected a string (ConfigMap data values are strings)")
            out._set(_group_kind(key, key[len(prefix) :]), target, raw)
        elif key != "resource.customizations":
            unused.append(key)
    for key in unused:
        if key.startswith(_UNUSED_PREFIXES):
            out.notes.append(f"argocd_cm: {key!r} ignored (not used by gitopsd's health checks)")
    others = [k for k in unused if not k.startswith(_UNUSED_PREFIXES)]
    if others:
        out.notes.append(f"argocd_cm: keys ignored (not resource customizations): {', '.join(others)}")


def _from_nested(block: Mapping[str, Any], where: str, out: Customizations) -> None:
    for group_kind, settings in block.items():
        if not isinstance(settings, Mapping):
            raise ValueError(
                f"{where}[{str(group_kind)!r}]: expected a mapping (health.lua, knownTypeFields)"
            )
        for name, value in settings.items():
            if name in _FIELDS:
                if name == "knownTypeFields" and "*" in str(group_kind):
                    raise ValueError(
                        f"{where}[{str(group_kind)!r}].knownTypeFields: wildcards work for health.lua only"
                    )
                if name == "health.lua" and not isinstance(value, str):
                    raise ValueError(
                        f"{where}[{str(group_kind)!r}].health.lua: expected a Lua script (a string)"
                    )
                out._set(str(group_kind), str(name), value)
            elif name == "health.lua.useOpenLibs":
                if str(value).lower() == "true":
                    out.notes.append(
                        f"{where}[{str(group_kind)!r}].health.lua.useOpenLibs ignored: scripts always run with "
                        "the restricted libraries"
                    )
            else:
                out.notes.append(f"{where}[{str(group_kind)!r}].{name} ignored (not used by gitopsd)")
