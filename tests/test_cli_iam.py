"""`iamledger iam ...`: commands generated from botocore's model, shaped like the aws CLI's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirunner import run
from tests.shapes import assert_output_shape


@pytest.fixture
def db(capsys, store_url) -> str:
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", "123456789012").exit_code
    return store_url


def iam(capsys, db: str, *args: str):
    return run(capsys, "--db", db, "iam", *args)


def test_create_user_prints_the_aws_cli_json(capsys, db):
    result = iam(capsys, db, "create-user", "--user-name", "alice", "--tags", "Key=team,Value=core", "Key=env,Value=x")
    assert 0 == result.exit_code, result.stderr
    printed = json.loads(result.stdout)
    assert ["User"] == list(printed)
    assert ["Path", "UserName", "UserId", "Arn", "CreateDate", "Tags"] == list(printed["User"])
    assert printed["User"]["CreateDate"].endswith("+00:00")
    assert [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "x"}] == printed["User"]["Tags"]


def test_json_list_arguments_work_too(capsys, db):
    tags = json.dumps([{"Key": "a", "Value": "1"}])
    assert 0 == iam(capsys, db, "create-user", "--user-name", "u", "--tags", tags).exit_code
    listed = json.loads(iam(capsys, db, "list-user-tags", "--user-name", "u").stdout)
    assert [{"Key": "a", "Value": "1"}] == listed["Tags"]


def test_policy_documents_come_from_files(capsys, db, tmp_path: Path):
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    iam(capsys, db, "create-user", "--user-name", "u")
    put = iam(
        capsys, db, "put-user-policy", "--user-name", "u", "--policy-name", "p", "--policy-document", f"file://{path}"
    )
    assert 0 == put.exit_code, put.stderr
    assert "" == put.stdout
    got = json.loads(iam(capsys, db, "get-user-policy", "--user-name", "u", "--policy-name", "p").stdout)
    assert doc == got["PolicyDocument"]


def test_list_commands_paginate_like_the_aws_cli(capsys, db):
    for name in ("a", "b", "c"):
        iam(capsys, db, "create-user", "--user-name", name)

    everything = json.loads(iam(capsys, db, "list-users", "--page-size", "1").stdout)
    assert ["a", "b", "c"] == [u["UserName"] for u in everything["Users"]]
    assert "IsTruncated" not in everything

    first = json.loads(iam(capsys, db, "list-users", "--max-items", "2").stdout)
    assert ["a", "b"] == [u["UserName"] for u in first["Users"]]
    rest = json.loads(iam(capsys, db, "list-users", "--starting-token", first["NextToken"]).stdout)
    assert ["c"] == [u["UserName"] for u in rest["Users"]]
    assert "NextToken" not in rest

    raw = json.loads(iam(capsys, db, "list-users", "--no-paginate").stdout)
    assert_output_shape("iam", "ListUsers", {**raw, "Users": []})
    assert raw["IsTruncated"] is False


def test_service_errors_print_the_aws_cli_line_and_exit_254(capsys, db):
    iam(capsys, db, "create-user", "--user-name", "Bob")
    result = iam(capsys, db, "create-user", "--user-name", "bob")
    assert 254 == result.exit_code
    assert (
        "An error occurred (EntityAlreadyExists) when calling the CreateUser operation: "
        "User with name bob already exists."
    ) in result.stderr


def test_validation_errors_come_from_the_model(capsys, db):
    result = iam(capsys, db, "create-user", "--user-name", "has space")
    assert 254 == result.exit_code
    assert "(ValidationError) when calling the CreateUser operation: 1 validation error detected" in result.stderr


def test_missing_required_options_are_usage_errors(capsys, db):
    result = iam(capsys, db, "create-user")
    assert 2 == result.exit_code
    assert "--user-name" in result.stderr


def test_unknown_commands_are_usage_errors(capsys, db):
    assert 2 == iam(capsys, db, "no-such-operation").exit_code


def test_help_of_a_generated_command(capsys, db):
    result = iam(capsys, db, "create-user", "--help")
    assert 0 == result.exit_code
    assert "--user-name" in result.stdout
    assert "--permissions-boundary" in result.stdout


def test_global_options_after_the_command(capsys, store_url, db):
    iam(capsys, db, "create-user", "--user-name", "u")
    result = run(capsys, "iam", "list-users", "--output", "text", "--db", store_url)
    assert 0 == result.exit_code, result.stderr
    assert result.stdout.startswith("USERS\tarn:aws:iam::123456789012:user/u\t")


def test_commands_without_output_print_nothing(capsys, db):
    iam(capsys, db, "create-user", "--user-name", "u")
    iam(capsys, db, "create-group", "--group-name", "g")
    result = iam(capsys, db, "add-user-to-group", "--user-name", "u", "--group-name", "g")
    assert 0 == result.exit_code
    assert "" == result.stdout
