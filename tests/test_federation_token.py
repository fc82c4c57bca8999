"""sts:GetFederationToken: federated-user sessions whose permissions are the issuing user's narrowed by the session
policies; on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.errors import AccessDeniedError, IdentityStoreError
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
        UserName="alice", PolicyName="p", PolicyDocument=doc("sts:GetFederationToken", "iam:ListUsers", "iam:GetUser")
    )
    return iam


def test_the_token_names_the_federated_user(alice: IdentityStore) -> None:
    with acting_as(ALICE):
        result = alice.get_federation_token(Name="Bob", DurationSeconds=903, Policy=doc("iam:ListUsers"))
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
        alice.list_users()  # allowed by alice's policy and by the session policy
        with pytest.raises(AccessDeniedError):
            alice.get_user(UserName="alice")  # alice may, the session policy does not allow it
        with pytest.raises(AccessDeniedError):
            alice.create_user(UserName="mallory")  # neither allows it
        with pytest.raises(AccessDeniedError):
            alice.get_federation_token(Name="Again", Policy=doc("*"))


def test_without_a_session_policy_the_session_may_do_nothing(alice: IdentityStore) -> None:
    with acting_as(ALICE):
        result = alice.get_federation_token(Name="Bob")
    key = result["Credentials"]["AccessKeyId"]
    with acting_as(f"arn:aws:sts::{A}:federated-user/Bob", key), pytest.raises(AccessDeniedError):
        alice.list_users()


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
