"""One daemon for the webhook tests of a module: a sandbox cluster, `git daemon` serving the test
repositories on 127.0.0.1, and `gitopsd serve` with a secret per provider from the environment
and a poll interval of an hour, so only a webhook can make an application see a new commit."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator

import pytest
from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitRepos, free_port, wait_port
from webhooks.hookenv import HookEnv
from webhooks.payloads import AZURE_USER, PROVIDERS, SECRET_ENV

from gitopsd.sandbox import SandboxCluster


@pytest.fixture(scope="module")
def hook_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HookEnv]:
    tmp = tmp_path_factory.mktemp("hooks")
    repos = GitRepos(tmp / "git")
    root = repos.root / "remotes"
    root.mkdir(parents=True)
    port = free_port()
    git = subprocess.Popen(
        [
            "git",
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
            f"--port={port}",
            f"--base-path={root}",
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Gitea and Gogs share one secret (GITOPSD_WEBHOOK_GOGS_SECRET), as in Argo CD.
    gogs = "gogs-" + secrets.token_hex(16)
    provider_secrets = {p: f"{p}-{secrets.token_hex(16)}" for p in PROVIDERS}
    provider_secrets["gitea"] = provider_secrets["gogs"] = gogs
    env = {SECRET_ENV[p]: s for p, s in provider_secrets.items()}
    env["GITOPSD_WEBHOOK_AZUREDEVOPS_USERNAME"] = AZURE_USER
    try:
        wait_port(port)
        with SandboxCluster(ready_delay=0.2) as sandbox:
            kubeconfig = sandbox.write_kubeconfig(tmp / "kubeconfig")
            daemon = DaemonProcess(
                data_dir=tmp / "data",
                log_path=tmp / "daemon.log",
                env={"GITOPSD_KUBECONFIG": str(kubeconfig), "GITOPSD_RECONCILE_INTERVAL": "3600", **env},
            ).start()
            try:
                yield HookEnv(daemon, CLI(daemon.address, tmp), repos, port, provider_secrets, tmp)
            finally:
                daemon.stop()
    finally:
        git.terminate()
        git.wait(timeout=10)
