"""Answers that used to say too little (issue 21 items 14 and 15): the history of an entity that never existed is
``NoSuchEntity``, as ``GetUser`` would say, while one deleted long ago still answers; and a ``NoSuchEntity`` read of
the past names the moment it answered at, before the store existed too. On every backend, library and command line."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import NoSuchEntityError
from tests.clirunner import run

A = "123456789012"
B = "210987654321"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
LONG_AGO = "2020-01-01T00:00:00Z"
BEFORE_THE_STORE = "As of 2020-01-01T00:00:00+00:00 (position 0), before the store's first event."


def names(records: list[Any]) -> list[str]:
    return [r.record["eventName"] for r in records]


# -- item 14: the history of what never existed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "message"),
    [
        ("user", "nobody", "The user with name nobody cannot be found."),
        ("group", "nogroup", "The group with name nogroup cannot be found."),
        ("role", "norole", "The role with name norole cannot be found."),
        ("policy", f"arn:aws:iam::{A}:policy/nopolicy", f"Policy arn:aws:iam::{A}:policy/nopolicy was not found."),
        ("policy", "arn:aws:iam::aws:policy/NoSuchManagedPolicy", "Policy arn:aws:iam::aws:policy/NoSuchManagedPolicy"),
        ("access-key", "AKIAIOSFODNN7EXAMPLE", "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found."),
    ],
)
def test_the_history_of_what_never_existed_is_no_such_entity(iam: IdentityStore, kind: str, name: str, message: str):
    iam.create_user(UserName="alice")
    with pytest.raises(NoSuchEntityError) as caught:
        iam.entity_history(kind, name)
    assert caught.value.message.startswith(message)
    assert "NoSuchEntity" == caught.value.code


def test_what_was_deleted_long_ago_still_answers_its_history(iam: IdentityStore):
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.create_group(GroupName="dev")
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    arn = iam.create_policy(PolicyName="s3", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
    iam.delete_access_key(UserName="alice", AccessKeyId=key)
    iam.delete_user(UserName="alice")
    iam.delete_group(GroupName="dev")
    iam.delete_role(RoleName="app")
    iam.delete_policy(PolicyArn=arn)
    iam.create_user(UserName="later")  # the deletions are no longer the newest events

    assert ["CreateUser", "CreateAccessKey", "DeleteAccessKey", "DeleteUser"] == names(
        iam.entity_history("user", "alice")
    )
    assert ["CreateAccessKey", "DeleteAccessKey"] == names(iam.entity_history("access-key", key))
    assert ["CreateGroup", "DeleteGroup"] == names(iam.entity_history("group", "dev"))
    assert ["CreateRole", "DeleteRole"] == names(iam.entity_history("role", "app"))
    assert ["CreatePolicy", "DeletePolicy"] == names(iam.entity_history("policy", arn))


def test_an_aws_managed_policy_exists_in_every_account(iam: IdentityStore):
    read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert [] == iam.entity_history("policy", read_only)  # never attached: no records, but it exists
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn=read_only)
    assert ["AttachUserPolicy"] == names(iam.entity_history("policy", read_only))


def test_a_name_of_another_account_is_no_such_entity_in_this_one(iam: IdentityStore):
    iam.create_account(B)
    with iam.acting(B):
        iam.create_user(UserName="bob")
        key = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
        assert ["CreateUser", "CreateAccessKey"] == names(iam.entity_history("user", "bob"))
        assert ["CreateAccessKey"] == names(iam.entity_history("access-key", key))
    with pytest.raises(NoSuchEntityError, match="The user with name bob cannot be found."):
        iam.entity_history("user", "bob")
    with pytest.raises(NoSuchEntityError, match=f"The Access Key with id {key} cannot be found."):
        iam.entity_history("access-key", key)


def test_the_command_line_says_no_such_entity_with_the_aws_exit_code(store_url: str, capsys):
    assert 0 == run(capsys, "init", "--account-id", A, "--db", store_url).exit_code
    assert 0 == run(capsys, "account", "create", "--account-id", B, "--db", store_url).exit_code
    created = run(capsys, "--account-id", B, "iam", "create-user", "--user-name", "bob", "--db", store_url)
    assert 0 == created.exit_code, created.stderr

    missing = run(capsys, "audit", "history", "--user-name", "nobody", "--db", store_url)
    assert 254 == missing.exit_code
    assert "" == missing.stdout
    assert "An error occurred (NoSuchEntity)" in missing.stderr
    assert "The user with name nobody cannot be found." in missing.stderr
    elsewhere = run(capsys, "audit", "history", "--user-name", "bob", "--db", store_url)
    assert 254 == elsewhere.exit_code
    assert "The user with name bob cannot be found." in elsewhere.stderr
    found = run(capsys, "--account-id", B, "audit", "history", "--user-name", "bob", "--db", store_url)
    assert 0 == found.exit_code, found.stderr
    assert ["CreateUser"] == [r["eventName"] for r in json.loads(found.stdout)["Records"]]


# -- item 15: a read of the past says when it answered ---------------------------------------------------------------


def test_a_read_before_the_store_existed_names_the_moment(iam: IdentityStore):
    iam.create_user(UserName="alice")
    past = iam.at(LONG_AGO)
    assert 0 == past.position
    with pytest.raises(NoSuchEntityError) as caught:
        past.get_user(UserName="alice")
    assert f"The user with name alice cannot be found. {BEFORE_THE_STORE}" == caught.value.message
    assert caught.value.message == caught.value.response["Error"]["Message"]  # type: ignore[attr-defined]
    assert str(caught.value).endswith(BEFORE_THE_STORE)


@pytest.mark.parametrize(
    "read",
    [
        lambda past: past.get_user(),
        lambda past: past.get_account_summary(),
        lambda past: past.list_access_keys(),
        lambda past: past.get_account_password_policy(),
    ],
)
def test_a_read_of_the_account_before_it_existed_is_no_such_entity(iam: IdentityStore, read: Any):
    """These failed with a Python error (the account's aggregate or view row missing then)."""
    with pytest.raises(NoSuchEntityError) as caught:
        read(iam.at(LONG_AGO))
    assert f"The account {A} did not exist yet. {BEFORE_THE_STORE}" == caught.value.message


def test_a_read_after_the_store_existed_names_its_position(iam: IdentityStore):
    iam.create_user(UserName="alice")
    position = iam.projector.catch_up()
    iam.create_user(UserName="bob")
    past = iam.at(position)
    with pytest.raises(NoSuchEntityError) as caught:
        past.get_user(UserName="bob")
    expected = f"The user with name bob cannot be found. As of {past.time.isoformat()} (position {position})."
    assert expected == caught.value.message
    assert "bob" == iam.get_user(UserName="bob")["User"]["UserName"]  # a read of now says nothing of a moment


def test_the_command_line_error_names_the_moment(iam: IdentityStore, store_url: str, capsys):
    iam.create_user(UserName="alice")
    before = run(capsys, "iam", "get-user", "--user-name", "alice", "--at", LONG_AGO, "--db", store_url)
    assert 254 == before.exit_code
    assert (
        "An error occurred (NoSuchEntity) when calling the GetUser operation: The user with name alice cannot be "
        f"found. {BEFORE_THE_STORE}"
    ) in before.stderr
    summary = run(capsys, "iam", "get-account-summary", "--at", LONG_AGO, "--db", store_url)
    assert 254 == summary.exit_code
    assert f"The account {A} did not exist yet. {BEFORE_THE_STORE}" in summary.stderr
