"""`--output text` and `--output table` are byte for byte the aws CLI's: compared with awscli's own formatters."""

from __future__ import annotations

import argparse
import copy
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from awscli.customizations.scalarparse import iso_format
from awscli.formatter import TableFormatter, TextFormatter
from awscli.table import determine_terminal_width
from botocore.paginate import Paginator

from iamledger import IdentityStore
from iamledger.awsmodel import operation_model, paginator_config
from iamledger.cli.output import plain, render
from iamledger.cli.service import _paginate
from iamledger.cli.table import terminal_width
from tests.clirunner import run
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"
T1 = datetime(2024, 5, 1, 12, 30, 5, tzinfo=UTC)
T2 = datetime(2024, 6, 2, 8, 0, 0, 123456, tzinfo=UTC)
DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/*"}],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "Path": "/",
        "UserName": name,
        "UserId": f"AIDA{name.upper():0<17}"[:21],
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "CreateDate": T1,
        **extra,
    }


BOUNDARY = {
    "PermissionsBoundaryType": "Policy",
    "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/PowerUserAccess",
}
POLICY = {
    "PolicyName": "ReadOnlyS3",
    "PolicyId": "ANPAEXAMPLE000000001",
    "Arn": f"arn:aws:iam::{ACCOUNT}:policy/ReadOnlyS3",
    "Path": "/",
    "DefaultVersionId": "v2",
    "AttachmentCount": 3,
    "PermissionsBoundaryUsageCount": 0,
    "IsAttachable": True,
    "CreateDate": T1,
    "UpdateDate": T2,
}

# Responses as the library returns them (datetimes, booleans, integers), named after their operation.
CORPUS: list[tuple[str, Any]] = [
    (
        "ListUsers",
        {
            "Users": [
                _user("alice"),
                _user("bob", PasswordLastUsed=T2),
                _user("carol", Path="/engineering/"),
            ],
            "IsTruncated": False,
        },
    ),
    (
        "GetUser",
        {
            "User": _user(
                "alice",
                PermissionsBoundary=BOUNDARY,
                Tags=[{"Key": "team", "Value": "core"}, {"Key": "cost-center", "Value": "42"}],
            )
        },
    ),
    (
        "GetGroup",
        {
            "Group": {
                "Path": "/",
                "GroupName": "admins",
                "GroupId": "AGPAEXAMPLE000000001",
                "Arn": f"arn:aws:iam::{ACCOUNT}:group/admins",
                "CreateDate": T1,
            },
            "Users": [_user("alice"), _user("bob")],
            "IsTruncated": False,
        },
    ),
    (
        "ListPolicies",
        {
            "Policies": [
                POLICY,
                {**POLICY, "PolicyName": "Billing", "AttachmentCount": 0, "IsAttachable": False},
            ],
            "IsTruncated": True,
            "Marker": "AAEAAXQwZXN0bWFya2Vy",
        },
    ),
    (
        "GetAccountAuthorizationDetails",
        {
            "UserDetailList": [
                {
                    **_user("alice"),
                    "UserPolicyList": [{"PolicyName": "inline", "PolicyDocument": DOC}],
                    "GroupList": ["admins", "devs"],
                    "AttachedManagedPolicies": [
                        {"PolicyName": "ReadOnlyS3", "PolicyArn": POLICY["Arn"]},
                    ],
                    "PermissionsBoundary": BOUNDARY,
                    "Tags": [{"Key": "team", "Value": "core"}],
                },
                {**_user("bob"), "GroupList": [], "AttachedManagedPolicies": []},
            ],
            "GroupDetailList": [
                {
                    "Path": "/",
                    "GroupName": "admins",
                    "GroupId": "AGPAEXAMPLE000000001",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:group/admins",
                    "CreateDate": T1,
                    "GroupPolicyList": [],
                    "AttachedManagedPolicies": [
                        {
                            "PolicyName": "AdministratorAccess",
                            "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
                        }
                    ],
                }
            ],
            "RoleDetailList": [
                {
                    "Path": "/service-role/",
                    "RoleName": "ec2-app",
                    "RoleId": "AROAEXAMPLE000000001",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:role/service-role/ec2-app",
                    "CreateDate": T1,
                    "AssumeRolePolicyDocument": TRUST,
                    "InstanceProfileList": [
                        {
                            "Path": "/",
                            "InstanceProfileName": "ec2-app",
                            "InstanceProfileId": "AIPAEXAMPLE000000001",
                            "Arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/ec2-app",
                            "CreateDate": T2,
                            "Roles": [],
                        }
                    ],
                    "RolePolicyList": [],
                    "AttachedManagedPolicies": [],
                    "RoleLastUsed": {"LastUsedDate": T2, "Region": "us-east-1"},
                    "Tags": [],
                }
            ],
            "Policies": [
                {
                    **{k: v for k, v in POLICY.items() if k != "IsAttachable"},
                    "IsAttachable": True,
                    "PolicyVersionList": [
                        {"Document": DOC, "VersionId": "v2", "IsDefaultVersion": True, "CreateDate": T2},
                        {"Document": DOC, "VersionId": "v1", "IsDefaultVersion": False, "CreateDate": T1},
                    ],
                }
            ],
            "IsTruncated": False,
        },
    ),
    (
        "SimulateCustomPolicy",
        {
            "EvaluationResults": [
                {
                    "EvalActionName": "s3:GetObject",
                    "EvalResourceName": "arn:aws:s3:::b/key",
                    "EvalDecision": "allowed",
                    "MatchedStatements": [
                        {
                            "SourcePolicyId": "PolicyInputList.1",
                            "SourcePolicyType": "IAM Policy",
                            "StartPosition": {"Line": 1, "Column": 38},
                            "EndPosition": {"Line": 1, "Column": 131},
                        }
                    ],
                    "MissingContextValues": [],
                    "EvalDecisionDetails": {},
                },
                {
                    "EvalActionName": "s3:DeleteObject",
                    "EvalResourceName": "*",
                    "EvalDecision": "implicitDeny",
                    "MatchedStatements": [],
                    "MissingContextValues": ["aws:SourceIp"],
                },
            ],
            "IsTruncated": False,
        },
    ),
    ("ListUsers", {"Users": []}),
    ("ListUsers", {"Users": [], "IsTruncated": False}),
    ("ListGroupsForUser", {"Groups": [], "IsTruncated": False, "Marker": "m"}),
    ("GetAccountSummary", {"SummaryMap": {"Users": 3, "Groups": 1, "Policies": 2, "AccountMFAEnabled": 0}}),
    ("DeleteSomething", {"IsTruncated": False}),
    ("GetLoginProfileLike", {"LoginProfile": {"UserName": "alice"}}),
    ("ListUserPolicies", {"PolicyNames": ["inline-a", "inline-b", "inline-c"], "IsTruncated": False}),
    ("ListAccountAliases", {"AccountAliases": ["my-company"], "IsTruncated": False}),
    ("Nested", {"Matrix": [["a", "b"], ["c", "d"]], "Deeper": [[["x", "y"]], [["z", "w"]]]}),
    ("Nested", {"Outer": {"Inner": {"Leaf": "v", "Other": 1}, "Empty": [], "Nothing": {}}}),
    ("Nested", {"TitleOnly": {"Empty": []}}),
    ("Nested", {"Ragged": [{"A": "1"}, {"B": "2", "C": [{"D": "3"}]}, {"A": "4", "C": []}]}),
    (
        "GetCallerIdentity",
        {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"},
    ),
    (
        "ListAccounts",
        {"Accounts": [{"AccountId": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root", "CreateDate": T1}]},
    ),
    ("Wide", {"Tags": [{"Key": "名前", "Value": "日本語のタグ値"}, {"Key": "ü", "Value": "ascii"}]}),
    ("Short", {"Items": [{"A": "1", "B": "2"}]}),
    ("Scalars", {"Values": [1, 2.5, True, None, "x"]}),
]
IDS = [f"{i}-{op}" for i, (op, _) in enumerate(CORPUS)]
WIDTHS = [20, 60, 80, 120, 250, 1000]


def _wire(value: datetime) -> str:
    """A timestamp as IAM sends it."""
    text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z"


def as_aws(data: Any) -> Any:
    """``data`` as the aws CLI hands a parsed response to its formatters: each timestamp as botocore parses IAM's
    wire form, in ISO 8601 (``cli_timestamp_format = iso8601``, the aws CLI v2 default)."""
    if isinstance(data, dict):
        return {k: as_aws(v) for k, v in data.items()}
    if isinstance(data, list):
        return [as_aws(v) for v in data]
    if isinstance(data, datetime):
        return iso_format(_wire(data))
    return copy.copy(data)


def _args(output: str, color: str = "off") -> argparse.Namespace:
    return argparse.Namespace(output=output, color=color, query=None)


def aws_table(title: str, response: Any, width: int = 80, color: str = "off") -> str:
    formatter = TableFormatter(_args("table", color))
    formatter.table._terminal_width = width
    stream = io.StringIO()
    formatter(title, response, stream)
    return stream.getvalue()


def aws_text(title: str, response: Any) -> str:
    stream = io.StringIO()
    TextFormatter(_args("text"))(title, response, stream)
    return stream.getvalue()


@pytest.mark.parametrize(("operation", "data"), CORPUS, ids=IDS)
@pytest.mark.parametrize("width", WIDTHS)
def test_table_is_the_aws_clis(operation, data, width):
    expected = aws_table(operation, as_aws(data), width)
    assert expected == render(data, "table", title=operation, width=width)


@pytest.mark.parametrize(("operation", "data"), CORPUS, ids=IDS)
@pytest.mark.parametrize("width", WIDTHS)
def test_coloured_table_is_the_aws_clis(operation, data, width):
    """--color on (or auto on a terminal): the aws CLI's ColorizedStyler's colours, the same layout."""
    expected = aws_table(operation, as_aws(data), width, color="on")
    assert expected == render(data, "table", title=operation, width=width, colour=True)


@pytest.mark.parametrize(("operation", "data"), CORPUS, ids=IDS)
def test_text_is_the_aws_clis(operation, data):
    assert aws_text(operation, as_aws(data)) == render(data, "text")


@pytest.mark.parametrize(("operation", "data"), CORPUS, ids=IDS)
def test_table_width_defaults_to_the_aws_clis(operation, data):
    """The width is read from stdout as the aws CLI reads it (under pytest's capture: no terminal, 80 columns)."""
    assert terminal_width() == determine_terminal_width()
    formatter = TableFormatter(_args("table"))
    stream = io.StringIO()
    formatter(operation, as_aws(data), stream)
    assert stream.getvalue() == render(data, "table", title=operation)


def test_terminal_width_of_a_pipe_or_file_is_the_default(tmp_path):
    with (tmp_path / "out").open("w") as stream:
        assert 80 == terminal_width(stream)
    assert 80 == terminal_width(io.StringIO())


def test_timestamps_print_as_botocore_parses_them():
    for value in (T1, T2):
        assert iso_format(_wire(value)) == plain(value) == value.isoformat()
    assert "2024-05-01T12:30:05+00:00\n" == render({"CreateDate": T1}, "text")
    assert "2024-06-02T08:00:00.123456+00:00" in render({"User": _user("a", CreateDate=T2)}, "table", "GetUser")


def test_json_output_is_unchanged():
    data = CORPUS[0][1]
    assert json.loads(render(data, "json"))["Users"][0]["CreateDate"] == T1.isoformat()


def test_empty_results_print_nothing():
    for fmt in ("json", "text", "table"):
        assert "" == render({}, fmt, title="DeleteUser")
        assert "" == render(None, fmt, title="DeleteUser")


# -- auto-paginated results: the aws CLI's text prints page by page -------------------------------------------------

USERS = [
    _user("u0"),
    _user("u1", PasswordLastUsed=T2),
    _user("u2"),
    _user("u3", PasswordLastUsed=T1),
    _user("u4"),
]


def _list_users(**kwargs: Any) -> dict[str, Any]:
    """A ListUsers that pages with an opaque marker, as the store does."""
    start = int(kwargs.get("Marker") or 0)
    size = kwargs.get("MaxItems") or 100
    page = USERS[start : start + size]
    result: dict[str, Any] = {"Users": page, "IsTruncated": start + size < len(USERS)}
    if result["IsTruncated"]:
        result["Marker"] = str(start + size)
    return result


@pytest.mark.parametrize(
    ("page_size", "max_items"), [(None, None), (1, None), (2, None), (2, 3), (2, 4), (3, 1), (None, 2)]
)
def test_paginated_text_and_table_are_the_aws_clis(page_size, max_items):
    ns = argparse.Namespace(cli_starting_token=None, cli_page_size=page_size, cli_max_items=max_items)
    pages: list[dict[str, Any]] = []
    merged = _paginate("iam", operation_model("iam", "ListUsers"), _list_users, {}, ns, pages)

    def aws_pages() -> Any:
        paginator = Paginator(
            lambda **kw: as_aws(_list_users(**kw)),
            paginator_config("iam", "ListUsers"),
            operation_model("iam", "ListUsers"),
        )
        return paginator.paginate(PaginationConfig={"PageSize": page_size, "MaxItems": max_items})

    assert aws_text("ListUsers", aws_pages()) == render(merged, "text", pages=pages)
    assert aws_table("ListUsers", aws_pages()) == render(merged, "table", title="ListUsers", width=80)


# -- end to end ---------------------------------------------------------------------------------------------------


@pytest.fixture
def db(capsys, store_url) -> str:
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    return store_url


def _parse_dates(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _parse_dates(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_parse_dates(v, key) for v in value]
    if isinstance(value, str) and key.endswith(("Date", "Used")):
        return datetime.fromisoformat(value)
    return value


def test_list_users_table_end_to_end(capsys, db):
    for name in ("alice", "bob", "carol"):
        assert 0 == run(capsys, "--db", db, "iam", "create-user", "--user-name", name, "--path", "/eng/").exit_code
    listed = run(capsys, "--db", db, "iam", "list-users")
    response = _parse_dates(json.loads(listed.stdout))
    assert_output_shape("iam", "ListUsers", response)

    table = run(capsys, "--db", db, "iam", "list-users", "--output", "table")
    assert 0 == table.exit_code, table.stderr
    assert table.stdout.startswith("-" * 20)
    assert "ListUsers" in table.stdout.splitlines()[1]
    assert aws_table("ListUsers", as_aws(response)) == table.stdout

    text = run(capsys, "--db", db, "iam", "list-users", "--output", "text")
    assert aws_text("ListUsers", as_aws(response)) == text.stdout


@pytest.mark.parametrize(("page_size", "max_items"), [("1", "2"), ("2", "1"), ("1", None), (None, "2")])
def test_paginated_text_end_to_end(capsys, db, page_size, max_items):
    """The aws CLI's text formatter, driven by botocore's paginator over the store's own ``list_users``."""
    for name in ("alice", "bob", "carol"):
        run(capsys, "--db", db, "iam", "create-user", "--user-name", name)
    options = [*(["--page-size", page_size] if page_size else []), *(["--max-items", max_items] if max_items else [])]
    text = run(capsys, "--db", db, "iam", "list-users", *options, "--output", "text")
    assert 0 == text.exit_code, text.stderr
    table = run(capsys, "--db", db, "iam", "list-users", *options, "--output", "table")

    store = IdentityStore.open(db)
    try:
        paginator = Paginator(
            lambda **kw: as_aws(store.list_users(**kw)),
            paginator_config("iam", "ListUsers"),
            operation_model("iam", "ListUsers"),
        )
        config = {"PageSize": page_size and int(page_size), "MaxItems": max_items and int(max_items)}
        assert aws_text("ListUsers", paginator.paginate(PaginationConfig=config)) == text.stdout
        assert aws_table("ListUsers", paginator.paginate(PaginationConfig=config)) == table.stdout
    finally:
        store.close()
    if max_items:
        assert text.stdout.splitlines()[-1].startswith("NEXTTOKEN\t")


def test_hand_written_commands_title_their_tables(capsys, db):
    result = run(capsys, "--db", db, "sts", "get-caller-identity", "--output", "table")
    assert 0 == result.exit_code, result.stderr
    identity = json.loads(run(capsys, "--db", db, "sts", "get-caller-identity").stdout)
    assert aws_table("GetCallerIdentity", identity) == result.stdout
    accounts = run(capsys, "--db", db, "account", "list", "--output", "table")
    assert accounts.stdout.splitlines()[1].strip("| ") == "ListAccounts"
