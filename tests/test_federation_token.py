"""sts:GetFederationToken: federated-user sessions whose permissions are the issuing user's narrowed by the session
policies; on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.errors import AccessDeniedError, IdentityStoreError
from tests.clirunner import run
from tests.shapes import assert_output_shape

A = "123456789012"
ALICE = f"arn:aws:iam::{A}:user/alice"


def doc(*actions: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


@contextmanager
def acting_as(actor: str, access_key_id: str | None = None) -> Iterator[None]:
    ctx = AuditContext(actor=actor, request_id=AuditContext.new_request_id(), access_key_id=access_key_id)
    with bound_audit_context(ctx):
        yield


@pytest.fixture
def alice(iam: IdentityStore) -> IdentityStore:
    iam.create_user(UserName="alice")
    iam.put_user_policy(
        UserName="alice",
        PolicyName="p",
        PolicyDocument=doc("sts:GetFederationToken", "cloudtrail:LookupEvents", "iam:ListUsers", "iam:GetUser"),
    )
    return iam


def test_the_token_names_the_federated_user(alice: IdentityStore) -> None:
    with acting_as(ALICE):
        result = alice.get_federation_token(Name="Bob", DurationSeconds=903, Policy=doc("cloudtrail:LookupEvents"))
    assert_output_shape("sts", "GetFederationToken", result)
    assert result["FederatedUser"] == {
        "FederatedUserId": f"{A}:Bob",
        "Arn": f"arn:aws:sts::{A}:federated-user/Bob",
    }
    credentials = result["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert 1 <= result["PackedPolicySize"] <= 100
    who = alice.authenticate_access_key(
        credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
    )
    assert who.owner_arn == f"arn:aws:sts::{A}:federated-user/Bob"
    key = credentials["AccessKeyId"]
    with acting_as(who.owner_arn, key):
        assert alice.get_caller_identity() == {
            "UserId": f"{A}:Bob",
            "Account": A,
            "Arn": f"arn:aws:sts::{A}:federated-user/Bob",
        }
        alice.lookup_events()  # allowed by alice's policy and by the session policy
        with pytest.raises(AccessDeniedError):
            alice.get_federation_token(Name="Again", Policy=doc("*"))


def test_the_session_policy_narrows_the_user(alice: IdentityStore) -> None:
    with acting_as(ALICE):
        result = alice.get_federation_token(Name="Bob", Policy=doc("s3:GetObject"))
    key = result["Credentials"]["AccessKeyId"]
    with acting_as(f"arn:aws:sts::{A}:federated-user/Bob", key), pytest.raises(AccessDeniedError):
        alice.lookup_events()  # alice may, the session policy does not allow it


def test_managed_session_policies_narrow_the_user(alice: IdentityStore) -> None:
    trail = alice.create_policy(PolicyName="trail", PolicyDocument=doc("cloudtrail:LookupEvents"))["Policy"]["Arn"]
    sessions = {}
    with acting_as(ALICE):
        for arn in (trail, "arn:aws:iam::aws:policy/IAMReadOnlyAccess"):
            sessions[arn] = alice.get_federation_token(Name="Bob", PolicyArns=[{"arn": arn}])["Credentials"]
    with acting_as(f"arn:aws:sts::{A}:federated-user/Bob", sessions[trail]["AccessKeyId"]):
        alice.lookup_events()  # allowed by alice's policy and by the managed session policy
    key = sessions["arn:aws:iam::aws:policy/IAMReadOnlyAccess"]["AccessKeyId"]
    with acting_as(f"arn:aws:sts::{A}:federated-user/Bob", key), pytest.raises(AccessDeniedError):
        alice.lookup_events()  # alice may, the managed session policy does not allow it


def test_without_a_session_policy_the_session_may_do_nothing(alice: IdentityStore) -> None:
    with acting_as(ALICE):
        result = alice.get_federation_token(Name="Bob")
    key = result["Credentials"]["AccessKeyId"]
    with acting_as(f"arn:aws:sts::{A}:federated-user/Bob", key), pytest.raises(AccessDeniedError):
        alice.lookup_events()


INVALID_TOKEN = "The security token included in the request is invalid"


@pytest.fixture
def wide(iam: IdentityStore) -> tuple[IdentityStore, dict[str, str]]:
    """User carol, allowed every IAM and STS action, and the credentials of her federated user Bob, whose session
    policy allows every IAM and STS action too."""
    iam.create_user(UserName="carol")
    iam.put_user_policy(UserName="carol", PolicyName="all", PolicyDocument=doc("iam:*", "sts:*"))
    iam.create_role(
        RoleName="ops",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"}],
            }
        ),
    )
    with acting_as(f"arn:aws:iam::{A}:user/carol"):
        credentials = iam.get_federation_token(Name="Bob", Policy=doc("iam:*", "sts:*"))["Credentials"]
    return iam, credentials


def test_federation_credentials_call_no_iam_and_of_sts_only_get_caller_identity(
    wide: tuple[IdentityStore, dict[str, str]],
) -> None:
    """AWS: credentials from GetFederationToken cannot call any IAM operation and no STS operation but
    GetCallerIdentity, whatever the session policy allows; each refusal is recorded, none changes anything."""
    iam, credentials = wide
    key = credentials["AccessKeyId"]
    bob = f"arn:aws:sts::{A}:federated-user/Bob"
    role = f"arn:aws:iam::{A}:role/ops"
    before = iam.recorder.max_notification_id()
    with acting_as(bob, key):
        for call in (lambda: iam.create_user(UserName="mallory"), iam.list_users, iam.get_account_summary):
            with pytest.raises(IdentityStoreError) as refused:
                call()
            assert ("InvalidClientTokenId", 403, INVALID_TOKEN) == (
                refused.value.code,
                refused.value.http_status,
                refused.value.message,
            )
        with pytest.raises(AccessDeniedError, match="operation: Cannot call GetSessionToken with session credentials$"):
            iam.get_session_token()
        with pytest.raises(
            AccessDeniedError, match="operation: Cannot call GetFederationToken with session credentials$"
        ):
            iam.get_federation_token(Name="Eve", Policy=doc("*"))
        with pytest.raises(AccessDeniedError) as assume:
            iam.assume_role(RoleArn=role, RoleSessionName="s1")
        assert f"User: {bob} is not authorized to perform: sts:AssumeRole on resource: {role}" == assume.value.message
        with pytest.raises(AccessDeniedError):
            iam.get_access_key_info(AccessKeyId=key)
        assert bob == iam.get_caller_identity()["Arn"]
    assert before == iam.recorder.max_notification_id()
    assert ["carol"] == [u["UserName"] for u in iam.list_users()["Users"]]
    incidents = [(i.action, i.error_code, i.actor) for i in iam.security_log.incidents()]
    assert [
        ("iam:CreateUser", "InvalidClientTokenId", bob),
        ("iam:ListUsers", "InvalidClientTokenId", bob),
        ("iam:GetAccountSummary", "InvalidClientTokenId", bob),
        ("sts:GetSessionToken", "AccessDenied", bob),
        ("sts:GetFederationToken", "AccessDenied", bob),
        ("sts:AssumeRole", "AccessDenied", bob),
        ("sts:GetAccessKeyInfo", "AccessDenied", bob),
    ] == incidents
    records = [json.loads(e["CloudTrailEvent"]) for e in iam.lookup_events()["Events"]]
    (create,) = [r for r in records if r["eventName"] == "CreateUser" and "errorCode" in r]
    assert ("InvalidClientTokenId", INVALID_TOKEN) == (create["errorCode"], create["errorMessage"])
    assert {"type": "FederatedUser", "arn": bob, "accessKeyId": key}.items() <= create["userIdentity"].items()
    (assumed,) = [r for r in records if r["eventName"] == "AssumeRole"]
    assert "AccessDenied" == assumed["errorCode"]


def test_federation_credentials_on_the_command_line(
    wide: tuple[IdentityStore, dict[str, str]],
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--profile`` with GetFederationToken credentials, and ``--as`` the federated user, refuse IAM alike."""
    _, credentials = wide
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        "[bob]\n"
        f"aws_access_key_id = {credentials['AccessKeyId']}\n"
        f"aws_secret_access_key = {credentials['SecretAccessKey']}\n"
        f"aws_session_token = {credentials['SessionToken']}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    bob = f"arn:aws:sts::{A}:federated-user/Bob"
    for who in (("--profile", "bob"), ("--as", bob)):
        refused = run(capsys, "--db", store_url, *who, "iam", "create-user", "--user-name", "mallory")
        assert 254 == refused.exit_code
        assert (
            f"An error occurred (InvalidClientTokenId) when calling the CreateUser operation: {INVALID_TOKEN}"
        ) in refused.stderr
        listed = run(capsys, "--db", store_url, *who, "iam", "list-users")
        assert "(InvalidClientTokenId) when calling the ListUsers operation" in listed.stderr
        token = run(capsys, "--db", store_url, *who, "sts", "get-session-token")
        assert "(AccessDenied) when calling the GetSessionToken operation: Cannot call GetSessionToken" in token.stderr
        identity = run(capsys, "--db", store_url, *who, "sts", "get-caller-identity")
        assert 0 == identity.exit_code, identity.stderr
        assert bob == json.loads(identity.stdout)["Arn"]
    users = run(capsys, "--db", store_url, "iam", "list-users")
    assert ["carol"] == [u["UserName"] for u in json.loads(users.stdout)["Users"]]


