"""``--query``: the aws CLI's JMESPath filter, applied to the whole result before it is printed."""

from __future__ import annotations

import io
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


def test_a_bad_query_is_refused_as_the_aws_cli_refuses_it_and_changes_nothing(capsys, db):
    bad = run(capsys, "--db", db, "iam", "create-user", "--user-name", "dave", "--query", "[[")
    assert bad.exit_code == 255  # aws-cli 1.45.11: "Bad value for --query [[: ...", exit 255
    assert "Bad value for --query [[" in bad.stderr
    missing = run(capsys, "--db", db, "iam", "get-user", "--user-name", "dave")
    assert missing.exit_code == 254
    assert "NoSuchEntity" in missing.stderr


# -- every command that prints a result applies --query (issue 21 item 10) -------------------------------------------

ACCOUNT = "123456789012"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
PASSWORD = "Correct-Horse-9"
# Commands that print no result (a walkthrough, a server's banner, a shell script): --query has nothing to select.
PRINT_NO_RESULT = frozenset({("quickstart",), ("serve",), ("console",), ("completion",)})
# Each command with a query and what it selects; {db} and {dump} are filled in.
QUERIES: dict[tuple[str, ...], tuple[list[str], str, object]] = {
    ("init",): (["--account-id", "210987654321"], "Account.AccountId", "210987654321"),
    ("account", "create"): (["--account-id", "111122223333"], "Account.AccountId", "111122223333"),
    ("account", "get"): ([], "Account.AccountId", ACCOUNT),
    ("account", "list"): ([], "Accounts[0].AccountId", ACCOUNT),
    ("login",): (["--user-name", "alice", "--password-stdin"], "Arn", ALICE),
    ("audit", "lookup-events"): ([], "Events[?EventName=='CreateUser'].Username | [0]", "root"),
    ("audit", "history"): (["--user-name", "alice"], "Records[].eventName", ["CreateUser", "CreateLoginProfile"]),
    ("audit", "verify"): ([], "Verified", True),
    ("audit", "list-sessions"): ([], "Sessions", []),
    ("audit", "simulate-principal-policy"): (
        ["--policy-source-arn", ALICE, "--action-names", "iam:ListUsers"],
        "EvaluationResults[0].EvalDecision",
        "implicitDeny",
    ),
    ("audit", "who-can"): (["--action-name", "iam:ListUsers"], "Principals[].Arn", []),
    ("audit", "what-can"): (["--principal-arn", ALICE], "PrincipalArn", ALICE),
    ("audit", "diff"): (["--from", "position:0"], "Changes[?Category=='User'].UserName", ["alice"]),
    ("audit", "exposure"): (["--principal-arn", ALICE, "--action-name", "iam:ListUsers"], "Windows", []),
    ("audit", "escalation-paths"): (["--principal-arn", ALICE], "[IsAdmin, Paths]", [False, []]),
    ("audit", "who-can-escalate"): ([], "[To, Admins]", ["admin", []]),
    ("audit", "paths-opened"): (["--from", "position:0"], "[Target, Paths]", ["admin", []]),
    ("audit", "blast-radius"): (["--principal-arn", ALICE], "Principals[0].[PrincipalArn, Reachable]", [ALICE, []]),
    ("audit", "findings"): ([], "Counts.Admin", 0),
    ("audit", "report"): (["-o", "report.html"], "Bytes > `1000`", True),
    ("projections", "status"): ([], "Position <= LogHead", True),
    ("projections", "rebuild"): ([], "Views[?Table=='iamledger_users'].Rows | [0]", 1),
    ("projections", "verify"): ([], "Consistent", True),
    ("projections", "follow"): (["--until-idle"], "Position == LogHead", True),
    ("export", "authorization-details"): ([], "UserDetailList[].UserName", ["alice"]),
    ("import", "authorization-details"): (["{dump}"], "type(@)", "object"),
    ("bench", "generate"): (
        ["--users", "3", "--groups", "1", "--roles", "1", "--events", "40", "--policies", "1"],
        "Users",
        3,
    ),
    ("iam", "list-users"): ([], "Users[].UserName", ["alice"]),
    ("sts", "get-caller-identity"): ([], "Arn", f"arn:aws:iam::{ACCOUNT}:root"),
}


