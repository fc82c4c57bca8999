"""The audit console in a real browser (the system Chromium through Playwright), as an auditor walks through it: sign
in (a wrong password, the right one, MFA, an access key), every page on the quickstart account, the time slider, a
who-can path followed to a timeline, a timeline event and its policy diff opened, a user without ``iam:List*``
refused, the cookie's flags; a screenshot of each page goes to the test's folder (docs/images/console/ with
``IAMLEDGER_UPDATE_SCREENSHOTS=1``), and each page so shown is checked with axe-core."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser_support import accessibility_violations, launched_chromium, needs_chromium, screenshot_dir
from tests.console_support import (
    ACCOUNT,
    MFA_PASSWORD,
    NOBODY_PASSWORD,
    PASSWORD,
    ConsoleAccount,
    Served,
    build_account,
    current_code,
    serving,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [needs_chromium, pytest.mark.slow]
PAYROLL = "arn:aws:s3:::payroll-exports/2026/11.csv"
SRE_USER = f"arn:aws:iam::{ACCOUNT}:user/privesc-sre-user"


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> ConsoleAccount:
    return build_account(tmp_path_factory.mktemp("console-browser"))


@pytest.fixture(scope="module")
def server(account: ConsoleAccount) -> Iterator[Served]:
    with serving(account) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Page, folder: Path, name: str, *, focus: Any = None) -> None:
    """A screenshot of what the window shows (scrolled to ``focus`` when given); then the page's accessibility
    audit (axe-core, every ``<details>`` opened) must find nothing wrong."""
    if focus is not None:
        focus.scroll_into_view_if_needed()
    page.screenshot(path=str(folder / f"{name}.png"))
    assert accessibility_violations(page) == [], name


def browser_errors(page: Page) -> list[str]:
    """The errors the browser reports from now on (a resource that failed to load, a script's error), as they
    come."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def password_sign_in(page: Page, server: Served, user: str, password: str) -> Any:
    page.goto(f"{server.base}/console/")
    page.get_by_label("Account ID").fill(ACCOUNT)  # each label is the page's only one of that name
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()  # the one button of that name on the page
    return page


def test_sign_in_wrong_then_right_password_and_every_page(
    page: Page, server: Served, request: pytest.FixtureRequest
) -> None:
    folder = screenshot_dir(request)
    page.goto(f"{server.base}/console/")
    assert page.url.endswith("/console/signin?next=%2Fconsole%2F")
    shot(page, folder, "signin")
    password_sign_in(page, server, "aa-auditor", "not-the-password")
    assert page.locator("#signin-error").inner_text() == "The user name or password is incorrect."
    assert page.get_by_label("User name").input_value() == "aa-auditor"
    assert page.get_by_label("Password").input_value() == ""  # a password is never sent back
    password_sign_in(page, server, "aa-auditor", PASSWORD)
    assert page.url == f"{server.base}/console/"
    assert "aa-auditor" in page.locator(".signed-in").inner_text()
    errors = browser_errors(page)  # from here every page loads whole: its icon included, no script error
    page.reload()
    users = page.locator("#list-users")
    assert users.get_by_role("link", name="privesc-sre-user", exact=True).count() == 1
    assert page.locator("#list-groups").get_by_role("link", name="privesc-sre-group").count() == 1
    assert page.locator("#list-policies").get_by_role("link", name="payroll-readers").count() == 1
    shot(page, folder, "account")

    for name in ("Account", "Timeline", "Access over time", "Who can", "Escalation", "Diff", "Events", "Verify"):
        assert page.get_by_role("link", name=name).count() == 1, name  # each page's link is the only one so named
    page.goto(f"{server.base}/console/access?principal={SRE_USER}&action=s3:GetObject&resource={PAYROLL}")
    assert "in 1 window" in page.locator("#exposure-summary").inner_text()
    window = page.locator("a.exposure-window").first
    assert "AddUserToGroup" in window.locator("title").text_content()
    assert "RemoveUserFromGroup" in window.locator("title").text_content()
    window.focus()
    page.keyboard.press("Enter")  # the window's opening and closing events, in the list below
    assert "RemoveUserFromGroup" in page.locator(".exposure-item.is-selected").inner_text()
    shot(page, folder, "access-over-time", focus=page.locator("#exposure-summary"))

    page.goto(f"{server.base}/console/diff")
    page.get_by_label("From", exact=True).fill(f"position:{server_first_position(page)}")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_load_state()
    assert "RemoveUserFromGroup" in page.locator("main").inner_text()
    shot(page, folder, "diff", focus=page.locator("h1"))

    page.goto(f"{server.base}/console/events")
    page.get_by_label("Event name").fill("RemoveUserFromGroup")
    page.get_by_role("button", name="Look up events").click()
    page.wait_for_load_state()
    assert page.locator("#events-count").inner_text() == "1 event on this page."
    details = page.locator("details.event-json").first
    details.locator("summary").click()
    assert '"eventName": "RemoveUserFromGroup"' in details.inner_text()
    shot(page, folder, "events", focus=details)

    page.goto(f"{server.base}/console/verify")
    page.get_by_role("button", name="Verify the chain now").click()
    page.wait_for_load_state()
    assert page.locator("#last-verified").inner_text().startswith("Intact")
    assert "Last verified position" in page.locator("#last-verified").inner_text()
    shot(page, folder, "verify")
    assert errors == []


def server_first_position(page: Page) -> int:
    """The position just before the quickstart's change (the removal of privesc-sre-user from its group)."""
    del page
    return 634


def test_follow_a_who_can_path_to_a_timeline_and_open_a_policy_diff(
    page: Page, server: Served, request: pytest.FixtureRequest
) -> None:
    folder = screenshot_dir(request)
    password_sign_in(page, server, "aa-auditor", PASSWORD)
    page.get_by_role("link", name="Who can").click()
    page.get_by_label("Action").fill("s3:PutObject")
    page.get_by_label("Resource ARN").fill("arn:aws:s3:::payroll/2026.csv")
    page.get_by_role("button", name="Ask who can").click()
    page.wait_for_load_state()
    graph = page.locator("main")
    assert "payroll-readers" in graph.inner_text()  # the statement the auditor is allowed by
    shot(page, folder, "who-can", focus=page.locator("h1"))
    for name in ("Timeline", "Access over time", "Escalation"):
        assert page.get_by_role("link", name=name).count() == 1, name  # the principals' links are named otherwise
    item = page.locator("#who-can-principals li", has_text=f"arn:aws:iam::{ACCOUNT}:user/aa-auditor")
    item.get_by_role("link", name="paths to admin").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Escalation paths"
    assert "No escalation path from arn:aws:iam::200611803367:user/aa-auditor" in page.locator("main").inner_text()
    partial = f"arn:aws:iam::{ACCOUNT}:user/fn1-privesc3-partial-user"  # the example account's PassRole case
    page.get_by_label("Principal ARN (user or role)").fill(partial)
    page.get_by_role("button", name="Find escalation paths").click()
    page.wait_for_load_state()
    text = page.locator("main").inner_text()
    assert "ec2:RunInstances" in text and "iam:PassRole" in text and "privesc-high-priv-service-role" in text
    shot(page, folder, "escalation", focus=page.locator("h1"))
    page.go_back()
    page.go_back()
    item.get_by_role("link", name="history").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Timeline of user aa-auditor"
    assert "AttachUserPolicy" in page.locator("main").inner_text()
    page.goto(f"{server.base}/console/")
    page.locator("#list-policies").get_by_role("link", name="payroll-readers").click()
    page.wait_for_load_state()
    assert "CreatePolicyVersion" in page.locator("main").inner_text()
    diff = page.locator(".timeline-event", has_text="CreatePolicyVersion").locator("details.event-diff")
    diff.locator("summary").focus()
    page.keyboard.press("Enter")  # opened by keyboard
    assert diff.get_attribute("open") is not None
    text = diff.inner_text()
    assert "s3:PutObject" in text and "arn:aws:s3:::payroll/*" in text  # added
    assert '"Resource": "*"' in text  # removed
    shot(page, folder, "timeline-policy-diff", focus=diff)


def test_the_time_slider_shows_the_account_as_it_was(
    page: Page, server: Served, account: ConsoleAccount, request: pytest.FixtureRequest
) -> None:
    folder = screenshot_dir(request)
    password_sign_in(page, server, "aa-auditor", PASSWORD)
    assert page.locator("#list-users").get_by_role("link", name="aa-auditor", exact=True).count() == 1
    assert "44 users" in " ".join(
        page.locator("#account-counts").inner_text().split()
    )  # with aa-auditor, aa-nobody, aa-mfa-user
    page.locator("#at-position").fill(str(account.before_auditor))
    page.get_by_role("button", name="Go to position").click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/console/?at={account.before_auditor}")
    state = page.locator("#moment-state").inner_text()
    assert state.startswith(f"Showing the account as of position {account.before_auditor}")
    assert page.locator("#list-users").get_by_role("link", name="aa-auditor", exact=True).count() == 0
    assert page.locator("#list-users").get_by_role("link", name="privesc-sre-user", exact=True).count() == 1
    assert "41 users" in " ".join(
        page.locator("#account-counts").inner_text().split()
    )  # the quickstart's, before aa-auditor
    shot(page, folder, "time-slider")
    # moved alone, the slider applies its position (the console's script), and the steps go one event at a time
    page.locator("#at-position").fill(str(account.before_auditor - 5))
    page.wait_for_url(f"**/console/?at={account.before_auditor - 5}")
    page.get_by_role("link", name="One event later").click()
    page.wait_for_url(f"**/console/?at={account.before_auditor - 4}")
    assert page.locator("#at-position").input_value() == str(account.before_auditor - 4)
    page.goto(f"{server.base}/console/?at={account.before_auditor}")
    # every link carries the moment: the timeline it opens ends there
    page.locator("#list-users").get_by_role("link", name="privesc-sre-user", exact=True).click()
    page.wait_for_load_state()
    assert f"at={account.before_auditor}" in page.url
    assert "RemoveUserFromGroup" in page.locator("main").inner_text()
    # the URL reopens the same view, in a fresh page of the same session
    again = page.context.new_page()
    again.goto(page.url)
    assert again.locator("#moment-state").inner_text() == page.locator("#moment-state").inner_text()
    # a typed moment: before the quickstart's change, privesc-sre-user was still in its group
    page.goto(f"{server.base}/console/timeline?kind=group&name=privesc-sre-group")
    page.get_by_label("Moment (ISO time, position:N or 7d)").fill("position:634")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_load_state()
    assert "at=position%3A634" in page.url
    assert "RemoveUserFromGroup" not in page.locator("main").inner_text()
    assert "later event" in page.locator("main").inner_text()
    page.get_by_role("link", name="Back to now").click()
    page.wait_for_load_state()
    assert "RemoveUserFromGroup" in page.locator("main").inner_text()


def test_mfa_and_access_key_sign_in_and_the_cookie_flags(
    page: Page, server: Served, account: ConsoleAccount, request: pytest.FixtureRequest
) -> None:
    folder = screenshot_dir(request)
    password_sign_in(page, server, "aa-mfa-user", MFA_PASSWORD)
    assert re.search(r"/console/mfa", page.url)
    shot(page, folder, "mfa")
    page.get_by_label("MFA code").fill("123456")
    page.get_by_role("button", name="Submit").click()
    page.wait_for_load_state()
    assert "Your authentication information is incorrect" in page.locator("#signin-error").inner_text()
    page.get_by_label("MFA code").fill(current_code(account.mfa_seed))
    page.get_by_role("button", name="Submit").click()
    page.wait_for_load_state()
    assert "password+mfa" in page.locator(".signed-in").inner_text()
    [cookie] = [c for c in page.context.cookies() if c["name"] == "iamledger_console"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/console/"
    assert cookie["expires"] > 0  # not a browser-session cookie: it ends with the sign-in's Expiration
    assert cookie["secure"] is False  # plain http here; tests/test_console.py checks https
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert "/console/signin" in page.url
    assert [c for c in page.context.cookies() if c["name"] == "iamledger_console"] == []

    page.goto(f"{server.base}/console/signin")
    page.get_by_label("Access key ID").fill(account.access_key_id)
    page.get_by_label("Secret access key").fill(account.secret_access_key)
    page.get_by_role("button", name="Use access key").click()
    page.wait_for_load_state()
    assert "access-key" in page.locator(".signed-in").inner_text()
    assert account.secret_access_key not in page.content()


def test_a_user_without_list_permissions_is_refused(page: Page, server: Served, request: pytest.FixtureRequest) -> None:
    folder = screenshot_dir(request)
    password_sign_in(page, server, "aa-nobody", NOBODY_PASSWORD)
    assert page.locator("h1").inner_text() == "Access denied"  # where the sign-in led: the account page, refused
    response = page.goto(f"{server.base}/console/list/users")
    assert response is not None
    assert response.status == 403
    alert = page.get_by_role("alert").inner_text()
    assert "AccessDenied" in alert
    assert f"User: arn:aws:iam::{ACCOUNT}:user/aa-nobody is not authorized to perform: iam:ListUsers" in alert
    shot(page, folder, "refused")
    page.get_by_role("button", name="Sign out").click()  # a refused visitor can still sign out (and in as another)
    page.wait_for_url("**/console/signin?signed_out=1")
