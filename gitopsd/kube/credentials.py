"""Cluster credentials and reading them from a kubeconfig context (for ``gitopsd cluster add``).

Pure module: parses the kubeconfig YAML itself (token, client certificate, inline ``*-data`` or file paths,
basic auth) so credentials can be stored and later handed to KubeClient. ``repr`` never shows secrets.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """The kubeconfig cannot give credentials for this context (message names what is wrong)."""


@dataclass(frozen=True)
class ClusterCredentials:
    server: str
    bearer_token: str = field(default="", repr=False)
    ca_data: bytes = field(default=b"", repr=False)
    cert_data: bytes = field(default=b"", repr=False)
    key_data: bytes = field(default=b"", repr=False)
    insecure: bool = False
    server_name: str = ""
    username: str = ""
    password: str = field(default="", repr=False)

    def __repr__(self) -> str:
        parts = [f"server={self.server!r}"]
        if self.bearer_token:
            parts.append("bearer_token=<hidden>")
        if self.cert_data:
            parts.append("client_certificate=<set>")
        if self.ca_data:
            parts.append("ca=<set>")
        if self.username:
            parts.append(f"username={self.username!r} password=<hidden>")
        if self.insecure:
            parts.append("insecure=True")
        if self.server_name:
            parts.append(f"server_name={self.server_name!r}")
        return f"ClusterCredentials({', '.join(parts)})"

    __str__ = __repr__


def _named(items: Any, name: str, what: str, path: Path) -> Mapping[str, Any]:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and item.get("name") == name:
                value = item.get(what)
                return value if isinstance(value, Mapping) else {}
    raise KubeconfigError(f"{path}: no {what} named {name!r}")


def _data_or_file(section: Mapping[str, Any], key: str, base: Path, path: Path) -> bytes:
    inline = section.get(f"{key}-data")
    if inline:
        try:
            return base64.b64decode(str(inline), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KubeconfigError(f"{path}: {key}-data is not valid base64") from exc
    file_name = section.get(key)
    if file_name:
        file_path = Path(os.path.expanduser(str(file_name)))
        if not file_path.is_absolute():
            file_path = base / file_path
        try:
            return file_path.read_bytes()
        except OSError as exc:
            raise KubeconfigError(f"{path}: cannot read {key} file {file_path}: {exc.strerror}") from exc
    return b""


def from_kubeconfig(path: str | os.PathLike[str] | None, context: str | None = None) -> ClusterCredentials:
    """Credentials for ``context`` (default: current-context) of the kubeconfig at ``path``
    (default: $KUBECONFIG's first file or ~/.kube/config). Exec/auth-provider plugins are refused."""
    if path is None:
        env = os.environ.get("KUBECONFIG", "")
        path = env.split(os.pathsep)[0] if env else os.path.expanduser("~/.kube/config")
    p = Path(path)
    try:
        raw = p.read_text()
    except OSError as exc:
        raise KubeconfigError(f"cannot read kubeconfig {p}: {exc.strerror}") from exc
    try:
        config = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"{p} is not valid YAML") from exc
    if not isinstance(config, Mapping):
        raise KubeconfigError(f"{p} is not a kubeconfig (not a mapping)")
    name = context or config.get("current-context")
    if not name:
        raise KubeconfigError(f"{p}: no context given and no current-context")
    ctx = _named(config.get("contexts"), str(name), "context", p)
    cluster_name = ctx.get("cluster")
    user_name = ctx.get("user")
    if not cluster_name:
        raise KubeconfigError(f"{p}: context {name!r} names no cluster")
    cluster = _named(config.get("clusters"), str(cluster_name), "cluster", p)
    user = _named(config.get("users"), str(user_name), "user", p) if user_name else {}
    server = cluster.get("server")
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise KubeconfigError(f"{p}: cluster {cluster_name!r} has no http(s) server URL")
    if user.get("exec") or user.get("auth-provider"):
        raise KubeconfigError(
            f"{p}: user {user_name!r} uses an exec or auth-provider plugin; give a token or client certificate"
        )
    base = p.parent
    token = str(user.get("token") or "")
    token_file = user.get("tokenFile")
    if not token and token_file:
        try:
            token = (base / os.path.expanduser(str(token_file))).read_text().strip()
        except OSError as exc:
            raise KubeconfigError(f"{p}: cannot read tokenFile: {exc.strerror}") from exc
    return ClusterCredentials(
        server=server.rstrip("/"),
        bearer_token=token,
        ca_data=_data_or_file(cluster, "certificate-authority", base, p),
        cert_data=_data_or_file(user, "client-certificate", base, p),
        key_data=_data_or_file(user, "client-key", base, p),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        server_name=str(cluster.get("tls-server-name") or ""),
        username=str(user.get("username") or ""),
        password=str(user.get("password") or ""),
    )