def _leaf_commands() -> list[tuple[str, ...]]:
    import click

    from iamledger.cli.main import cli

    def walk(command: click.Command, ctx: click.Context, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        if not isinstance(command, click.Group) or path in {("iam",), ("sts",)}:
            return [path]
        found = []
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            found += walk(sub, click.Context(sub, parent=ctx, info_name=name), (*path, name))
        return found

    return walk(cli, click.Context(cli), ())


def test_every_command_that_prints_a_result_has_a_query_case():
    leaves = set(_leaf_commands()) - PRINT_NO_RESULT
    assert leaves <= set(QUERIES) | {("iam",), ("sts",)}


@pytest.mark.parametrize("path", sorted(PRINT_NO_RESULT), ids=" ".join)
def test_query_on_a_command_that_prints_no_result_is_a_usage_error(capsys, tmp_path, monkeypatch, path):
    monkeypatch.chdir(tmp_path)
    result = run(capsys, *path, "--query", "Users")
    assert result.exit_code == 2
    assert f"--query does not apply to `iamledger {path[0]}`, which prints no result." in result.stderr
    assert not list(tmp_path.iterdir())  # nothing ran


@pytest.fixture
def trail_db(capsys, tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert 0 == run(capsys, "--db", url, "init", "--account-id", ACCOUNT).exit_code
    assert 0 == run(capsys, "--db", url, "iam", "create-user", "--user-name", "alice").exit_code
    login = ["--user-name", "alice", "--password", PASSWORD, "--no-password-reset-required"]
    assert 0 == run(capsys, "--db", url, "iam", "create-login-profile", *login).exit_code
    return url


@pytest.mark.parametrize("path", sorted(QUERIES), ids=" ".join)
def test_query_applies_on_every_command(capsys, monkeypatch, tmp_path, trail_db, path):
    args, query, expected = QUERIES[path]
    url = f"sqlite:///{tmp_path / 'bench.db'}" if path in {("bench", "generate"), ("init",)} else trail_db
    if path == ("import", "authorization-details"):
        dump = run(capsys, "--db", trail_db, "export", "authorization-details")
        (tmp_path / "dump.json").write_text(dump.stdout, encoding="utf-8")
        url = f"sqlite:///{tmp_path / 'imported.db'}"
        assert 0 == run(capsys, "--db", url, "init", "--account-id", "444455556666").exit_code
        args = [str(tmp_path / "dump.json")]
    monkeypatch.chdir(tmp_path)  # a command that writes a file writes it there
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    result = run(capsys, "--db", url, *path, *args, "--query", query)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == expected
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    text = run(capsys, "--db", url, "--output", "text", *path, *args, "--query", "[`1`, `2`]")
    if path not in {("init",), ("account", "create"), ("bench", "generate"), ("import", "authorization-details")}:
        assert (text.exit_code, text.stdout) == (0, "1\t2\n"), text.stderr


def test_query_on_the_audit_trail_commands_in_every_format(capsys, trail_db):
    events = ["--db", trail_db, "audit", "lookup-events"]
    names = run(capsys, *events, "--query", "Events[].EventName")
    assert json.loads(names.stdout)[:2] == ["CreateLoginProfile", "CreateUser"]  # newest first
    lines = run(capsys, *events, "--output", "jsonl", "--query", "Events[].EventName")
    assert lines.stdout.splitlines()[:2] == ['"CreateLoginProfile"', '"CreateUser"']
    table = run(capsys, *events, "--output", "table", "--query", "Events[0].{Name: EventName, Who: Username}")
    assert "LookupEvents" in table.stdout
    assert "CreateLoginProfile" in table.stdout
    text = run(capsys, *events, "--output", "text", "--query", "Events[0].EventName")
    assert text.stdout == "CreateLoginProfile\n"
    refused = run(capsys, *events, "--output", "csv", "--query", "Events")
    assert refused.exit_code == 2
    assert "--query cannot be combined with --output csv" in refused.stderr
    history = ["--db", trail_db, "audit", "history", "--user-name", "alice"]
    timeline = run(capsys, *history, "--output", "text", "--query", "Records[].eventName")
    assert timeline.stdout == "CreateUser\tCreateLoginProfile\n"
    one = run(capsys, *history, "--output", "jsonl", "--query", "Records[0].requestParameters")
    assert json.loads(one.stdout)["userName"] == "alice"
    nothing = run(capsys, *history, "--output", "jsonl", "--query", "Records[0].nope")
    assert nothing.stdout == ""
    diff = run(capsys, "--db", trail_db, "--output", "text", "audit", "diff", "--from", "position:0", "--query", "To")
    assert diff.exit_code == 0
    assert not diff.stdout.startswith("Changes from")
