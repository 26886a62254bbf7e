"""Repository credentials and how they reach git: environment only, never disk config or URLs.

HTTPS passwords go through a GIT_ASKPASS helper script that reads them from the git
process's environment; SSH keys go to a 0600 temp file named in GIT_SSH_COMMAND; extra
settings go through GIT_CONFIG_COUNT/KEY/VALUE. `Scrubber` removes secrets from any text
before it is raised or logged.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shlex
import stat
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitopsd.redact import mask_all


@dataclass(frozen=True)
class RepoCredentials:
    """Credentials for one repository (Git, Helm chart repository or OCI registry)."""

    username: str = ""
    password: str = field(default="", repr=False)
    ssh_private_key: str = field(default="", repr=False)
    tls_client_cert_data: str = field(default="", repr=False)
    tls_client_cert_key: str = field(default="", repr=False)
    insecure_skip_server_verification: bool = False
    # OCI registries: plain HTTP instead of HTTPS.
    insecure_oci_force_http: bool = False
    # The project these credentials are scoped to ("" = every project): what a fetch with them
    # may be shared with (the repo cache keeps one clone per URL and scope).
    scope: str = ""

    def __repr__(self) -> str:
        held = [
            name for name in ("password", "ssh_private_key", "tls_client_cert_key") if getattr(self, name)
        ]
        return (
            f"RepoCredentials(username={self.username!r}, secrets={held}, "
            f"insecure={self.insecure_skip_server_verification}, scope={self.scope!r})"
        )

    __str__ = __repr__

    def secrets(self) -> list[str]:
        """Every string that must never appear in output, with common encodings."""
        out: list[str] = []
        for value in (self.password, self.ssh_private_key, self.tls_client_cert_key):
            if value:
                out.append(value)
                quoted = urllib.parse.quote(value, safe="")
                if quoted != value:
                    out.append(quoted)
        if self.password:
            out.append(base64.b64encode(f"{self.username}:{self.password}".encode()).decode())
        return out


# (normalized repository URL, project of the application asking) -> the credentials that project
# may use for it, or None (fetch anonymously).
CredentialsLookup = Callable[[str, str], "RepoCredentials | None"]



class Scrubber:
    """Removes secrets (and user:password@ in URLs) from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        text = mask_all(text, self._secrets)
        # Multi-line secrets (keys) may come back line by line.
        for secret in self._secrets:
            if "\n" in secret:
                for line in secret.splitlines():
                    if len(line.strip()) >= 16:
                        text = text.replace(line.strip(), "***")
        return text


_ASKPASS_SCRIPT = """#!/bin/sh
# gitopsd: answers git's credential prompts from this process's environment.
case "$1" in
  Username*) printf '%s\\n' "$GITOPSD_GIT_USERNAME" ;;
  *) printf '%s\\n' "$GITOPSD_GIT_PASSWORD" ;;
esac
"""


def _write_private(path: Path, content: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)
    os.chmod(path, mode)


_BASE_CONFIG: dict[str, str] = {
    # Ignore credential helpers configured on the host: only our credentials apply.
    "credential.helper": "",
    # A hostile server must not make us follow redirects to other hosts with credentials.
    "http.followRedirects": "initial",
    # Only the transports gitopsd supports; never ext:: or fd:: from a hostile URL.
    "protocol.allow": "never",
    "protocol.https.allow": "always",
    "protocol.http.allow": "always",
    "protocol.ssh.allow": "always",
    "protocol.git.allow": "always",
    "protocol.file.allow": "always",
}
_BASE_ENV: dict[str, str] = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GCM_INTERACTIVE": "never",
    "SSH_ASKPASS": "",
}


def local_environment() -> dict[str, str]:
    """Environment for git commands that never touch the network (no credentials)."""
    return {**_BASE_ENV, **_config_env(_BASE_CONFIG)}


@contextlib.contextmanager
def git_environment(
    creds: RepoCredentials | None,
    *,
    known_hosts: Path | None = None,
    tmp_root: Path | None = None,
) -> Iterator[dict[str, str]]:
    """Yields environment variables for one git invocation with these credentials.

    Temp files (askpass script, SSH key) live in a 0700 directory removed on exit.
    """
    creds = creds or RepoCredentials()
    config = dict(_BASE_CONFIG)
    env = dict(_BASE_ENV)
    if creds.insecure_skip_server_verification:
        config["http.sslVerify"] = "false"
    with tempfile.TemporaryDirectory(prefix="gitopsd-git-", dir=tmp_root) as tmp:
        tmpdir = Path(tmp)
        os.chmod(tmpdir, stat.S_IRWXU)
        askpass = tmpdir / "askpass.sh"
        _write_private(askpass, _ASKPASS_SCRIPT, 0o700)
        env["GIT_ASKPASS"] = str(askpass)
        env["GITOPSD_GIT_USERNAME"] = creds.username
        env["GITOPSD_GIT_PASSWORD"] = creds.password
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        if creds.ssh_private_key:
            key = tmpdir / "id"
            content = creds.ssh_private_key
            _write_private(key, content if content.endswith("\n") else content + "\n", 0o600)
            ssh += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
        if creds.insecure_skip_server_verification:
            ssh += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        elif known_hosts is not None:
            ssh += ["-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={known_hosts}"]
        env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        if creds.tls_client_cert_data and creds.tls_client_cert_key:
            cert = tmpdir / "client.crt"
            keyf = tmpdir / "client.key"
            _write_private(cert, creds.tls_client_cert_data, 0o600)
            _write_private(keyf, creds.tls_client_cert_key, 0o600)
            config["http.sslCert"] = str(cert)
            config["http.sslKey"] = str(keyf)
        env.update(_config_env(config))
        yield env


def _config_env(config: Mapping[str, str]) -> dict[str, str]:
    out = {"GIT_CONFIG_COUNT": str(len(config))}
    for i, (key, value) in enumerate(config.items()):
        out[f"GIT_CONFIG_KEY_{i}"] = key
        out[f"GIT_CONFIG_VALUE_{i}"] = value
    return out
