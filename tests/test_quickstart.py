"""``iamledger quickstart``: the README's first command, on the example dump shipped with the package."""

from __future__ import annotations

import pytest

from tests.clirunner import run


@pytest.mark.slow
def test_quickstart_walks_through_a_change_asked_before_and_after(capsys, store_url):
    result = run(capsys, "--db", store_url, "quickstart")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for step in ("1. An AWS account, imported as events", "2. Who is in which group", "4. privesc-sre-user assumes"):
        assert step in out
    assert "44 users, 5 groups, 78 roles" in out
    assert "privesc-sre-group                    members: privesc-sre-user" in out
    assert "assumed-role/privesc-sre-role/quickstart" in out
    before, after = out.split("as of position", 1)[1].split("\n")[:2]
    assert before.strip().endswith("allowed") and after.strip().endswith("implicitDeny")
    assert "AddUserToGroup" in out and "RemoveUserFromGroup" in out  # the events that explain the difference
    assert "allowed -> implicitDeny" in out


@pytest.mark.slow
def test_quickstart_starts_from_a_fresh_default_store_each_time(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = run(capsys, "quickstart")
        assert result.exit_code == 0, result.stderr
        assert "Recorded 625 events" in result.stdout
    assert (tmp_path / "iamledger-quickstart.db").exists()
