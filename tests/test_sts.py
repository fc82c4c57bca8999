"""STS and authorization: AssumeRole as AWS evaluates it, temporary credentials, and every command authorized
against the caller's policies; on every backend."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.errors import AccessDeniedError, IdentityStoreError, ValidationError
from iamledger.domain.mfa import time_step, totp
from tests.clirunner import run

A = "123456789012"
B = "210987654321"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(principal: dict, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return doc(statement | ({"Condition": condition} if condition else {}))


def allow(action: str, resource: str = "*") -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


@contextmanager
def acting_as(actor: str, access_key_id: str | None = None) -> Iterator[None]:
    ctx = AuditContext(actor=actor, request_id=AuditContext.new_request_id(), access_key_id=access_key_id)
    with bound_audit_context(ctx):
        yield


def user_arn(name: str, account: str = A) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


@pytest.fixture
def org(iam: IdentityStore) -> IdentityStore:
    """Account A with users alice (no policies) and admin; account B exists too."""
    iam.create_account(B)
    iam.create_user(UserName="alice")
    iam.create_user(UserName="admin")
    iam.attach_user_policy(UserName="admin", PolicyArn=ADMIN)
    return iam


def test_a_user_named_in_the_trust_policy_needs_no_identity_policy(org: IdentityStore):
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    with acting_as(user_arn("alice")):
        result = org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/r", RoleSessionName="s1")
    credentials = result["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert 40 == len(credentials["SecretAccessKey"])
    assert f"arn:aws:sts::{A}:assumed-role/r/s1" == result["AssumedRoleUser"]["Arn"]
    assert result["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert result["AssumedRoleUser"]["AssumedRoleId"].endswith(":s1")


def test_trusting_the_account_needs_an_identity_allow_too(org: IdentityStore):
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{A}:root"}))
    role = f"arn:aws:iam::{A}:role/r"
    with acting_as(user_arn("alice")), pytest.raises(AccessDeniedError) as caught:
        org.assume_role(RoleArn=role, RoleSessionName="s1")
    assert f"User: {user_arn('alice')} is not authorized to perform: sts:AssumeRole on resource: {role}" == (
        caught.value.message
    )
    org.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=doc(allow("sts:AssumeRole", role)))
    with acting_as(user_arn("alice")):
        assert org.assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]


def test_cross_account_needs_both_sides(org: IdentityStore):
    role = f"arn:aws:iam::{B}:role/shared"
    with acting_as(f"arn:aws:iam::{B}:root"):
        org.create_role(RoleName="shared", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{A}:root"}))
        org.create_role(RoleName="closed", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{B}:root"}))
    with acting_as(user_arn("alice")), pytest.raises(AccessDeniedError):
        org.assume_role(RoleArn=role, RoleSessionName="s1")  # trusted, but no identity allow in A
    org.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=doc(allow("sts:AssumeRole")))
    with acting_as(user_arn("alice")):
        assert (
            f"arn:aws:sts::{B}:assumed-role/shared/s1"
            == org.assume_role(RoleArn=role, RoleSessionName="s1")["AssumedRoleUser"]["Arn"]
        )
        with pytest.raises(AccessDeniedError):
            org.assume_role(RoleArn=f"arn:aws:iam::{B}:role/closed", RoleSessionName="s1")  # not trusted


def test_an_external_id_condition_must_be_met(org: IdentityStore):
    condition = {"StringEquals": {"sts:ExternalId": "s3cr3t-partner-id"}}
    org.create_role(RoleName="partner", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}, condition))
    role = f"arn:aws:iam::{A}:role/partner"
    with acting_as(user_arn("alice")):
        with pytest.raises(AccessDeniedError):
            org.assume_role(RoleArn=role, RoleSessionName="s1")
        with pytest.raises(AccessDeniedError):
            org.assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="wrong-id")
        assert org.assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="s3cr3t-partner-id")["Credentials"]


def test_root_cannot_assume_roles_and_unknown_roles_are_access_denied(org: IdentityStore):
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{A}:root"}))
    with pytest.raises(AccessDeniedError, match="Roles may not be assumed by root accounts"):
        org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/r", RoleSessionName="s1")
    with acting_as(user_arn("admin")), pytest.raises(AccessDeniedError):
        org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/ghost", RoleSessionName="s1")


def _session(org: IdentityStore, actor: str, role: str, **kwargs) -> dict:
    with acting_as(actor):
        return org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/{role}", RoleSessionName="s1", **kwargs)


def test_durations_follow_the_role_and_role_chaining_is_capped_at_an_hour(org: IdentityStore):
    org.create_role(
        RoleName="long", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}), MaxSessionDuration=7200
    )
    session = f"arn:aws:sts::{A}:assumed-role/long/s1"
    org.create_role(RoleName="next", AssumeRolePolicyDocument=trust({"AWS": session}), MaxSessionDuration=43200)
    with pytest.raises(ValidationError, match="exceeds the MaxSessionDuration"):
        _session(org, user_arn("alice"), "long", DurationSeconds=7201)
    first = _session(org, user_arn("alice"), "long", DurationSeconds=7200)["Credentials"]
    with acting_as(session, first["AccessKeyId"]):
        with pytest.raises(ValidationError, match="1 hour session limit for roles assumed by role chaining"):
            org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/next", RoleSessionName="c1", DurationSeconds=3601)
        chained = org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/next", RoleSessionName="c1", DurationSeconds=3600)
    assert chained["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_invalid_session_names_and_durations_are_validation_errors(org: IdentityStore):
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    with acting_as(user_arn("alice")):
        with pytest.raises(ValidationError, match="roleSessionName"):
            org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/r", RoleSessionName="has space")
        with pytest.raises(ValidationError, match="durationSeconds"):
            org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/r", RoleSessionName="ok", DurationSeconds=899)


def test_temporary_credentials_expire_with_the_clock(org: IdentityStore, monkeypatch):
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    creds = _session(org, user_arn("alice"), "r", DurationSeconds=900)["Credentials"]
    who = org.authenticate_access_key(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert f"arn:aws:sts::{A}:assumed-role/r/s1" == who.owner_arn
    with pytest.raises(IdentityStoreError) as wrong_token:
        org.authenticate_access_key(creds["AccessKeyId"], creds["SecretAccessKey"], "not-the-token")
    assert "InvalidClientTokenId" == wrong_token.value.code
    later = datetime.now(UTC) + timedelta(seconds=901)
    monkeypatch.setattr(org, "clock", lambda: later)
    with pytest.raises(IdentityStoreError) as expired:
        org.authenticate_access_key(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert "ExpiredToken" == expired.value.code


def test_a_session_policy_narrows_the_role(org: IdentityStore):
    org.create_role(RoleName="ops", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    org.attach_role_policy(RoleName="ops", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    narrow = doc(allow("iam:ListUsers"))
    creds = _session(org, user_arn("alice"), "ops", Policy=narrow)["Credentials"]
    with acting_as(f"arn:aws:sts::{A}:assumed-role/ops/s1", creds["AccessKeyId"]):
        assert org.list_users()["Users"]
        with pytest.raises(AccessDeniedError, match="because no session policy allows the iam:CreateUser action"):
            org.create_user(UserName="mallory")
        identity = org.get_caller_identity()
    assert f"arn:aws:sts::{A}:assumed-role/ops/s1" == identity["Arn"]
    assert identity["UserId"].endswith(":s1")


def test_managed_session_policies_narrow_the_role(org: IdentityStore):
    org.create_role(RoleName="ops", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    org.attach_role_policy(RoleName="ops", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    read_only = [{"arn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}]
    creds = _session(org, user_arn("alice"), "ops", PolicyArns=read_only)["Credentials"]
    with acting_as(f"arn:aws:sts::{A}:assumed-role/ops/s1", creds["AccessKeyId"]):
        assert org.list_users()["Users"]
        with pytest.raises(AccessDeniedError, match="because no session policy allows the iam:CreateUser action"):
            org.create_user(UserName="mallory")


def test_a_role_session_has_the_role_s_tags_under_its_own_and_its_source_identity(org: IdentityStore):
    trusted = {
        "Effect": "Allow",
        "Principal": {"AWS": user_arn("alice")},
        "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
    }
    role_tags = [{"Key": "team", "Value": "red"}, {"Key": "site", "Value": "paris"}]
    org.create_role(RoleName="ops", AssumeRolePolicyDocument=doc(trusted), Tags=role_tags)
    condition = {
        "StringEquals": {
            "aws:PrincipalTag/team": "blue",
            "aws:PrincipalTag/site": "paris",
            "aws:SourceIdentity": "alice@corp",
        }
    }
    org.put_role_policy(
        RoleName="ops", PolicyName="tagged", PolicyDocument=doc(allow("iam:ListUsers") | {"Condition": condition})
    )
    tagged = _session(
        org, user_arn("alice"), "ops", Tags=[{"Key": "team", "Value": "blue"}], SourceIdentity="alice@corp"
    )
    untagged = _session(org, user_arn("alice"), "ops", SourceIdentity="alice@corp")
    anonymous = _session(org, user_arn("alice"), "ops", Tags=[{"Key": "team", "Value": "blue"}])
    with acting_as(f"arn:aws:sts::{A}:assumed-role/ops/s1", tagged["Credentials"]["AccessKeyId"]):
        assert org.list_users()["Users"]
    for refused in (untagged, anonymous):
        key = refused["Credentials"]["AccessKeyId"]
        with acting_as(f"arn:aws:sts::{A}:assumed-role/ops/s1", key), pytest.raises(AccessDeniedError):
            org.list_users()


def test_a_boundary_narrows_a_user(org: IdentityStore):
    org.put_user_permissions_boundary(UserName="admin", PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    with acting_as(user_arn("admin")):
        assert org.list_users()["Users"]
        with pytest.raises(AccessDeniedError, match="because no permissions boundary allows the iam:CreateUser action"):
            org.create_user(UserName="mallory")


def test_a_denied_command_leaves_no_event_and_is_recorded_as_an_incident(org: IdentityStore):
    before = org.recorder.max_notification_id()
    with acting_as(user_arn("alice")), pytest.raises(AccessDeniedError) as caught:
        org.create_user(UserName="mallory")
    assert (
        f"User: {user_arn('alice')} is not authorized to perform: iam:CreateUser on resource: "
        f"arn:aws:iam::{A}:user/mallory because no identity-based policy allows the iam:CreateUser action"
    ) == caught.value.message
    assert 403 == caught.value.http_status
    assert before == org.recorder.max_notification_id()
    (incident,) = org.security_log.incidents()
    assert ("AccessDenied", "iam:CreateUser", user_arn("alice")) == (incident.kind, incident.action, incident.actor)


def test_an_explicit_deny_is_reported_as_such(org: IdentityStore):
    deny = {"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"}
    org.put_user_policy(UserName="admin", PolicyName="no-delete", PolicyDocument=doc(deny))
    with acting_as(user_arn("admin")), pytest.raises(AccessDeniedError, match="with an explicit deny in an identity"):
        org.delete_user(UserName="alice")


def test_resources_carry_paths_and_conditions_see_request_tags(org: IdentityStore):
    scoped = {
        "Effect": "Allow",
        "Action": "iam:CreateUser",
        "Resource": f"arn:aws:iam::{A}:user/contractors/*",
        "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}},
    }
    org.put_user_policy(UserName="alice", PolicyName="scoped", PolicyDocument=doc(scoped))
    with acting_as(user_arn("alice")):
        org.create_user(UserName="c1", Path="/contractors/", Tags=[{"Key": "team", "Value": "blue"}])
        with pytest.raises(AccessDeniedError):
            org.create_user(UserName="c2", Path="/staff/", Tags=[{"Key": "team", "Value": "blue"}])
        with pytest.raises(AccessDeniedError):
            org.create_user(UserName="c3", Path="/contractors/", Tags=[{"Key": "team", "Value": "red"}])


def test_get_session_token_gives_user_credentials(org: IdentityStore):
    with acting_as(user_arn("alice")):
        creds = org.get_session_token(DurationSeconds=900)["Credentials"]
    who = org.authenticate_access_key(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert user_arn("alice") == who.owner_arn
    assert who.temporary


def enable_mfa(org: IdentityStore, user: str) -> tuple[str, str]:
    """A virtual MFA device enabled for ``user``: its serial number and seed (the codes up to now are used)."""
    device = org.create_virtual_mfa_device(VirtualMFADeviceName=user)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode()
    step = time_step(org.clock())
    org.enable_mfa_device(
        UserName=user,
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1=totp(seed, step - 1),
        AuthenticationCode2=totp(seed, step),
    )
    return device["SerialNumber"], seed


def next_code(org: IdentityStore, seed: str) -> str:
    """The device's code of the next time step (those up to the current one were used to enable it)."""
    return totp(seed, time_step(org.clock()) + 1)


