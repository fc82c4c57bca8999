"""The IAM/STS endpoint, driven by real boto3 clients and the aws CLI over HTTP on a loopback port.

The server runs in a thread of the test (uvicorn over the Starlette app) on the store the ``store_url`` fixture names,
SQLite and PostgreSQL alike; ``iamledger serve --ephemeral`` is started as a real subprocess.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.parsers
import botocore.serialize
import pytest
import uvicorn
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from iamledger import IdentityStore
from iamledger.awsmodel import operation_model
from iamledger.domain.mfa import time_step, totp
from iamledger.server import EphemeralStores, StoreHolder, create_app, open_for_serving
from iamledger.server.protocol import parse_parameters, serialize_error, serialize_result

ACCOUNT = "123456789012"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
VENV_BIN = Path(sys.executable).parent


def policy(*actions: str, resource: str = "*") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]}
    )


def trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
    )


@contextmanager
def serving(holder: StoreHolder) -> Iterator[str]:
    """Run the endpoint over ``holder`` in a thread on a free loopback port; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    # as `iamledger serve` runs it: uvicorn must not believe forwarding headers (the application decides)
    config = uvicorn.Config(create_app(holder), log_level="warning", lifespan="on", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the endpoint did not start"
        assert time.monotonic() < deadline, "the endpoint took too long to start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        listener.close()


@dataclass
class Endpoint:
    url: str
    key_id: str
    secret: str
    store_url: str

    def client(self, service: str, key_id: str | None = None, secret: str | None = None, token: str | None = None):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=key_id or self.key_id,
            aws_secret_access_key=secret or self.secret,
            aws_session_token=token,
        )


@pytest.fixture
def endpoint(store_url: str) -> Iterator[Endpoint]:
    with IdentityStore.open(store_url) as store:
        key = store.init(ACCOUNT)["AccessKey"]
    with serving(StoreHolder(lambda: open_for_serving(store_url))) as url:
        yield Endpoint(url, key["AccessKeyId"], key["SecretAccessKey"], store_url)


def error_of(call, *args, **kwargs) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


# --- scenarios with boto3 -------------------------------------------------------------------------------------------


