"""``iamledger audit report``: one self-contained HTML file, opened offline in a real browser (the system Chromium),
for the quickstart account (the README's first command) and for hostile text a caller can put into the log."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from iamledger import IdentityStore
from tests.browser_support import accessibility_violations, launched_chromium, needs_chromium, screenshot_dir
from tests.clirunner import run

ACCOUNT = "200611803367"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/privesc-sre-user"
PAYROLL = "arn:aws:s3:::payroll-exports/2026/11.csv"
HOSTILE = "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>"


def _quickstart(capsys, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'qs.db'}"
    result = run(capsys, "--db", url, "quickstart")
    assert result.exit_code == 0, result.stderr
    return url


def _open_offline(browser, path: Path):
    """The report in a fresh page that may load nothing: every request other than the file itself is recorded."""
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if request.url != path.as_uri() else None)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())
    return page, outside, errors


def _skip_link_leads_to_main(page) -> None:
    """The skip link is the first stop of the keyboard, and leads to the main content."""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


@pytest.mark.slow
@needs_chromium
def test_the_report_of_the_quickstart_account_opens_offline_with_its_sections(capsys, tmp_path, request):
    url = _quickstart(capsys, tmp_path)
    with IdentityStore.open(url) as store, store.acting(ACCOUNT):
        removed = store.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RemoveUserFromGroup"}]
        )["Events"][0]
        position = json.loads(removed["CloudTrailEvent"])["iamledgerPosition"]
    report = tmp_path / "report.html"
    args = ["--at", f"position:{position}", "--since", f"position:{position - 5}", "-o", str(report)]
    chart = [
        "--principal-arn",
        USER_ARN,
        "--action-name",
        "s3:GetObject",
        "--resource-arn",
        PAYROLL,
        "--escalation-paths",
    ]
    result = run(capsys, "--db", url, "--account-id", ACCOUNT, "audit", "report", *args, *chart)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"OutputFile": str(report.resolve()), "Bytes": report.stat().st_size}
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask  # as any file the user writes, not mkstemp's 0600
    text = report.read_text(encoding="utf-8")
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    shots = screenshot_dir(request)
    with launched_chromium() as browser:
        page, outside, errors = _open_offline(browser, report)
        assert outside == [] and errors == []
        _skip_link_leads_to_main(page)
        assert page.locator("h1").inner_text() == f"Audit report of account {ACCOUNT}"
        assert f"position {position}" in page.locator(".report-moment").inner_text()
        assert page.locator("#list-users h3").inner_text().startswith("Users (")
        assert page.locator("#list-users").get_by_text("privesc-sre-user", exact=True).count() == 1
        page.screenshot(path=str(shots / "report-account.png"))
        # the changes since --since: the removal from the group, and the decision it flipped
        changes = page.locator("#changes")
        assert "RemoveUserFromGroup" in changes.inner_text()
        mark = changes.locator("a.change-mark-removed")
        assert mark.count() == 1 and "RemoveUserFromGroup" in mark.get_attribute("aria-label")
        mark.focus()
        page.keyboard.press("Enter")  # a mark leads to its row of the table
        assert page.evaluate("location.hash") == mark.get_attribute("href")
        assert "no longer allowed" in changes.locator("table.decisions").inner_text()
        changes.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "report-changes.png"))
        assert page.locator("table.findings-table tbody tr").count() > 0
        # out of the admin group at --at, the user is still one hop from admin: the role that trusts it
        escalation = page.locator("section.escalation").inner_text()
        assert "1 escalation path from" in escalation and "sts-assume-role" in escalation
        # the exposure chart: the window is reachable by keyboard, and Enter shows its events in the list
        window = page.locator("a.exposure-window").first
        assert "AddUserToGroup" in window.get_attribute("aria-label")
        assert "RemoveUserFromGroup" in window.get_attribute("aria-label")
        window.focus()
        assert page.evaluate("document.activeElement.getAttribute('class')") == "exposure-window"
        page.keyboard.press("Enter")
        selected = page.locator("ol.exposure-windows li.is-selected")
        assert selected.count() == 1 and "RemoveUserFromGroup" in selected.inner_text()
        page.locator("#charts").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "report-exposure.png"))
        assert accessibility_violations(page) == []
    assert (shots / "report-exposure.png").stat().st_size > 0


@needs_chromium
def test_hostile_text_in_a_policy_is_shown_as_text_and_never_run(iam: IdentityStore, tmp_path, request):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    iam.create_user(UserName="mallory")
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=json.dumps(document))
    document["Statement"][0]["Resource"] = f"arn:aws:s3:::bucket/{HOSTILE}"
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=json.dumps(document))
    from iamledger.html.report import build_report

    page_html = build_report(iam, principal_arn=iam.get_user(UserName="mallory")["User"]["Arn"])
    assert HOSTILE not in page_html
    report = tmp_path / "hostile.html"
    report.write_text(page_html, encoding="utf-8")
    with launched_chromium() as browser:
        page, outside, errors = _open_offline(browser, report)
        assert outside == [] and errors == []
        page.locator("details.event-diff").last.locator("summary").click()
        diff = page.locator("details.event-diff").last.locator("table.policy-diff")
        assert HOSTILE in diff.inner_text()
        assert page.evaluate("window.pwned") is None
        assert accessibility_violations(page) == []
        page.screenshot(path=str(screenshot_dir(request) / "report-hostile.png"), full_page=True)


def test_a_bad_moment_writes_no_file(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert run(capsys, "--db", url, "init", "--account-id", "123456789012").exit_code == 0
    assert run(capsys, "--db", url, "iam", "create-user", "--user-name", "alice").exit_code == 0
    report = tmp_path / "report.html"
    result = run(capsys, "--db", url, "audit", "report", "--at", "not-a-moment", "-o", str(report))
    assert result.exit_code != 0
    assert "not-a-moment" in result.stderr
    result = run(
        capsys, "--db", url, "audit", "report", "--at", "position:1", "--since", "position:2", "-o", str(report)
    )
    assert result.exit_code == 254
    assert "The --since moment (position 2) is after the --at moment (position 1)." in result.stderr
    result = run(capsys, "--db", url, "audit", "report", "--escalation-paths", "-o", str(report))
    assert result.exit_code == 2 and "--escalation-paths needs --principal-arn" in result.stderr
    assert not report.exists()


def test_a_caller_without_the_reads_is_refused_with_awss_message_and_no_file(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert run(capsys, "--db", url, "init", "--account-id", "123456789012").exit_code == 0
    assert run(capsys, "--db", url, "iam", "create-user", "--user-name", "nobody").exit_code == 0
    report = tmp_path / "report.html"
    nobody = "arn:aws:iam::123456789012:user/nobody"
    result = run(capsys, "--db", url, "--as", nobody, "audit", "report", "-o", str(report))
    assert result.exit_code == 254
    assert "(AccessDenied)" in result.stderr and "is not authorized to perform: iam:GetAccountSummary" in result.stderr
    assert not report.exists()


def test_an_action_alone_shows_who_could_and_every_decision_that_flipped(iam: IdentityStore):
    from iamledger.html.report import build_report

    read = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    iam.create_group(GroupName="readers")
    iam.put_group_policy(GroupName="readers", PolicyName="read", PolicyDocument=json.dumps(read))
    for name in ("alice", "bob"):
        iam.create_user(UserName=name)
        iam.add_user_to_group(GroupName="readers", UserName=name)
    before = iam.at("now").position
    iam.remove_user_from_group(GroupName="readers", UserName="alice")
    page = build_report(iam, since=f"position:{before}", action_name="s3:GetObject")
    flipped = page.split('<table class="decisions">', 1)[1].split("</table>", 1)[0]
    assert "user/alice" in flipped and "no longer allowed" in flipped and "user/bob" not in flipped
    who = page.split('<section id="charts"', 1)[1]
    assert "Who can s3:GetObject on *" in who and "user/bob" in who and "Group</span>" in who
    assert "user/alice</span>" not in who


@needs_chromium
def test_the_page_runs_only_its_own_script_even_if_text_were_not_escaped(tmp_path):
    """Defence in depth: the single file's Content-Security-Policy allows its own script and style by hash, so that
    markup that got through unescaped would still run nothing (and the page's own script still runs)."""
    from iamledger.html import document, render_exposure_bands

    window = {"PrincipalId": "AIDA", "From": {"Time": "2026-11-01T00:00:00Z"}, "To": None}
    chart = render_exposure_bands(
        {"PrincipalArn": "p", "ActionName": "a", "Principals": [{"PrincipalId": "AIDA", "Windows": [window]}]}
    )
    unescaped = '<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'
    page_file = tmp_path / "page.html"
    page_file.write_text(document("t", unescaped + chart, inline_assets=True), encoding="utf-8")
    with launched_chromium() as browser:
        page, outside, errors = _open_offline(browser, page_file)
        assert page.evaluate("window.pwned") is None and errors == []
        assert set(outside) <= {page_file.parent.joinpath("x").as_uri()}  # at most the image, refused
        page.locator("a.exposure-window").first.click()  # the page's own script selects the window's entry
        assert page.locator("ol.exposure-windows li.is-selected").count() == 1
        assert page.evaluate("getComputedStyle(document.querySelector('.skip-link')).position") == "absolute"