def test_session_token_credentials_without_mfa_call_no_iam_and_of_sts_only_assume_role(org: IdentityStore):
    """AWS: credentials from GetSessionToken without MFA cannot call IAM (InvalidClientTokenId), and of STS only
    AssumeRole and GetCallerIdentity, whatever the user's policies allow; each refusal is recorded, none changes
    anything."""
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": user_arn("admin")}))
    with acting_as(user_arn("admin")):
        key = org.get_session_token(DurationSeconds=900)["Credentials"]["AccessKeyId"]
    before = org.recorder.max_notification_id()
    with acting_as(user_arn("admin"), key):
        for call in (lambda: org.create_user(UserName="mallory"), org.list_users):
            with pytest.raises(IdentityStoreError) as refused:
                call()
            assert ("InvalidClientTokenId", 403) == (refused.value.code, refused.value.http_status)
            assert "The security token included in the request is invalid" == refused.value.message
        with pytest.raises(AccessDeniedError, match="operation: Cannot call GetSessionToken with session credentials$"):
            org.get_session_token()
        with pytest.raises(
            AccessDeniedError, match="operation: Cannot call GetFederationToken with session credentials$"
        ):
            org.get_federation_token(Name="Bob", Policy=doc(allow("*")))
        with pytest.raises(AccessDeniedError):
            org.get_access_key_info(AccessKeyId=key)
        assert user_arn("admin") == org.get_caller_identity()["Arn"]
        assert before == org.recorder.max_notification_id()
        assert org.assume_role(RoleArn=f"arn:aws:iam::{A}:role/r", RoleSessionName="s1")["Credentials"]
    incidents = [(i.kind, i.action, i.error_code, i.access_key_id) for i in org.security_log.incidents()]
    assert [
        ("AccessDenied", "iam:CreateUser", "InvalidClientTokenId", key),
        ("AccessDenied", "iam:ListUsers", "InvalidClientTokenId", key),
        ("AccessDenied", "sts:GetSessionToken", "AccessDenied", key),
        ("AccessDenied", "sts:GetFederationToken", "AccessDenied", key),
        ("AccessDenied", "sts:GetAccessKeyInfo", "AccessDenied", key),
    ] == incidents
    records = [json.loads(e["CloudTrailEvent"]) for e in org.lookup_events()["Events"]]
    (create,) = [r for r in records if r["eventName"] == "CreateUser" and "errorCode" in r]
    assert ("InvalidClientTokenId", key) == (create["errorCode"], create["userIdentity"]["accessKeyId"])
    assert "false" == create["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"]


