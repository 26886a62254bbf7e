"""The environment of a plugin's commands, as Argo CD defines it, and nothing of the sidecar's.

Argo CD gives a command the sidecar's own environment plus the build variables; gitopsd gives only
a minimal PATH, HOME and TMPDIR of the render's own, so no daemon secret reaches a plugin, plus:
the build variables (ARGOCD_APP_NAME, ARGOCD_APP_NAMESPACE, ARGOCD_APP_REVISION,
ARGOCD_APP_REVISION_SHORT, ARGOCD_APP_SOURCE_REPO_URL, ARGOCD_APP_SOURCE_PATH,
ARGOCD_APP_SOURCE_TARGET_REVISION, KUBE_VERSION, KUBE_API_VERSIONS); each `plugin.env` entry as
ARGOCD_ENV_<name> (its value may use the build variables); the parameters as JSON in
ARGOCD_APP_PARAMETERS and one by one as PARAM_<NAME> (PARAM_<NAME>_<INDEX> for arrays,
PARAM_<NAME>_<KEY> for maps; names upper-cased, other characters than A-Z, 0-9 and _ made _).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from gitopsd.api.gitopsd.v1 import renderer_pb2
from gitopsd.sidecar import InvalidSource
from gitopsd.sidecar.buildenv import build_env, envsubst

# What commands find programs in: the system's directories (plugin.yaml may give absolute paths).
PATH = "/usr/local/bin:/usr/bin:/bin"
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NOT_PARAM_CHAR = re.compile(r"[^A-Z0-9_]")


def _escaped(name: str) -> str:
    return _NOT_PARAM_CHAR.sub("_", name.upper())


def _parameters(request: renderer_pb2.RenderRequest) -> tuple[str, dict[str, str]]:
    announced: list[dict[str, Any]] = []
    env: dict[str, str] = {}
    for index, param in enumerate(request.source.plugin.parameters):
        if not param.name:
            raise InvalidSource(f"plugin.parameters[{index}]: a name is required")
        base = f"PARAM_{_escaped(param.name)}"
        entry: dict[str, Any] = {"name": param.name}
        if param.array:
            entry["array"] = list(param.array)
            env.update({f"{base}_{i}": value for i, value in enumerate(param.array)})
        elif param.map:
            entry["map"] = dict(sorted(param.map.items()))
            env.update({f"{base}_{_escaped(key)}": value for key, value in sorted(param.map.items())})
        else:
            entry["string"] = param.string
            env[base] = param.string
        announced.append(entry)
    return json.dumps(announced, separators=(",", ":")), env


def plugin_env(request: renderer_pb2.RenderRequest, home: Path, tmp: Path) -> dict[str, str]:
    """The whole environment of init, generate and discover.find commands for this request."""
    build = build_env(request)
    env = {"PATH": PATH, "HOME": str(home), "TMPDIR": str(tmp), "LANG": "C.UTF-8", **build}
    for index, item in enumerate(request.source.plugin.env):
        if not _ENV_NAME.match(item.name):
            raise InvalidSource(
                f"plugin.env[{index}]: {item.name[:100]!r} is not a valid environment variable name"
            )
        if "\x00" in item.value:
            raise InvalidSource(f"plugin.env[{index}] ({item.name}): the value contains a NUL byte")
        env[f"ARGOCD_ENV_{item.name}"] = envsubst(item.value, build)
    parameters, param_env = _parameters(request)
    if any("\x00" in v for v in param_env.values()):
        raise InvalidSource("plugin.parameters: a value contains a NUL byte")
    env["ARGOCD_APP_PARAMETERS"] = parameters
    env.update(param_env)
    return env
