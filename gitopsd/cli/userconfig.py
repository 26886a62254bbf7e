"""The CLI user's own settings: the servers they logged in to, with session token and trust.

Kept in $GITOPSD_CONFIG_DIR/config.yaml (default ~/.config/gitopsd/config.yaml), mode
0600, since it holds session tokens. Pinned server certificates live beside it in certs/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from gitopsd.cli.errors import CLIError


def config_dir() -> Path:
    env = os.environ.get("GITOPSD_CONFIG_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "gitopsd"


def config_path() -> Path:
    return config_dir() / "config.yaml"


def load() -> dict[str, Any]:
    path = config_path()
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise CLIError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise CLIError(f"{path} is not valid YAML; fix or delete it (then log in again)") from None
    if not isinstance(data, dict):
        raise CLIError(f"{path}: expected a mapping; fix or delete it (then log in again)")
    return data


def save(data: dict[str, Any]) -> Path:
    directory = config_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config_path()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, sort_keys=True)
    tmp.replace(path)
    return path


_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def _loopback_aliases(address: str) -> list[str]:
    """127.0.0.1:8443, localhost:8443 and [::1]:8443 name one daemon (its certificate covers all three)."""
    host, _, port = address.rpartition(":")
    if host not in _LOOPBACK_NAMES or not port.isdigit():
        return []
    return [f"{name}:{port}" for name in _LOOPBACK_NAMES if name != host]


def server_entry(data: dict[str, Any], address: str) -> dict[str, Any]:
    """The saved login of address (or of the same loopback daemon under another name), or {}."""
    servers = data.get("servers")
    if not isinstance(servers, dict):
        return {}
    for name in (address, *_loopback_aliases(address)):
        entry = servers.get(name)
        if isinstance(entry, dict):
            return entry
    return {}


def current_server() -> str | None:
    value = load().get("current-server")
    return value if isinstance(value, str) and value else None


def save_certificate(address: str, pem: str) -> Path:
    certs = config_dir() / "certs"
    certs.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = certs / (re.sub(r"[^A-Za-z0-9._-]", "_", address) + ".pem")
    path.write_text(pem)
    return path