def test_session_token_credentials_with_mfa_call_iam_as_the_user_s_policies_allow(org: IdentityStore):
    serial, seed = enable_mfa(org, "admin")
    with acting_as(user_arn("admin")):
        key = org.get_session_token(SerialNumber=serial, TokenCode=next_code(org, seed))["Credentials"]["AccessKeyId"]
    with acting_as(user_arn("admin"), key):
        assert "made-with-mfa" == org.create_user(UserName="made-with-mfa")["User"]["UserName"]
        assert org.list_users()["Users"]
        with pytest.raises(AccessDeniedError, match="operation: Cannot call GetSessionToken with session credentials$"):
            org.get_session_token(SerialNumber=serial, TokenCode=next_code(org, seed))
        with pytest.raises(
            AccessDeniedError, match="operation: Cannot call GetFederationToken with session credentials$"
        ):
            org.get_federation_token(Name="Bob", Policy=doc(allow("*")))
    # MFA lifts the restriction on IAM only: the user's own policies still decide.
    alice_serial, alice_seed = enable_mfa(org, "alice")
    with acting_as(user_arn("alice")):
        alice_key = org.get_session_token(SerialNumber=alice_serial, TokenCode=next_code(org, alice_seed))
    alice_session = acting_as(user_arn("alice"), alice_key["Credentials"]["AccessKeyId"])
    with alice_session, pytest.raises(AccessDeniedError, match="is not authorized to perform: iam:CreateUser"):
        org.create_user(UserName="mallory")


