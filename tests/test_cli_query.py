"""``--query``: the aws CLI's JMESPath filter, applied to the whole result before it is printed."""

from __future__ import annotations

import json

import pytest

from tests.clirunner import run


@pytest.fixture
def db(capsys, store_url) -> str:
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", "123456789012").exit_code
    for name in ("alice", "bob", "carol"):
        assert 0 == run(capsys, "--db", store_url, "iam", "create-user", "--user-name", name).exit_code
    return store_url


def test_query_selects_from_the_result_in_every_output_format(capsys, db):
    names = run(capsys, "--db", db, "iam", "list-users", "--query", "Users[].UserName")
    assert names.exit_code == 0
    assert json.loads(names.stdout) == ["alice", "bob", "carol"]
    text = run(capsys, "iam", "get-user", "--user-name", "bob", "--query", "User.Arn", "--output", "text", "--db", db)
    assert text.stdout == "arn:aws:iam::123456789012:user/bob\n"
    listed = run(capsys, "--db", db, "--output", "text", "iam", "list-users", "--query", "Users[].UserName")
    assert listed.stdout == "alice\tbob\tcarol\n"


def test_query_applies_to_the_merged_pages_of_a_paginated_command(capsys, db):
    result = run(capsys, "--db", db, "iam", "list-users", "--page-size", "1", "--query", "length(Users)")
    assert result.stdout == "3\n"


def test_query_that_selects_nothing_prints_null(capsys, db):
    assert run(capsys, "--db", db, "iam", "get-user", "--user-name", "bob", "--query", "User.Nope").stdout == "null\n"
    text = run(capsys, "--db", db, "--output", "text", "iam", "get-user", "--user-name", "bob", "--query", "Nope")
    assert text.stdout == "None\n"


def test_a_bad_query_is_a_usage_error_and_changes_nothing(capsys, db):
    bad = run(capsys, "--db", db, "iam", "create-user", "--user-name", "dave", "--query", "[[")
    assert bad.exit_code == 2
    assert "Bad value for --query [[" in bad.stderr
    missing = run(capsys, "--db", db, "iam", "get-user", "--user-name", "dave")
    assert missing.exit_code == 254
    assert "NoSuchEntity" in missing.stderr
