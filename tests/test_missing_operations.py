"""The IAM operations added so that users miss none that concern what the store holds (issue 21 item 19):
GetContextKeysForCustomPolicy, GetContextKeysForPrincipalPolicy, GetMFADevice, ListPoliciesGrantingServiceAccess,
the service-specific credentials (Create/List/Reset/Update/Delete) and SetSecurityTokenServicePreferences.

On the library (SQLite and PostgreSQL) and the command line; ``tests/test_missing_operations_endpoint.py`` runs them
with boto3 and the aws CLI against a real ``iamledger serve --ephemeral``."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import (
    AccessDeniedError,
    DeleteConflictError,
    IdentityStoreError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
    ValidationError,
)
from iamledger.passwords import verify_password
from iamledger.services.service_credentials import secret_id
from iamledger.store import IdentityStore
from tests.clirunner import run
from tests.shapes import assert_output_shape
from tests.test_mfa import codes
from tests.test_secrets import _database_text

ACCOUNT = "123456789012"
CODECOMMIT = "codecommit.amazonaws.com"
AWS_EXAMPLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "dynamodb:*",
            "Resource": "arn:aws:dynamodb:us-west-2:123456789012:table/${aws:username}",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2015-08-16T12:00:00Z"}},
        },
    }
)


def _policy(*statements: dict[str, Any], version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": list(statements)})


def as_user(name: str) -> AuditContext:
    return AuditContext(actor=f"arn:aws:iam::{ACCOUNT}:user/{name}", request_id=AuditContext.new_request_id())


def _events(iam: IdentityStore) -> list[str]:
    """Every stored event, as text."""
    return [f"{n.topic} {n.state!r}" for n in iam.recorder.select_notifications(start=1, limit=10_000)]


def _trail(iam: IdentityStore, name: str) -> list[dict[str, Any]]:
    """The trail records of the calls named ``name``, newest first."""
    found = iam.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])
    return [json.loads(e["CloudTrailEvent"]) for e in found["Events"]]


# -- GetContextKeysForCustomPolicy / GetContextKeysForPrincipalPolicy -------------------------------------------------


def test_context_keys_of_custom_policies_are_aws_documented_example_and_each_key_once(iam: IdentityStore):
    answer = iam.get_context_keys_for_custom_policy(PolicyInputList=[AWS_EXAMPLE])
    assert_output_shape("iam", "GetContextKeysForCustomPolicy", answer)
    assert answer == {"ContextKeyNames": ["aws:username", "aws:CurrentTime"]}
    second = _policy(
        {
            "Effect": "Deny",
            "Action": "s3:*",
            "NotResource": "arn:aws:s3:::${aws:PrincipalTag/team}/*",
            "Condition": {
                "StringEquals": {"AWS:CURRENTTIME": "x", "s3:prefix": "${aws:userid}/"},
                "Bool": {"aws:MultiFactorAuthPresent": "true"},
            },
        }
    )
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[AWS_EXAMPLE, second])["ContextKeyNames"]
    assert keys == [
        "aws:username",
        "aws:CurrentTime",
        "aws:PrincipalTag/team",
        "s3:prefix",
        "aws:MultiFactorAuthPresent",
        "aws:userid",
    ]
    # a variable needs the 2012 version: IAM refuses the policy otherwise, and so does the operation
    old = _policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}"}, version="2008-10-17"
    )
    with pytest.raises(InvalidInputError, match="version 2012-10-17"):
        iam.get_context_keys_for_custom_policy(PolicyInputList=[old])
    with pytest.raises(InvalidInputError, match=r"policyInputList\.2"):
        iam.get_context_keys_for_custom_policy(PolicyInputList=[AWS_EXAMPLE, "{not json"])
    with pytest.raises(ValidationError):
        iam.get_context_keys_for_custom_policy(PolicyInputList=[AWS_EXAMPLE, 5])  # type: ignore[list-item]


def test_context_keys_of_a_principal_cover_its_groups_and_given_policies_not_its_boundary(iam: IdentityStore):
    iam.create_user(UserName="saanvi")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="saanvi")
    iam.put_user_policy(UserName="saanvi", PolicyName="own", PolicyDocument=AWS_EXAMPLE)
    grouped = {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}
    grouped["Condition"] = {"StringEquals": {"ec2:Region": "eu-west-1"}}
    iam.put_group_policy(GroupName="devs", PolicyName="g", PolicyDocument=_policy(grouped))
    boundary = _policy(
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    )
    boundary_arn = iam.create_policy(PolicyName="b", PolicyDocument=boundary)["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="saanvi", PermissionsBoundary=boundary_arn)
    user_arn = iam.get_user(UserName="saanvi")["User"]["Arn"]
    answer = iam.get_context_keys_for_principal_policy(PolicySourceArn=user_arn)
    assert_output_shape("iam", "GetContextKeysForPrincipalPolicy", answer)
    assert answer["ContextKeyNames"] == ["aws:username", "aws:CurrentTime", "ec2:Region"]
    extra = _policy(
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        }
    )
    keys = iam.get_context_keys_for_principal_policy(PolicySourceArn=user_arn, PolicyInputList=[extra])
    assert keys["ContextKeyNames"][-1] == "aws:SourceIp"
    group_arn = iam.get_group(GroupName="devs")["Group"]["Arn"]
    assert iam.get_context_keys_for_principal_policy(PolicySourceArn=group_arn)["ContextKeyNames"] == ["ec2:Region"]
    with pytest.raises(NoSuchEntityError, match="user with name nobody"):
        iam.get_context_keys_for_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/nobody")
    with pytest.raises(InvalidInputError, match="PolicySourceArn"):
        iam.get_context_keys_for_principal_policy(PolicySourceArn=f"arn:aws:s3:::{ACCOUNT}-bucket-name")


# -- ListPoliciesGrantingServiceAccess ------------------------------------------------------------------------------


def test_the_policies_granting_a_service_are_the_identity_policies_allowing_one_of_its_actions(iam: IdentityStore):
    iam.create_user(UserName="sofia")
    iam.create_group(GroupName="git")
    iam.add_user_to_group(GroupName="git", UserName="sofia")
    codecommit = _policy({"Effect": "Allow", "Action": "codecommit:GitPull", "Resource": "*"})
    iam.put_user_policy(UserName="sofia", PolicyName="Grant-Sofia-Access-To-CodeCommit", PolicyDocument=codecommit)
    iam.put_group_policy(
        GroupName="git",
        PolicyName="everything-but-iam",
        PolicyDocument=_policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
    )
    iam.attach_user_policy(UserName="sofia", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    deny_only = _policy({"Effect": "Deny", "Action": "s3:*", "Resource": "*"})
    iam.put_user_policy(UserName="sofia", PolicyName="deny-s3", PolicyDocument=deny_only)
    boundary_arn = iam.create_policy(
        PolicyName="all", PolicyDocument=_policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    )["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="sofia", PermissionsBoundary=boundary_arn)
    arn = iam.get_user(UserName="sofia")["User"]["Arn"]

    answer = iam.list_policies_granting_service_access(Arn=arn, ServiceNamespaces=["codecommit", "iam", "s3"])
    assert_output_shape("iam", "ListPoliciesGrantingServiceAccess", answer)
    by_service = {entry["ServiceNamespace"]: entry["Policies"] for entry in answer["PoliciesGrantingServiceAccess"]}
    assert by_service["codecommit"] == [
        {
            "PolicyName": "Grant-Sofia-Access-To-CodeCommit",
            "PolicyType": "INLINE",
            "EntityType": "USER",
            "EntityName": "sofia",
        },
        {"PolicyName": "everything-but-iam", "PolicyType": "INLINE", "EntityType": "GROUP", "EntityName": "git"},
    ]
    assert {
        "PolicyName": "IAMReadOnlyAccess",
        "PolicyType": "MANAGED",
        "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
    } in by_service["iam"]
    # the Deny does not grant, the boundary takes no part
    assert [p["PolicyName"] for p in by_service["s3"]] == ["everything-but-iam"]
    assert answer["IsTruncated"] is False
    group_arn = iam.get_group(GroupName="git")["Group"]["Arn"]
    group_answer = iam.list_policies_granting_service_access(Arn=group_arn, ServiceNamespaces=["codecommit"])
    assert [p["PolicyName"] for p in group_answer["PoliciesGrantingServiceAccess"][0]["Policies"]] == [
        "everything-but-iam"
    ]
    with pytest.raises(NoSuchEntityError):
        iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{ACCOUNT}:role/none", ServiceNamespaces=["s3"])
    with pytest.raises(InvalidInputError):
        iam.list_policies_granting_service_access(Arn=f"arn:aws:iam::{ACCOUNT}:policy/x", ServiceNamespaces=["s3"])
    with pytest.raises(ValidationError):
        iam.list_policies_granting_service_access(Arn=arn, ServiceNamespaces=[])


# -- GetMFADevice ---------------------------------------------------------------------------------------------------


def test_get_mfa_device_answers_for_a_device_enabled_for_the_user(iam: IdentityStore):
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    created = iam.create_virtual_mfa_device(VirtualMFADeviceName="phone")["VirtualMFADevice"]
    serial = created["SerialNumber"]
    with pytest.raises(NoSuchEntityError, match="doesn't exist"):
        iam.get_mfa_device(SerialNumber=serial)  # enabled for nobody
    code1, code2 = codes(created["Base32StringSeed"].decode(), iam.clock())
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial, AuthenticationCode1=code1, AuthenticationCode2=code2)
    listed = iam.list_mfa_devices(UserName="alice")["MFADevices"][0]
    answer = iam.get_mfa_device(SerialNumber=serial, UserName="alice")
    assert_output_shape("iam", "GetMFADevice", answer)
    assert answer == listed
    assert iam.get_mfa_device(SerialNumber=serial) == listed
    with bound_audit_context(as_user("alice")), pytest.raises(AccessDeniedError, match="iam:GetMFADevice"):
        iam.get_mfa_device(SerialNumber=serial)  # no policy allows alice anything
    with pytest.raises(NoSuchEntityError, match="doesn't exist"):
        iam.get_mfa_device(SerialNumber=serial, UserName="bob")
    with pytest.raises(NoSuchEntityError, match="user with name carol"):
        iam.get_mfa_device(SerialNumber=serial, UserName="carol")


# -- service-specific credentials -------------------------------------------------------------------------------------


def test_service_specific_credentials_lifecycle(iam: IdentityStore):
    iam.create_user(UserName="sofia")
    created = iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)
    assert_output_shape("iam", "CreateServiceSpecificCredential", created)
    credential = created["ServiceSpecificCredential"]
    credential_id, password = credential["ServiceSpecificCredentialId"], credential["ServicePassword"]
    assert re.fullmatch(r"ACCA[A-Z2-7]{17}", credential_id)
    assert (credential["ServiceUserName"], credential["UserName"], credential["Status"]) == (
        f"sofia-at-{ACCOUNT}",
        "sofia",
        "Active",
    )
    assert len(password) == 44
    second = iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    assert second["ServiceUserName"] == f"sofia+1-at-{ACCOUNT}"
    with pytest.raises(LimitExceededError, match="quota"):
        iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)
    keyspaces = iam.create_service_specific_credential(UserName="sofia", ServiceName="cassandra.amazonaws.com")
    assert keyspaces["ServiceSpecificCredential"]["ServiceUserName"] == f"sofia-at-{ACCOUNT}"

    listed = iam.list_service_specific_credentials(UserName="sofia", ServiceName=CODECOMMIT)
    assert_output_shape("iam", "ListServiceSpecificCredentials", listed)
    assert [c["ServiceSpecificCredentialId"] for c in listed["ServiceSpecificCredentials"]] == [
        credential_id,
        second["ServiceSpecificCredentialId"],
    ]
    assert all("ServicePassword" not in c for c in listed["ServiceSpecificCredentials"])
    assert len(iam.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"]) == 3

    iam.update_service_specific_credential(
        UserName="sofia", ServiceSpecificCredentialId=credential_id, Status="Inactive"
    )
    statuses = {
        c["ServiceSpecificCredentialId"]: c["Status"]
        for c in iam.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"]
    }
    assert statuses[credential_id] == "Inactive"

    stored = iam.vault.get_secret(secret_id(credential_id))
    assert stored is not None and stored != password and verify_password(stored, password)
    reset = iam.reset_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=credential_id)
    assert_output_shape("iam", "ResetServiceSpecificCredential", reset)
    new_password = reset["ServiceSpecificCredential"]["ServicePassword"]
    assert new_password != password
    assert reset["ServiceSpecificCredential"]["Status"] == "Inactive"
    stored = iam.vault.get_secret(secret_id(credential_id))
    assert stored is not None and verify_password(stored, new_password) and not verify_password(stored, password)

    with pytest.raises(DeleteConflictError, match="must delete service specific credentials first"):
        iam.delete_user(UserName="sofia")
    for entry in iam.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName="sofia", ServiceSpecificCredentialId=entry["ServiceSpecificCredentialId"]
        )
    assert iam.vault.get_secret(secret_id(credential_id)) is None
    assert iam.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"] == []
    iam.delete_user(UserName="sofia")

    events = "\n".join(_events(iam))
    for secret in (password, new_password, second["ServicePassword"]):
        assert secret not in events
    assert "ServiceCredentialCreated" in events and "ServiceCredentialReset" in events
    record = _trail(iam, "CreateServiceSpecificCredential")[-1]
    assert record["requestParameters"] == {"userName": "sofia", "serviceName": CODECOMMIT}
    assert record["responseElements"]["serviceSpecificCredential"]["serviceSpecificCredentialId"] == credential_id
    for name in (
        "ResetServiceSpecificCredential",
        "UpdateServiceSpecificCredential",
        "DeleteServiceSpecificCredential",
    ):
        assert _trail(iam, name), name
    trail_text = json.dumps(
        [_trail(iam, n) for n in ("CreateServiceSpecificCredential", "ResetServiceSpecificCredential")]
    )
    assert password not in trail_text and new_password not in trail_text


def test_service_specific_credential_errors_change_nothing(iam: IdentityStore):
    iam.create_user(UserName="sofia")
    before = len(_events(iam))
    with pytest.raises(IdentityStoreError) as refused:
        iam.create_service_specific_credential(UserName="sofia", ServiceName="s3.amazonaws.com")
    assert (refused.value.code, refused.value.http_status) == ("NotSupportedService", 404)
    with pytest.raises(InvalidInputError, match="CredentialAgeDays"):
        iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT, CredentialAgeDays=3)
    with pytest.raises(ValidationError):
        iam.create_service_specific_credential(
            UserName="sofia", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=0
        )
    with pytest.raises(NoSuchEntityError, match="user with name nobody"):
        iam.create_service_specific_credential(UserName="nobody", ServiceName=CODECOMMIT)
    missing = "ACCAAAAAAAAAAAAAAAAAA"
    for call in (iam.reset_service_specific_credential, iam.delete_service_specific_credential):
        with pytest.raises(NoSuchEntityError, match=missing):
            call(UserName="sofia", ServiceSpecificCredentialId=missing)
    with pytest.raises(NoSuchEntityError):
        iam.update_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=missing, Status="Active")
    created = iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)[
        "ServiceSpecificCredential"
    ]
    after_create = len(_events(iam))
    with pytest.raises(ValidationError, match="Active, Inactive"):
        iam.update_service_specific_credential(
            UserName="sofia", ServiceSpecificCredentialId=created["ServiceSpecificCredentialId"], Status="Expired"
        )
    with pytest.raises(ValidationError, match="Must specify userName"):
        iam.list_service_specific_credentials()  # the root user has none of its own
    with pytest.raises(InvalidInputError, match="AllUsers"):
        iam.list_service_specific_credentials(UserName="sofia", AllUsers=True)
    assert len(_events(iam)) == after_create
    assert after_create > before  # the create recorded; nothing else did


def test_api_keys_expire_and_are_listed_for_all_users(iam: IdentityStore, monkeypatch: pytest.MonkeyPatch):
    iam.create_user(UserName="ana")
    iam.create_user(UserName="ben")
    key = iam.create_service_specific_credential(
        UserName="ana", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=1
    )
    shape = key["ServiceSpecificCredential"]
    assert set(shape) >= {"ServiceCredentialAlias", "ServiceCredentialSecret", "ExpirationDate"}
    assert "ServicePassword" not in shape and "ServiceUserName" not in shape
    assert (shape["ExpirationDate"] - shape["CreateDate"]).days == 1
    iam.create_service_specific_credential(UserName="ben", ServiceName="bedrock.amazonaws.com")
    iam.create_service_specific_credential(UserName="ben", ServiceName=CODECOMMIT)
    everyone = iam.list_service_specific_credentials(AllUsers=True, ServiceName="bedrock.amazonaws.com")
    assert [(c["UserName"], c["Status"]) for c in everyone["ServiceSpecificCredentials"]] == [
        ("ana", "Active"),
        ("ben", "Active"),
    ]
    later = iam.clock() + (shape["ExpirationDate"] - shape["CreateDate"]) * 2
    monkeypatch.setattr(iam, "clock", lambda: later)
    statuses = [
        c["Status"] for c in iam.list_service_specific_credentials(UserName="ana")["ServiceSpecificCredentials"]
    ]
    assert statuses == ["Expired"]
    assert len(iam.list_service_specific_credentials(AllUsers=True)["ServiceSpecificCredentials"]) == 3


def test_users_manage_their_own_service_credentials_only_when_a_policy_allows(iam: IdentityStore):
    for name in ("alice", "bob"):
        iam.create_user(UserName=name)
    self_service = _policy(
        {
            "Effect": "Allow",
            "Action": [
                "iam:CreateServiceSpecificCredential",
                "iam:ListServiceSpecificCredentials",
                "iam:ResetServiceSpecificCredential",
            ],
            "Resource": "arn:aws:iam::*:user/${aws:username}",
        }
    )
    with (
        bound_audit_context(as_user("alice")),
        pytest.raises(AccessDeniedError, match="iam:CreateServiceSpecificCredential"),
    ):
        iam.create_service_specific_credential(UserName="alice", ServiceName=CODECOMMIT)
    iam.put_user_policy(UserName="alice", PolicyName="self", PolicyDocument=self_service)
    with bound_audit_context(as_user("alice")):
        mine = iam.create_service_specific_credential(UserName="alice", ServiceName=CODECOMMIT)[
            "ServiceSpecificCredential"
        ]
        listed = iam.list_service_specific_credentials()["ServiceSpecificCredentials"]
        assert [c["ServiceSpecificCredentialId"] for c in listed] == [mine["ServiceSpecificCredentialId"]]
        iam.reset_service_specific_credential(ServiceSpecificCredentialId=mine["ServiceSpecificCredentialId"])
        with pytest.raises(AccessDeniedError, match="user/bob"):
            iam.create_service_specific_credential(UserName="bob", ServiceName=CODECOMMIT)
        with pytest.raises(AccessDeniedError, match="iam:DeleteServiceSpecificCredential"):
            iam.delete_service_specific_credential(ServiceSpecificCredentialId=mine["ServiceSpecificCredentialId"])
        with pytest.raises(AccessDeniedError):
            iam.list_service_specific_credentials(AllUsers=True)
    refused = [i for i in iam.security_log.incidents() if i.kind == "AccessDenied"]
    assert refused, "refusals are security incidents"


# -- SetSecurityTokenServicePreferences -----------------------------------------------------------------------------


def test_the_global_endpoint_token_version_is_an_account_setting_in_the_summary(iam: IdentityStore):
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    assert iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token") == {}
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    count = len(_events(iam))
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert len(_events(iam)) == count  # no change, nothing recorded
    with pytest.raises(ValidationError, match="v1Token, v2Token"):
        iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v3Token")
    assert len(_events(iam)) == count
    record = next(r for r in _trail(iam, "SetSecurityTokenServicePreferences") if "errorCode" not in r)
    assert record["requestParameters"] == {"globalEndpointTokenVersion": "v2Token"}
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v1Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 1
    with bound_audit_context(as_user("nobody")), pytest.raises(IdentityStoreError):
        iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")


# -- the command line -----------------------------------------------------------------------------------------------


def test_the_cli_generates_the_new_commands(store_url: str, capsys: pytest.CaptureFixture[str]):
    assert run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code == 0
    assert run(capsys, "--db", store_url, "iam", "create-user", "--user-name", "dev").exit_code == 0
    created = run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-service-specific-credential",
        "--user-name",
        "dev",
        "--service-name",
        CODECOMMIT,
    )
    assert created.exit_code == 0, created.stderr
    assert json.loads(created.stdout)["ServiceSpecificCredential"]["ServiceUserName"] == f"dev-at-{ACCOUNT}"
    keys = run(
        capsys, "--db", store_url, "iam", "get-context-keys-for-custom-policy", "--policy-input-list", AWS_EXAMPLE
    )
    assert json.loads(keys.stdout) == {"ContextKeyNames": ["aws:username", "aws:CurrentTime"]}


def test_service_specific_credentials_read_as_of_a_past_moment(iam: IdentityStore):
    iam.create_user(UserName="sofia")
    created = iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)
    credential_id = created["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    iam.projector.catch_up()
    position = iam.projector.position()
    iam.delete_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=credential_id)
    past = iam.at(f"position:{position}")
    then = past.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in then] == [credential_id]
    assert iam.list_service_specific_credentials(UserName="sofia")["ServiceSpecificCredentials"] == []


def test_no_service_password_is_anywhere_in_the_database(store_url: str, backend: str):
    with IdentityStore.open(store_url) as iam:
        iam.init(ACCOUNT)
        iam.create_user(UserName="sofia")
        created = iam.create_service_specific_credential(UserName="sofia", ServiceName=CODECOMMIT)
        credential_id = created["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
        api_key = iam.create_service_specific_credential(UserName="sofia", ServiceName="bedrock.amazonaws.com")
        reset = iam.reset_service_specific_credential(UserName="sofia", ServiceSpecificCredentialId=credential_id)
        iam.lookup_events()  # the trail projected
    secrets = [
        created["ServiceSpecificCredential"]["ServicePassword"],
        reset["ServiceSpecificCredential"]["ServicePassword"],
        api_key["ServiceSpecificCredential"]["ServiceCredentialSecret"],
    ]
    stored = _database_text(store_url, backend)
    assert credential_id.encode() in stored, "the search sees the database's contents"
    for secret in secrets:
        assert secret.encode() not in stored