def test_the_mfa_code_of_get_session_token_is_checked(org: IdentityStore):
    serial, seed = enable_mfa(org, "admin")
    enable_mfa(org, "alice")
    invalid = "MultiFactorAuthentication failed with invalid MFA one time pass code."
    unknown = (
        "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is "
        "valid and associated with this user."
    )
    alice_serial = f"arn:aws:iam::{A}:mfa/alice"
    with acting_as(user_arn("admin")):
        for code in ("000000", totp(seed, time_step(org.clock()))):  # wrong, and already used to enable the device
            with pytest.raises(AccessDeniedError) as wrong:
                org.get_session_token(SerialNumber=serial, TokenCode=code)
            assert invalid == wrong.value.message
        for other in (alice_serial, f"arn:aws:iam::{A}:mfa/nobody"):  # another user's device, no device
            with pytest.raises(AccessDeniedError) as not_mine:
                org.get_session_token(SerialNumber=other, TokenCode="123456")
            assert unknown == not_mine.value.message
    assert 4 == len([i for i in org.security_log.incidents() if i.action == "sts:GetSessionToken"])


def test_mfa_session_credentials_satisfy_a_trust_policy_that_requires_mfa(org: IdentityStore):
    needs_mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    org.create_role(RoleName="guarded", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}, needs_mfa))
    role = f"arn:aws:iam::{A}:role/guarded"
    serial, seed = enable_mfa(org, "alice")
    with acting_as(user_arn("alice")):
        plain = org.get_session_token()["Credentials"]["AccessKeyId"]
        with_mfa = org.get_session_token(SerialNumber=serial, TokenCode=next_code(org, seed))
    with acting_as(user_arn("alice"), plain), pytest.raises(AccessDeniedError):
        org.assume_role(RoleArn=role, RoleSessionName="s1")
    with acting_as(user_arn("alice"), with_mfa["Credentials"]["AccessKeyId"]):
        assert org.assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]


