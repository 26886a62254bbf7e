"""The dashboard's login goes through the same lockout as the CLI's: after
auth.login_max_failures wrong passwords the right one is refused too, and the page says why and
for how long. (A module of its own: its daemon's admin account ends up locked.)"""

from __future__ import annotations

from typing import Any

from webhelpers import WebEnv, screenshot


def test_repeated_wrong_passwords_lock_the_account_in_the_page(web_env: WebEnv, page: Any) -> None:
    page.goto(web_env.base_url + "/login")
    alert = page.get_by_role("alert")
    for attempt in range(5):
        page.get_by_label("Username").fill("admin")
        page.get_by_label("Password").fill(f"wrong-{attempt}")
        page.get_by_role("button", name="Sign in").click()
        alert.filter(has_text="invalid").wait_for()
        page.evaluate("document.querySelector('[role=alert]').textContent = ''")
    page.get_by_label("Password").fill(web_env.daemon.initial_password())
    page.get_by_role("button", name="Sign in").click()
    alert.filter(has_text="too many failed logins").wait_for()
    assert page.url.endswith("/login")
    # Nothing typed stays in the form or goes into the address.
    assert page.get_by_label("Password").input_value() == ""
    assert web_env.daemon.initial_password() not in page.url
    screenshot(page, "login-locked")
