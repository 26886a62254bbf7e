"""The environment the webhook tests share (built by conftest.py's `hook_env`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitRepo, GitRepos


@dataclass
class HookEnv:
    daemon: DaemonProcess
    cli: CLI
    repos: GitRepos
    git_port: int
    secrets: dict[str, str]  # provider -> secret
    tmp: Path

    @property
    def http(self) -> str:
        return self.daemon.http_address

    def git_url(self, repo: GitRepo) -> str:
        return f"git://127.0.0.1:{self.git_port}/{repo.bare.name}"

    def assert_no_secret_logged(self) -> None:
        log = self.daemon.log()
        for provider, secret in self.secrets.items():
            assert secret not in log, f"the {provider} webhook secret appears in the daemon's log"