def test_session_token_credentials_on_the_command_line(capsys, store_url, tmp_path, monkeypatch):
    """``--profile`` with GetSessionToken credentials: no IAM without MFA, GetCallerIdentity and AssumeRole yes."""
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", A).exit_code
    run(capsys, "--db", store_url, "iam", "create-user", "--user-name", "admin")
    run(capsys, "--db", store_url, "iam", "attach-user-policy", "--user-name", "admin", "--policy-arn", ADMIN)
    run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-role",
        "--role-name",
        "r",
        "--assume-role-policy-document",
        trust({"AWS": user_arn("admin")}),
    )
    issued = run(capsys, "--db", store_url, "--as", user_arn("admin"), "sts", "get-session-token")
    assert 0 == issued.exit_code, issued.stderr
    creds = json.loads(issued.stdout)["Credentials"]
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        "[plain]\n"
        f"aws_access_key_id = {creds['AccessKeyId']}\n"
        f"aws_secret_access_key = {creds['SecretAccessKey']}\n"
        f"aws_session_token = {creds['SessionToken']}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    profile = ("--db", store_url, "--profile", "plain")
    refused = run(capsys, *profile, "iam", "create-user", "--user-name", "mallory")
    assert 254 == refused.exit_code
    assert (
        "An error occurred (InvalidClientTokenId) when calling the CreateUser operation: The security token "
        "included in the request is invalid"
    ) in refused.stderr
    again = run(capsys, *profile, "sts", "get-session-token")
    assert 254 == again.exit_code
    assert "(AccessDenied) when calling the GetSessionToken operation: Cannot call GetSessionToken" in again.stderr
    identity = run(capsys, *profile, "sts", "get-caller-identity")
    assert 0 == identity.exit_code, identity.stderr
    assert user_arn("admin") == json.loads(identity.stdout)["Arn"]
    assumed = run(
        capsys, *profile, "sts", "assume-role", "--role-arn", f"arn:aws:iam::{A}:role/r", "--role-session-name", "cli"
    )
    assert 0 == assumed.exit_code, assumed.stderr
    listed = run(capsys, "--db", store_url, "iam", "list-users")
    assert ["admin"] == [u["UserName"] for u in json.loads(listed.stdout)["Users"]]
    # --as names a principal, not credentials: a user acts with its policies, as with long-term keys.
    created = run(capsys, "--db", store_url, "--as", user_arn("admin"), "iam", "create-user", "--user-name", "ok")
    assert 0 == created.exit_code, created.stderr