def test_the_caller_needs_permission_and_the_policy_is_checked(iam: IdentityStore) -> None:
    iam.create_user(UserName="carol")
    with acting_as(f"arn:aws:iam::{A}:user/carol"), pytest.raises(AccessDeniedError, match="sts:GetFederationToken"):
        iam.get_federation_token(Name="Bob")
    with pytest.raises(IdentityStoreError, match="less than or equal to 2048") as caught:
        iam.get_federation_token(Name="Bob", Policy=json.dumps({"Statement": [{"Sid": "x" * 2100}]}))
    assert caught.value.code == "ValidationError"
    # The root user's tokens last at most an hour.
    result = iam.get_federation_token(Name="Root", DurationSeconds=7200, Policy=doc("iam:ListUsers"))
    assert (result["Credentials"]["Expiration"] - iam.clock()).total_seconds() <= 3600


def test_the_trail_records_the_token(alice: IdentityStore) -> None:
    with acting_as(ALICE):
        alice.get_federation_token(Name="Bob", Policy=doc("iam:ListUsers"))
    records = [json.loads(e["CloudTrailEvent"]) for e in alice.lookup_events()["Events"]]
    record = next(r for r in records if r["eventName"] == "GetFederationToken")
    assert record["eventSource"] == "sts.amazonaws.com"
    assert record["requestParameters"]["name"] == "Bob"
    assert record["responseElements"]["federatedUser"]["arn"] == f"arn:aws:sts::{A}:federated-user/Bob"
