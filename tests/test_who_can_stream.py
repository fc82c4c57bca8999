"""who-can's answer streamed: the library's parts, the CLI's ``--output json`` written a principal at a time (the
same text as the whole answer rendered) and ``--output jsonl``; console passwords as of the moment asked about."""

from __future__ import annotations

import json

import pytest

from iamledger import IdentityStore
from iamledger.cli.output import plain, render
from iamledger.domain.errors import ValidationError
from tests.clirunner import run
from tests.conftest import ACCOUNT_ID

S3_READ = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)
ASSUME = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
)


def _account(store: IdentityStore) -> None:
    store.init(ACCOUNT_ID)
    store.create_group(GroupName="readers")
    store.put_group_policy(GroupName="readers", PolicyName="read", PolicyDocument=S3_READ)
    for name in ("ann", "bob", "cy"):
        store.create_user(UserName=name)
        store.add_user_to_group(UserName=name, GroupName="readers")
    store.create_user(UserName="dee")
    store.put_user_policy(UserName="dee", PolicyName="assume", PolicyDocument=ASSUME)
    store.create_role(RoleName="reader", AssumeRolePolicyDocument=TRUST)
    store.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=S3_READ)


def test_the_stream_is_the_answer_part_by_part(store_url):
    with IdentityStore.open(store_url) as store:
        _account(store)
        head = store.projector.catch_up()
        whole = store.who_can(ActionName="s3:GetObject", ResourceArn="arn:aws:s3:::b/k", At=head)
        parts = store.stream_who_can(ActionName="s3:GetObject", ResourceArn="arn:aws:s3:::b/k", At=head)
        header = next(parts)
        assert header == {k: v for k, v in whole.items() if k != "Principals"}
        assert list(parts) == whole["Principals"]
        kinds = [(p["Type"], p["Arn"]) for p in whole["Principals"]]
        assert kinds == sorted(kinds)
        # dee reaches the role, and nothing else
        dee = next(p for p in whole["Principals"] if p["Arn"].endswith(":user/dee"))
        assert [path["Via"] for path in dee["Paths"]] == ["role"]


def test_a_bad_question_fails_before_the_stream_is_read(store_url):
    with IdentityStore.open(store_url) as store:
        _account(store)
        with pytest.raises(ValidationError):
            store.stream_who_can(ActionName="s3:GetObject", At="not a time")


def test_cli_json_is_written_as_the_whole_answer_would_render(store_url, capsys):
    with IdentityStore.open(store_url) as store:
        _account(store)
        at = f"position:{store.projector.catch_up()}"
        whole = store.who_can(ActionName="s3:GetObject", At=at)
    result = run(capsys, "--db", store_url, "audit", "who-can", "--action-name", "s3:GetObject", "--at", at)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render(plain(whole), "json")
    assert len(json.loads(result.stdout)["Principals"]) == 5  # ann, bob, cy, the role, dee through it


def test_cli_json_of_an_empty_answer(store_url, capsys):
    with IdentityStore.open(store_url) as store:
        _account(store)
        at = f"position:{store.projector.catch_up()}"
        whole = store.who_can(ActionName="ec2:RunInstances", At=at)
    assert whole["Principals"] == []
    result = run(capsys, "--db", store_url, "audit", "who-can", "--action-name", "ec2:RunInstances", "--at", at)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == render(plain(whole), "json")


def test_cli_jsonl_prints_a_principal_per_line(store_url, capsys):
    with IdentityStore.open(store_url) as store:
        _account(store)
        whole = store.who_can(ActionName="s3:GetObject")
    result = run(capsys, "--db", store_url, "--output", "jsonl", "audit", "who-can", "--action-name", "s3:GetObject")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["Arn"] for line in lines] == [p["Arn"] for p in whole["Principals"]]
    assert "As of position" in result.stderr
    queried = run(
        capsys, "--db", store_url, "--query", "Principals[].Arn", "audit", "who-can", "--action-name", "s3:GetObject"
    )
    assert json.loads(queried.stdout) == [p["Arn"] for p in whole["Principals"]]


def test_console_password_is_as_of_the_moment(store_url):
    with IdentityStore.open(store_url) as store:
        _account(store)
        before = store.projector.catch_up()
        store.create_login_profile(UserName="ann", Password="Correct-Horse-9-battery!")
        during = store.projector.catch_up()
        store.delete_login_profile(UserName="ann")
        after = store.projector.catch_up()

        def password(at: int) -> bool:
            answer = store.who_can(ActionName="s3:GetObject", At=at)
            ann = next(p for p in answer["Principals"] if p["Arn"].endswith(":user/ann"))
            return bool(ann["Credentials"]["ConsolePassword"])

        assert [password(before), password(during), password(after)] == [False, True, False]