def test_secrets_of_sessions_are_nowhere_in_the_events(org: IdentityStore):
    org.create_role(RoleName="r", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    creds = _session(org, user_arn("alice"), "r")["Credentials"]
    states = b"".join(n.state for n in org.recorder.select_notifications(start=1, limit=10_000))
    assert creds["SecretAccessKey"].encode() not in states
    assert creds["SessionToken"].encode() not in states


def test_acting_as_a_principal_and_with_a_profile_on_the_command_line(capsys, store_url, tmp_path, monkeypatch):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", A).exit_code
    run(capsys, "--db", store_url, "iam", "create-user", "--user-name", "alice")
    denied = run(capsys, "--db", store_url, "--as", user_arn("alice"), "iam", "create-user", "--user-name", "m")
    assert 254 == denied.exit_code
    assert "An error occurred (AccessDenied) when calling the CreateUser operation: User: " in denied.stderr

    run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-role",
        "--role-name",
        "r",
        "--assume-role-policy-document",
        trust({"AWS": user_arn("alice")}),
    )
    assumed = run(
        capsys,
        "--db",
        store_url,
        "--as",
        user_arn("alice"),
        "sts",
        "assume-role",
        "--role-arn",
        f"arn:aws:iam::{A}:role/r",
        "--role-session-name",
        "cli",
    )
    assert 0 == assumed.exit_code, assumed.stderr
    creds = json.loads(assumed.stdout)["Credentials"]
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text(
        "[session]\n"
        f"aws_access_key_id = {creds['AccessKeyId']}\n"
        f"aws_secret_access_key = {creds['SecretAccessKey']}\n"
        f"aws_session_token = {creds['SessionToken']}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    identity = run(capsys, "--db", store_url, "--profile", "session", "sts", "get-caller-identity")
    assert 0 == identity.exit_code, identity.stderr
    assert f"arn:aws:sts::{A}:assumed-role/r/cli" == json.loads(identity.stdout)["Arn"]


def test_revoking_active_sessions_as_aws_console_does(org: IdentityStore, monkeypatch):
    """The console's "Revoke active sessions" adds an inline deny on aws:TokenIssueTime: older sessions lose access,
    sessions started afterwards keep it."""
    org.create_role(RoleName="ops", AssumeRolePolicyDocument=trust({"AWS": user_arn("alice")}))
    org.attach_role_policy(RoleName="ops", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    old = _session(org, user_arn("alice"), "ops")["Credentials"]
    cutoff = datetime.now(UTC) + timedelta(seconds=30)
    revoke = {
        "Effect": "Deny",
        "Action": "*",
        "Resource": "*",
        "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")}},
    }
    org.put_role_policy(RoleName="ops", PolicyName="AWSRevokeOlderSessions", PolicyDocument=doc(revoke))
    denied = pytest.raises(AccessDeniedError, match="with an explicit deny in an identity-based policy")
    with acting_as(f"arn:aws:sts::{A}:assumed-role/ops/s1", old["AccessKeyId"]), denied:
        org.list_users()
    monkeypatch.setattr(org, "clock", lambda: cutoff + timedelta(seconds=5))
    new = _session(org, user_arn("alice"), "ops")["Credentials"]
    with acting_as(f"arn:aws:sts::{A}:assumed-role/ops/s1", new["AccessKeyId"]):
        assert org.list_users()["Users"]


def test_the_simulator_itself_needs_permission_when_a_principal_calls_it(org: IdentityStore):
    policy = doc(allow("s3:GetObject"))
    with acting_as(user_arn("alice")), pytest.raises(AccessDeniedError, match="iam:SimulateCustomPolicy"):
        org.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"])
    with acting_as(user_arn("admin")):
        result = org.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"])
    assert "allowed" == result["EvaluationResults"][0]["EvalDecision"]
