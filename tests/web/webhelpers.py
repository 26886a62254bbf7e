"""Helpers of the dashboard's browser tests (fixtures are in conftest.py): the environment a test
module shares, screenshots into test-artifacts/screenshots/ (CI lists that folder), logging in
through the page, and waiting on a JavaScript condition under the page's CSP."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fixtures.daemon import CLI, DaemonProcess
from fixtures.gitrepos import GitRepo

CHROMIUM = os.environ.get("GITOPSD_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 30_000

# viewer holds role:readonly.
AUTH_ENV = {
    "GITOPSD_AUTH_ACCOUNTS": "{viewer: login}",
    "GITOPSD_RBAC_POLICY": "g, viewer, role:readonly",
}
VIEWER_PASSWORD = "viewer-pass-1234"


@dataclass
class WebEnv:
    daemon: DaemonProcess
    cli: CLI
    repo: GitRepo
    kubectl: Callable[..., subprocess.CompletedProcess[str]]
    base_url: str


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def log_in(page: Any, env: WebEnv, username: str, password: str, path: str = "/applications") -> None:
    page.goto(env.base_url + path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#whoami", has_text=username).wait_for()


def wait_js(page: Any, expression: str, timeout_ms: int = TIMEOUT_MS) -> Any:
    """Polls a JavaScript expression until it is truthy. (page.wait_for_function evaluates a string
    inside the page, which the dashboard's CSP refuses, as it should: no eval.)"""
    waited = 0
    while waited < timeout_ms:
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(100)
        waited += 100
    raise AssertionError(f"timed out after {timeout_ms} ms waiting for {expression}")
