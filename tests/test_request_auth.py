"""SigV4-signed requests verified against the store's own keys: root, users and role sessions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from iamledger import AuditContext, IdentityStore
from iamledger.auth import HttpRequest
from iamledger.context import bound_audit_context
from iamledger.domain.errors import IdentityStoreError

A = "123456789012"
IAM_URL = "https://iam.amazonaws.com/"
STS_URL = "https://sts.amazonaws.com/"


def signed(url: str, body: bytes, key: str, secret: str, token: str | None = None, service: str = "iam") -> HttpRequest:
    request = AWSRequest(
        method="POST", url=url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    SigV4Auth(Credentials(key, secret, token), service, "us-east-1").add_auth(request)
    headers = [("Host", url.split("/")[2]), *request.headers.items()]
    return HttpRequest("POST", url, headers, body)


LIST_USERS = b"Action=ListUsers&Version=2010-05-08"
CALLER = b"Action=GetCallerIdentity&Version=2011-06-15"


@pytest.fixture
def keys(store: IdentityStore) -> dict:
    root = store.init(A)["AccessKey"]
    store.create_user(UserName="alice")
    user = store.create_access_key(UserName="alice")["AccessKey"]
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:user/alice"}, "Action": "sts:AssumeRole"}
    store.create_role(
        RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )
    ctx = AuditContext(actor=f"arn:aws:iam::{A}:user/alice", request_id=AuditContext.new_request_id())
    with bound_audit_context(ctx):
        session = store.assume_role(RoleArn=f"arn:aws:iam::{A}:role/r", RoleSessionName="web", DurationSeconds=900)
    return {"root": root, "user": user, "session": session["Credentials"]}


def test_requests_signed_with_root_user_and_session_keys_are_verified(store: IdentityStore, keys: dict):
    root = store.verify_request(
        signed(IAM_URL, LIST_USERS, keys["root"]["AccessKeyId"], keys["root"]["SecretAccessKey"])
    )
    assert (f"arn:aws:iam::{A}:root", A, "iam") == (root.owner_arn, root.account_id, root.service)

    user = keys["user"]
    verified = store.verify_request(signed(IAM_URL, LIST_USERS, user["AccessKeyId"], user["SecretAccessKey"]))
    assert f"arn:aws:iam::{A}:user/alice" == verified.owner_arn
    assert not verified.temporary

    session = keys["session"]
    request = signed(
        STS_URL, CALLER, session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"], service="sts"
    )
    caller = store.verify_request(request)
    assert f"arn:aws:sts::{A}:assumed-role/r/web" == caller.owner_arn
    assert caller.temporary


def test_a_verified_long_term_key_updates_its_last_use(store: IdentityStore, keys: dict):
    user = keys["user"]
    store.verify_request(signed(IAM_URL, LIST_USERS, user["AccessKeyId"], user["SecretAccessKey"]))
    last_used = store.get_access_key_last_used(AccessKeyId=user["AccessKeyId"])["AccessKeyLastUsed"]
    assert "iam" == last_used["ServiceName"]
    assert "us-east-1" == last_used["Region"]


@pytest.mark.parametrize("case", ["wrong secret", "inactive key", "deleted key", "expired session", "wrong token"])
def test_refused_requests_get_aws_errors_and_are_recorded(store: IdentityStore, keys: dict, monkeypatch, case: str):
    user, session = keys["user"], keys["session"]
    request = signed(IAM_URL, LIST_USERS, user["AccessKeyId"], user["SecretAccessKey"])
    expected = "InvalidClientTokenId"
    if case == "wrong secret":
        request = signed(IAM_URL, LIST_USERS, user["AccessKeyId"], "x" * 40)
        expected = "SignatureDoesNotMatch"
    elif case == "inactive key":
        store.update_access_key(UserName="alice", AccessKeyId=user["AccessKeyId"], Status="Inactive")
    elif case == "deleted key":
        store.delete_access_key(UserName="alice", AccessKeyId=user["AccessKeyId"])
    elif case == "expired session":
        request = signed(
            STS_URL, CALLER, session["AccessKeyId"], session["SecretAccessKey"], session["SessionToken"], "sts"
        )
        later = datetime.now(UTC) + timedelta(seconds=901)
        monkeypatch.setattr(store, "clock", lambda: later)
        monkeypatch.setattr("iamledger.auth.sigv4._check_time", lambda info, now: None)  # only the expiry is tested
        expected = "ExpiredToken"
    elif case == "wrong token":
        request = signed(STS_URL, CALLER, session["AccessKeyId"], session["SecretAccessKey"], "forged", "sts")
    with pytest.raises(IdentityStoreError) as caught:
        store.verify_request(request)
    assert expected == caught.value.code
    assert 403 == caught.value.http_status
    (incident,) = store.security_log.incidents()
    assert ("SignatureRejected", expected) == (incident.kind, incident.reason)
    assert user["SecretAccessKey"] not in caught.value.message