def test_users_groups_and_policies_with_paginators(endpoint: Endpoint):
    iam = endpoint.client("iam")
    created = iam.create_user(UserName="alice", Path="/team/", Tags=[{"Key": "team", "Value": "blue"}])["User"]
    assert created["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/alice"
    assert created["UserId"].startswith("AIDA")
    assert created["Tags"] == [{"Key": "team", "Value": "blue"}]
    assert isinstance(created["CreateDate"], datetime)
    for i in range(6):
        iam.create_user(UserName=f"user{i}")
    assert iam.get_user(UserName="ALICE")["User"]["UserName"] == "alice"  # IAM names are case-insensitive

    pages = list(iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 3}))
    assert len(pages) == 3
    assert [page["IsTruncated"] for page in pages] == [True, True, False]
    names = [user["UserName"] for page in pages for user in page["Users"]]
    assert sorted(names) == sorted(["alice", *(f"user{i}" for i in range(6))])
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]] == ["alice"]

    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    group = iam.get_group(GroupName="devs")
    assert group["Group"]["GroupName"] == "devs"
    assert [u["UserName"] for u in group["Users"]] == ["alice"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice")["Groups"]] == ["devs"]

    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    iam.put_user_policy(UserName="alice", PolicyName="read", PolicyDocument=json.dumps(document))
    assert iam.get_user_policy(UserName="alice", PolicyName="read")["PolicyDocument"] == document  # decoded by boto3
    assert iam.list_user_policies(UserName="alice")["PolicyNames"] == ["read"]

    managed = iam.create_policy(PolicyName="list", PolicyDocument=policy("iam:List*"))["Policy"]
    assert managed["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/list"
    assert managed["IsAttachable"] is True
    iam.attach_group_policy(GroupName="devs", PolicyArn=managed["Arn"])
    attached = iam.list_attached_group_policies(GroupName="devs")["AttachedPolicies"]
    assert attached == [{"PolicyName": "list", "PolicyArn": managed["Arn"]}]
    version = iam.get_policy_version(PolicyArn=managed["Arn"], VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(policy("iam:List*"))
    assert version["IsDefaultVersion"] is True

    assert error_of(iam.create_user, UserName="Alice")[:2] == ("EntityAlreadyExists", 409)
    assert error_of(iam.get_user, UserName="nobody") == (
        "NoSuchEntity",
        404,
        "The user with name nobody cannot be found.",
    )
    assert error_of(iam.delete_group, GroupName="devs")[:2] == ("DeleteConflict", 409)
    code, status, message = error_of(iam.create_user, UserName="bad name")
    assert (code, status) == ("ValidationError", 400)
    assert "failed to satisfy constraint" in message
    assert error_of(iam.put_user_policy, UserName="alice", PolicyName="x", PolicyDocument="{nope")[:2] == (
        "MalformedPolicyDocument",
        400,
    )


def test_calls_as_a_user_are_authorized_by_its_policies(endpoint: Endpoint):
    iam = endpoint.client("iam")
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    assert key["Status"] == "Active"
    bob = endpoint.client("iam", key["AccessKeyId"], key["SecretAccessKey"])

    code, status, message = error_of(bob.list_users)
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:ListUsers")

    iam.put_user_policy(UserName="bob", PolicyName="read", PolicyDocument=policy("iam:ListUsers", "iam:GetUser"))
    assert {u["UserName"] for u in bob.list_users()["Users"]} == {"bob"}
    assert error_of(bob.create_user, UserName="mallory")[:2] == ("AccessDenied", 403)

    identity = endpoint.client("sts", key["AccessKeyId"], key["SecretAccessKey"]).get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/bob"  # needs no permission
    assert identity["Account"] == ACCOUNT

    last_used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert last_used["ServiceName"] in {"iam", "sts"}

    iam.update_access_key(UserName="bob", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert error_of(bob.get_user, UserName="bob")[:2] == ("InvalidClientTokenId", 403)


def test_assume_role_then_call_as_the_role_session(endpoint: Endpoint):
    iam = endpoint.client("iam")
    iam.create_user(UserName="carol")
    key = iam.create_access_key(UserName="carol")["AccessKey"]
    role = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:user/carol"))
    assert role["Role"]["AssumeRolePolicyDocument"] == json.loads(trust(f"arn:aws:iam::{ACCOUNT}:user/carol"))
    iam.put_role_policy(RoleName="reader", PolicyName="list", PolicyDocument=policy("iam:ListRoles", "iam:ListUsers"))

    sts = endpoint.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    assumed = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="nightly", DurationSeconds=900)
    credentials = assumed["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert isinstance(credentials["Expiration"], datetime)
    assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/nightly"

    session = (credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    as_role = endpoint.client("iam", *session)
    assert [r["RoleName"] for r in as_role.list_roles()["Roles"]] == ["reader"]
    code, status, message = error_of(as_role.create_user, UserName="mallory")
    assert (code, status) == ("AccessDenied", 403)
    assert "assumed-role/reader/nightly is not authorized to perform: iam:CreateUser" in message
    assert endpoint.client("sts", *session).get_caller_identity()["Arn"] == assumed["AssumedRoleUser"]["Arn"]

    # The session token is part of the credentials: without it, or with another, the key is refused.
    without_token = endpoint.client("iam", credentials["AccessKeyId"], credentials["SecretAccessKey"])
    assert error_of(without_token.list_roles)[:2] == ("InvalidClientTokenId", 403)

    # AWS, unlike moto, refuses to let the root user assume a role, and a role that does not exist.
    root_sts = endpoint.client("sts")
    assert error_of(root_sts.assume_role, RoleArn=role["Role"]["Arn"], RoleSessionName="xx")[:2] == (
        "AccessDenied",
        403,
    )


INVALID_TOKEN = ("InvalidClientTokenId", 403, "The security token included in the request is invalid")


def session_of(response: dict[str, Any]) -> tuple[str, str, str]:
    credentials = response["Credentials"]
    return credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]


def test_temporary_credentials_call_only_what_their_kind_may(endpoint: Endpoint):
    """AWS limits temporary credentials by how they were obtained, whatever their policies allow: GetSessionToken's
    call IAM only with MFA, and of STS only AssumeRole and GetCallerIdentity; GetFederationToken's call no IAM
    operation, and of STS only GetCallerIdentity. A refusal changes nothing and is in the trail with its code."""
    iam = endpoint.client("iam")
    iam.create_user(UserName="dave")
    iam.put_user_policy(UserName="dave", PolicyName="all", PolicyDocument=policy("iam:*", "sts:*"))
    key = iam.create_access_key(UserName="dave")["AccessKey"]
    dave = f"arn:aws:iam::{ACCOUNT}:user/dave"
    role_arn = iam.create_role(RoleName="ops", AssumeRolePolicyDocument=trust(dave))["Role"]["Arn"]
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="dave")["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    step = time_step(datetime.now(UTC))
    iam.enable_mfa_device(
        UserName="dave",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp(seed, step - 1),
        AuthenticationCode2=totp(seed, step),
    )
    dave_sts = endpoint.client("sts", key["AccessKeyId"], key["SecretAccessKey"])
    plain = session_of(dave_sts.get_session_token(DurationSeconds=900))
    with_mfa = session_of(
        dave_sts.get_session_token(
            DurationSeconds=900, SerialNumber=device["SerialNumber"], TokenCode=totp(seed, step + 1)
        )
    )
    wide = policy("iam:*", "sts:*")
    federated = session_of(dave_sts.get_federation_token(Name="Bob", Policy=wide, DurationSeconds=900))
    with IdentityStore.open(endpoint.store_url) as store:
        before = store.recorder.max_notification_id()

    session_denied = ("AccessDenied", 403, "Cannot call GetSessionToken with session credentials")
    federation_denied = ("AccessDenied", 403, "Cannot call GetFederationToken with session credentials")
    for session in (plain, federated):
        assert error_of(endpoint.client("iam", *session).create_user, UserName="mallory") == INVALID_TOKEN
        assert error_of(endpoint.client("iam", *session).list_users) == INVALID_TOKEN
    for session in (plain, with_mfa, federated):
        sts = endpoint.client("sts", *session)
        assert error_of(sts.get_session_token) == session_denied
        assert error_of(sts.get_federation_token, Name="Eve", Policy=wide) == federation_denied
        assert error_of(sts.get_access_key_info, AccessKeyId=key["AccessKeyId"])[:2] == ("AccessDenied", 403)
    federated_sts = endpoint.client("sts", *federated)
    assert error_of(federated_sts.assume_role, RoleArn=role_arn, RoleSessionName="xx") == (
        "AccessDenied",
        403,
        (
            f"User: arn:aws:sts::{ACCOUNT}:federated-user/Bob is not authorized to perform: sts:AssumeRole on "
            f"resource: {role_arn}"
        ),
    )
    assert federated_sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:federated-user/Bob"
    with IdentityStore.open(endpoint.store_url) as store:
        assert before == store.recorder.max_notification_id()  # the refusals changed nothing
        records = [json.loads(e["CloudTrailEvent"]) for e in store.lookup_events()["Events"]]
    refused = {(r["eventName"], r["userIdentity"].get("accessKeyId"), r.get("errorCode")) for r in records}
    assert {
        ("CreateUser", plain[0], "InvalidClientTokenId"),
        ("ListUsers", plain[0], "InvalidClientTokenId"),
        ("GetSessionToken", plain[0], "AccessDenied"),
        ("GetFederationToken", with_mfa[0], "AccessDenied"),
        ("CreateUser", federated[0], "InvalidClientTokenId"),
        ("AssumeRole", federated[0], "AccessDenied"),
    } <= refused
    create = next(r for r in records if r["eventName"] == "CreateUser" and r.get("errorCode"))
    assert create["errorMessage"] == INVALID_TOKEN[2]
    assert create["eventSource"] == "iam.amazonaws.com"

    # What each kind may call: GetCallerIdentity always, AssumeRole with session-token credentials, and IAM with
    # MFA (as far as the user's policies allow).
    for session in (plain, with_mfa):
        sts = endpoint.client("sts", *session)
        assert sts.get_caller_identity()["Arn"] == dave
        assumed = sts.assume_role(RoleArn=role_arn, RoleSessionName="ok", DurationSeconds=900)
        assert assumed["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/ok"
    mfa_iam = endpoint.client("iam", *with_mfa)
    assert mfa_iam.create_user(UserName="made-with-mfa")["User"]["UserName"] == "made-with-mfa"
    assert "made-with-mfa" in {u["UserName"] for u in mfa_iam.list_users()["Users"]}
    assert "mallory" not in {u["UserName"] for u in iam.list_users()["Users"]}

    # The MFA code is checked: a wrong code, or a device that is not the caller's, gets no session.
    assert error_of(dave_sts.get_session_token, SerialNumber=device["SerialNumber"], TokenCode="000000") == (
        "AccessDenied",
        403,
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    )
    assert error_of(
        dave_sts.get_session_token, SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/nobody", TokenCode="123456"
    ) == (
        "AccessDenied",
        403,
        (
            "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is "
            "valid and associated with this user."
        ),
    )


def test_tampered_and_unknown_credentials_are_refused(endpoint: Endpoint):
    wrong_secret = endpoint.client("iam", endpoint.key_id, "x" * 40)
    code, status, message = error_of(wrong_secret.list_users)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert "signature we calculated does not match" in message
    unknown = endpoint.client("sts", "AKIAIOSFODNN7EXAMPLE", "x" * 40)
    assert error_of(unknown.get_caller_identity) == (
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    )

    # A body changed after signing no longer matches the signature.
    request = signed_request(endpoint, "iam", {"Action": "ListUsers", "Version": "2010-05-08"})
    request.body = b"Action=CreateUser&Version=2010-05-08&UserName=eve"
    request.headers["Content-Length"] = str(len(request.body))  # a well-framed request, only its body tampered with
    status, body = send(request)
    assert status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in body

    # No signature at all.
    unsigned = Raw(
        "POST",
        endpoint.url + "/",
        b"Action=ListUsers&Version=2010-05-08",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    status, body = send(unsigned)
    assert status == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in body
    assert b'xmlns="https://iam.amazonaws.com/doc/2010-05-08/"' in body

    with IdentityStore.open(endpoint.store_url) as store:
        store.projector.catch_up()
        notifications = store.security_log.recorder.select_notifications(start=1, limit=1000)
        incidents = [store.security_log.mapper.to_domain_event(n) for n in notifications]
    rejected = [i for i in incidents if getattr(i, "reason", None) == "SignatureDoesNotMatch"]
    assert rejected
    assert all(i.source_ip == "127.0.0.1" for i in rejected)
    assert any("Boto3" in (i.user_agent or "") for i in rejected)


@dataclass
class Raw:
    """An HTTP request to send as is."""

    method: str
    url: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def signed_request(endpoint: Endpoint, service: str, fields: dict[str, str], *, method: str = "POST") -> Raw:
    body = urllib.parse.urlencode(fields)
    url = endpoint.url + "/" + ("?" + body if method == "GET" else "")
    aws = AWSRequest(
        method=method,
        url=url,
        data=body.encode() if method == "POST" else b"",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"} if method == "POST" else {},
    )
    SigV4Auth(Credentials(endpoint.key_id, endpoint.secret), service, "us-east-1").add_auth(aws)
    prepared = aws.prepare()
    return Raw(method, prepared.url, prepared.body or b"", dict(prepared.headers))


def send(request: Raw) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(request.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(request.method, path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_a_write_calls_events_are_checkpointed_before_the_next_request(endpoint: Endpoint):
    # The endpoint leaves a request's checkpoints (the hash chain) to the catch-up it runs once the response is
    # handed over; requests are handled one at a time, so the next one finds them written.
    iam = endpoint.client("iam")
    iam.create_user(UserName="chained")
    iam.tag_user(UserName="chained", Tags=[{"Key": "k", "Value": "v"}])
    iam.get_user(UserName="chained")
    with IdentityStore.open(endpoint.store_url) as store:
        report = store.verify_log(extend=False)
    assert report.verified
    assert (report.position, report.unverified_tail) == (report.log_head, 0)


def test_other_methods_and_paths_are_not_the_query_api(endpoint: Endpoint):
    assert send(Raw("PUT", endpoint.url + "/", b"Action=ListUsers"))[0] == 405
    assert send(Raw("POST", endpoint.url + "/elsewhere", b"Action=ListUsers"))[0] == 404


def test_routing_by_signed_service_and_action(endpoint: Endpoint):
    status, body = send(signed_request(endpoint, "iam", {"Action": "FlyToTheMoon", "Version": "2010-05-08"}))
    assert status == 400
    assert b"<Type>Sender</Type><Code>InvalidAction</Code>" in body
    assert re.search(rb"<RequestId>[0-9a-f-]{36}</RequestId>", body)

    # An STS action signed for IAM is not an IAM action.
    status, body = send(signed_request(endpoint, "iam", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}))
    assert (status, b"<Code>InvalidAction</Code>" in body) == (400, True)
    status, body = send(signed_request(endpoint, "sts", {"Action": "GetCallerIdentity", "Version": "2011-06-15"}))
    assert status == 200
    assert b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' in body

    # GET with the fields in the query string, as the Query protocol allows.
    status, body = send(signed_request(endpoint, "iam", {"Action": "ListUsers", "Version": "2010-05-08"}, method="GET"))
    assert status == 200
    assert body.startswith(b'<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult>')

    # An operation AWS has and the store does not implement yet.
    status, body = send(
        signed_request(endpoint, "iam", {"Action": "GenerateServiceLastAccessedDetails", "Version": "2010-05-08"})
    )
    assert status == 501
    assert b"<Code>NotImplemented</Code>" in body


def test_writes_are_recorded_with_the_request_s_audit_context(endpoint: Endpoint):
    iam = endpoint.client("iam")
    response = iam.create_user(UserName="dave")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == request_id
    with IdentityStore.open(endpoint.store_url) as store:
        notifications = store.recorder.select_notifications(start=1, limit=1000)
        events = [store.mapper.to_domain_event(n) for n in notifications]
    (created,) = [
        e for e in events if getattr(e, "request_id", None) == request_id and type(e).__qualname__ == "User.Created"
    ]
    assert created.actor == f"arn:aws:iam::{ACCOUNT}:root"
    assert created.access_key_id == endpoint.key_id
    assert created.source_ip == "127.0.0.1"
    assert created.user_agent.startswith("Boto3/")


def test_writes_of_another_process_apply_from_the_next_request(endpoint: Endpoint):
    """The endpoint catches its views up once per request: a write made elsewhere on the same store (another process,
    here a second store object) is seen by the next request, a permission change included; and the endpoint's own
    writes are seen by its next reads, also when the views were caught up after the response was sent."""
    iam = endpoint.client("iam")
    iam.create_user(UserName="frank")
    key = iam.create_access_key(UserName="frank")["AccessKey"]
    frank = endpoint.client("iam", key["AccessKeyId"], key["SecretAccessKey"])
    assert error_of(frank.list_users)[:2] == ("AccessDenied", 403)
    with IdentityStore.open(endpoint.store_url, create=False) as other:
        for round_ in range(3):
            other.put_user_policy(UserName="frank", PolicyName="list", PolicyDocument=policy("iam:ListUsers"))
            assert "frank" in {u["UserName"] for u in frank.list_users()["Users"]}
            other.delete_user_policy(UserName="frank", PolicyName="list")
            assert error_of(frank.list_users)[:2] == ("AccessDenied", 403)
            other.create_user(UserName=f"made-elsewhere-{round_}")
            assert iam.get_user(UserName=f"made-elsewhere-{round_}")["User"]["UserName"] == f"made-elsewhere-{round_}"
            iam.delete_user(UserName=f"made-elsewhere-{round_}")
            assert error_of(iam.get_user, UserName=f"made-elsewhere-{round_}")[:2] == ("NoSuchEntity", 404)
        other.projector.catch_up()
        assert other.projector.verify_views()["Consistent"]


# --- the aws CLI ----------------------------------------------------------------------------------------------------


def aws(endpoint: Endpoint, *args: str, key_id: str | None = None, secret: str | None = None):
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key_id or endpoint.key_id,
        "AWS_SECRET_ACCESS_KEY": secret or endpoint.secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    return subprocess.run(
        [str(VENV_BIN / "aws"), *args, "--endpoint-url", endpoint.url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_aws_cli_works_unchanged(endpoint: Endpoint):
    made = aws(endpoint, "iam", "create-user", "--user-name", "erin", "--tags", "Key=k,Value=v")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["User"]["UserName"] == "erin"
    listed = aws(endpoint, "iam", "list-users")
    assert listed.returncode == 0, listed.stderr
    assert [u["UserName"] for u in json.loads(listed.stdout)["Users"]] == ["erin"]
    identity = aws(endpoint, "sts", "get-caller-identity")
    assert json.loads(identity.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    missing = aws(endpoint, "iam", "get-user", "--user-name", "nobody")
    assert missing.returncode in {254, 255}  # aws CLI v1 exits 255 on service errors, v2 254
    assert "An error occurred (NoSuchEntity) when calling the GetUser operation" in missing.stderr
    refused = aws(endpoint, "iam", "list-users", secret="y" * 40)
    assert refused.returncode in {254, 255}
    assert "(SignatureDoesNotMatch)" in refused.stderr


# --- ephemeral mode -------------------------------------------------------------------------------------------------


def test_ephemeral_store_uses_the_given_root_credentials_and_resets():
    stores = EphemeralStores(access_key_id="FOOBARKEY", secret_access_key="FOOBARSECRET")
    with serving(stores.holder()) as url:
        endpoint = Endpoint(url, "FOOBARKEY", "FOOBARSECRET", stores.store_url)
        iam = endpoint.client("iam")
        iam.create_user(UserName="temp")
        assert endpoint.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
        assert error_of(endpoint.client("iam", "FOOBARKEY", "NOTTHESECRET").list_users)[0] == "SignatureDoesNotMatch"
        keys = iam.list_access_keys()["AccessKeyMetadata"]  # the root's own keys
        assert [k["AccessKeyId"] for k in keys] == ["FOOBARKEY"]

        status, body = send(Raw("POST", url + "/moto-api/reset"))
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        assert iam.list_users()["Users"] == []  # a fresh store, same credentials
        status, _ = send(Raw("POST", url + "/moto-api/reset-auth", b"{}"))
        assert status == 200
    assert not stores.directory.exists()


@pytest.fixture
def ephemeral() -> Iterator[tuple[Endpoint, StoreHolder]]:
    """An ephemeral endpoint (``serve --ephemeral``: this process is its store's only writer) and its holder."""
    stores = EphemeralStores(access_key_id="AKIAEPHEMERALROOTKEY", secret_access_key="FOOBARSECRET")
    holder = stores.holder()
    with serving(holder) as url:
        yield Endpoint(url, "AKIAEPHEMERALROOTKEY", "FOOBARSECRET", stores.store_url), holder


@pytest.mark.parametrize(
    "scenario",
    [
        test_users_groups_and_policies_with_paginators,
        test_calls_as_a_user_are_authorized_by_its_policies,
        test_assume_role_then_call_as_the_role_session,
        test_tampered_and_unknown_credentials_are_refused,
        test_a_write_calls_events_are_checkpointed_before_the_next_request,
    ],
    ids=lambda scenario: scenario.__name__.removeprefix("test_"),
)
def test_scenarios_on_an_ephemeral_store(ephemeral: tuple[Endpoint, StoreHolder], scenario: Any):
    # The only writer applies what it saves to the views from memory, trusts its cached aggregates and remembers key
    # rows across its own writes: the answers are the same, and the views equal views rebuilt from the log.
    endpoint, holder = ephemeral
    scenario(endpoint)
    iam = endpoint.client("iam")
    root_use = iam.get_access_key_last_used(AccessKeyId="AKIAEPHEMERALROOTKEY")["AccessKeyLastUsed"]
    assert (root_use["ServiceName"], root_use["Region"]) == ("iam", "us-east-1")
    store = holder.current()
    assert store.projector.verify_views()["Consistent"]
    report = store.verify_log(extend=False)
    assert report.verified
    assert (report.position, report.unverified_tail) == (report.log_head, 0)


def _trail_follows_the_endpoints_writes(endpoint: Endpoint, store: IdentityStore) -> None:
    """Writes through ``endpoint``, then one read (handled once the last write's catch-up is done): the trail of
    ``store`` is at the log's head, with no audit question asked."""
    iam = endpoint.client("iam")
    for name in ("ann", "bob"):
        iam.create_user(UserName=name)
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="ann")
    iam.get_user(UserName="ann")
    # (a read may record the use of its key, an event a catch-up follows once its response is sent: wait for it)
    deadline = time.monotonic() + 10
    while store.trail.positions()[0] != int(store.recorder.max_notification_id() or 0):
        assert time.monotonic() < deadline, "the trail did not follow the endpoint's writes"
        time.sleep(0.02)
    assert store.trail.status()["Records"] >= 4  # the four writes, each a record
    assert store.trail.verify()["Consistent"]


def test_the_trail_follows_the_endpoints_writes(endpoint: Endpoint):
    with IdentityStore.open(endpoint.store_url, create=False) as store:
        before = store.trail.positions()[0]
        _trail_follows_the_endpoints_writes(endpoint, store)
        assert store.trail.positions()[0] > before


def test_the_trail_follows_the_only_writers_writes(ephemeral: tuple[Endpoint, StoreHolder]):
    endpoint, holder = ephemeral
    _trail_follows_the_endpoints_writes(endpoint, holder.current())


@pytest.mark.slow
def test_iamledger_serve_ephemeral_prints_its_url_and_generated_credentials(tmp_path: Path):
    process = subprocess.Popen(
        [str(VENV_BIN / "iamledger"), "serve", "--ephemeral", "--port", "0", "--account-id", "210987654321"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        url = re.search(r"(http://127\.0\.0\.1:\d+)/", lines[0])
        key_id = re.search(r"root access key id: (\S+)", lines[1])
        secret = re.search(r"root secret access key: (\S+)", lines[2])
        assert url and key_id and secret, lines
        endpoint = Endpoint(url.group(1), key_id.group(1), secret.group(1), "")
        deadline = time.monotonic() + 30
        while True:
            try:
                identity = endpoint.client("sts").get_caller_identity()
                break
            except Exception:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert identity["Arn"] == "arn:aws:iam::210987654321:root"
    finally:
        process.terminate()
        process.wait(30)


def test_serve_refuses_a_store_that_was_never_initialized(capsys, tmp_path: Path):
    from tests.clirunner import run

    result = run(capsys, "serve", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--port", "0")
    assert result.exit_code == 254
    assert "StoreNotInitialized" in result.stderr
    result = run(capsys, "serve", "--access-key-id", "K", "--port", "0")
    assert result.exit_code == 2


# --- the protocol against botocore's own serializer and parser --------------------------------------------------


def botocore_form(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    serializer = botocore.serialize.create_serializer("query")
    request = serializer.serialize_to_request(params, operation_model(service, operation))
    return [(k, str(v)) for k, v in request["body"].items()]


@pytest.mark.parametrize(
    ("service", "operation", "params"),
    [
        ("iam", "CreateUser", {"UserName": "alice", "Tags": [{"Key": "k", "Value": "v"}, {"Key": "a", "Value": ""}]}),
        ("iam", "TagUser", {"UserName": "alice", "Tags": []}),
        ("iam", "ListUsers", {"PathPrefix": "/a b/", "MaxItems": 5, "Marker": "m+/="}),
        ("iam", "CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": ALLOW_ALL, "MaxSessionDuration": 3600}),
        (
            "iam",
            "CreatePolicyVersion",
            {"PolicyArn": "arn:aws:iam::1:policy/p", "PolicyDocument": "{}", "SetAsDefault": True},
        ),
        (
            "iam",
            "SimulatePrincipalPolicy",
            {
                "PolicySourceArn": "arn:aws:iam::123456789012:user/a",
                "ActionNames": ["s3:GetObject", "iam:ListUsers"],
                "ContextEntries": [
                    {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2026-01-01"], "ContextKeyType": "date"}
                ],
            },
        ),
        (
            "sts",
            "AssumeRole",
            {
                "RoleArn": "arn:aws:iam::1:role/r",
                "RoleSessionName": "ss",
                "DurationSeconds": 900,
                "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            },
        ),
    ],
)
def test_requests_serialised_by_botocore_parse_back_to_the_same_parameters(service, operation, params):
    form = botocore_form(service, operation, params)
    assert parse_parameters(operation_model(service, operation), form) == params


def test_malformed_values_are_validation_errors():
    from iamledger.domain.errors import ValidationError

    with pytest.raises(ValidationError, match="at 'maxItems' failed to satisfy constraint: Member must be a number"):
        parse_parameters(operation_model("iam", "ListUsers"), [("MaxItems", "ten")])
    with pytest.raises(ValidationError, match="be a boolean"):
        parse_parameters(operation_model("iam", "CreatePolicyVersion"), [("SetAsDefault", "yes")])


def botocore_parse(service: str, operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    parser = botocore.parsers.QueryParser()
    op = operation_model(service, operation)
    return parser.parse({"body": body, "headers": {}, "status_code": status}, op.output_shape)


def whole_seconds(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, dict):
        return {k: whole_seconds(v) for k, v in value.items()}
    if isinstance(value, list):
        return [whole_seconds(v) for v in value]
    return value


def test_responses_parse_back_with_botocore_to_the_library_s_dicts(iam: IdentityStore):
    from botocore.handlers import json_decode_policies

    iam.create_user(UserName="alice", Path="/a<&>b/", Tags=[{"Key": "k", "Value": "v"}])
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=ALLOW_ALL)
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:root"))
    arn = iam.create_policy(PolicyName="mp", PolicyDocument=policy("s3:*"))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.update_account_password_policy(MaxPasswordAge=30)
    results = {
        ("iam", "GetInstanceProfile"): iam.get_instance_profile(InstanceProfileName="ip"),  # "Tags": [] as <Tags/>
        ("iam", "GetPolicy"): iam.get_policy(PolicyArn=arn),  # "Tags": [] as <Tags/>
        ("iam", "GetAccountPasswordPolicy"): iam.get_account_password_policy(),  # "HardExpiry": False
        ("iam", "GetUser"): iam.get_user(UserName="alice"),
        ("iam", "GetUserPolicy"): iam.get_user_policy(UserName="alice", PolicyName="p"),
        ("iam", "GetAccountAuthorizationDetails"): iam.get_account_authorization_details(),
        ("iam", "GetAccountSummary"): iam.get_account_summary(),
        ("iam", "GetGroup"): iam.get_group(GroupName="g"),
        ("iam", "ListRoles"): iam.list_roles(),
        ("iam", "SimulatePrincipalPolicy"): iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/a<&>b/alice", ActionNames=["s3:GetObject"]
        ),
        ("sts", "GetCallerIdentity"): iam.get_caller_identity(),
    }
    for (service, operation), result in results.items():
        body = serialize_result(operation_model(service, operation), result, "req-1")
        parsed = botocore_parse(service, operation, body)
        json_decode_policies(parsed, operation_model(service, operation))
        assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
        assert parsed == whole_seconds(result), operation


def test_errors_parse_back_with_botocore():
    body = serialize_error(
        operation_model("iam", "GetUser").service_model,
        "NoSuchEntity",
        "The user with name <x> cannot be found.",
        sender_fault=True,
        request_id="req-2",
    )
    parsed = botocore_parse("iam", "GetUser", body, status=404)
    assert parsed["Error"] == {
        "Type": "Sender",
        "Code": "NoSuchEntity",
        "Message": "The user with name <x> cannot be found.",
    }
    assert parsed["ResponseMetadata"]["RequestId"] == "req-2"


def test_timestamps_are_whole_seconds_in_utc():
    from datetime import timedelta, timezone

    from iamledger.server.protocol import format_timestamp

    local = datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(local) == "2026-11-27T10:00:00Z"
    assert format_timestamp(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)) == "2026-11-27T10:00:00Z"


def test_a_serving_process_tunes_its_garbage_collector():
    # In a process of its own: the test process keeps Python's defaults.
    script = (
        "import gc\n"
        "from iamledger.server.app import GC_THRESHOLDS, tune_collector\n"
        "tune_collector()\n"
        "assert gc.isenabled() and gc.get_threshold() == GC_THRESHOLDS, gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 1000, gc.get_freeze_count()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
