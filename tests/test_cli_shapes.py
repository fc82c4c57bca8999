"""Every `iamledger iam` command prints, with `--output json`, what the library returns for the same call, serialized
the same way (merged as the aws CLI merges pages), in the operation's output shape.

A realistic scenario runs through the command line; each step names its operation and the boto3-shaped parameters,
from which the step's command line is made (`--user-name alice --tags '[...]'`). The library calls the command
makes are recorded: the command must call the operation's method once with exactly those parameters and print its
result; a read is also made again through the library (through botocore's paginator where the aws CLI paginates)
and must print the same bytes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore import xform_name
from botocore.paginate import Paginator

from iamledger import IdentityStore
from iamledger.awsmodel import operation_model, paginator_config
from iamledger.cli import service
from iamledger.cli.output import render
from iamledger.cli.service import implemented_operations
from iamledger.domain.mfa import time_step, totp
from iamledger.services.simulation import simulate_custom_policy
from tests.clirunner import run
from tests.shapes import assert_output_shape
from tests.test_certificates import certificate, private_pem, rsa_key, ssh_public

ACCOUNT = "123456789012"
ARN = f"arn:aws:iam::{ACCOUNT}"
S3_READ = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
    }
)
S3_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
DENY_IAM = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
BOUNDARY = "arn:aws:iam::aws:policy/PowerUserAccess"
POLICY = f"{ARN}:policy/app/S3Read"

ALICE = f"{ARN}:user/eng/alice"
OIDC = f"{ARN}:oidc-provider/id.example.com"
SAML = f"{ARN}:saml-provider/Corp"
SAML_METADATA = (
    '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/">'
    + "<!-- padding -->" * 70
    + "</EntityDescriptor>"
)


def _service_credential_of_alice(results: dict[str, Any]) -> dict[str, Any]:
    created = results["CreateServiceSpecificCredential"]["ServiceSpecificCredential"]
    return {"UserName": "alice", "ServiceSpecificCredentialId": created["ServiceSpecificCredentialId"]}


def _key_of_alice(results: dict[str, Any]) -> dict[str, Any]:
    return {"UserName": "alice", "AccessKeyId": results["CreateAccessKey"]["AccessKey"]["AccessKeyId"]}


SSH_KEY = ssh_public(rsa_key())
SIGNING_CERT = certificate(rsa_key())
_SERVER_KEY = rsa_key()
SERVER_CERT = certificate(_SERVER_KEY)
SERVER_KEY = private_pem(_SERVER_KEY)
MFA_SERIAL = f"{ARN}:mfa/phone"


def _ssh_key_of_alice(results: dict[str, Any]) -> dict[str, Any]:
    return {"UserName": "alice", "SSHPublicKeyId": results["UploadSSHPublicKey"]["SSHPublicKey"]["SSHPublicKeyId"]}


def _signing_cert_of_alice(results: dict[str, Any]) -> dict[str, Any]:
    return {"UserName": "alice", "CertificateId": results["UploadSigningCertificate"]["Certificate"]["CertificateId"]}


def _mfa_codes(results: dict[str, Any], user: str, *, later: bool = False) -> dict[str, Any]:
    """Two consecutive codes of the scenario's device (the next two steps' for a resync: a code counts once)."""
    seed = results["CreateVirtualMFADevice"]["VirtualMFADevice"]["Base32StringSeed"].decode()
    step = time_step(datetime.now(UTC)) + (2 if later else 0)
    return {
        "UserName": user,
        "SerialNumber": MFA_SERIAL,
        "AuthenticationCode1": totp(seed, step - 1),
        "AuthenticationCode2": totp(seed, step),
    }


# (operation, boto3 parameters, or a function of the results so far by operation), in order: build an account up,
# look at it from every side, take it down again.
SCENARIO: list[tuple[str, dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("CreateUser", {"UserName": "alice", "Path": "/eng/", "Tags": [{"Key": "team", "Value": "core"}]}),
    ("CreateUser", {"UserName": "bob"}),
    ("CreateUser", {"UserName": "carol", "PermissionsBoundary": BOUNDARY}),
    ("GetUser", {"UserName": "alice"}),
    ("GetUser", {"UserName": "carol"}),
    ("ListUsers", {}),
    ("ListUsers", {"PathPrefix": "/eng/"}),
    ("UpdateUser", {"UserName": "bob", "NewPath": "/ops/"}),
    ("TagUser", {"UserName": "bob", "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "tier", "Value": "1"}]}),
    ("ListUserTags", {"UserName": "bob"}),
    ("UntagUser", {"UserName": "bob", "TagKeys": ["tier"]}),
    ("PutUserPermissionsBoundary", {"UserName": "bob", "PermissionsBoundary": BOUNDARY}),
    ("DeleteUserPermissionsBoundary", {"UserName": "bob"}),
    ("CreateGroup", {"GroupName": "devs", "Path": "/eng/"}),
    ("CreateGroup", {"GroupName": "admins"}),
    ("AddUserToGroup", {"GroupName": "devs", "UserName": "alice"}),
    ("AddUserToGroup", {"GroupName": "devs", "UserName": "bob"}),
    ("AddUserToGroup", {"GroupName": "admins", "UserName": "alice"}),
    ("GetGroup", {"GroupName": "devs"}),
    ("ListGroups", {}),
    ("ListGroupsForUser", {"UserName": "alice"}),
    ("UpdateGroup", {"GroupName": "admins", "NewGroupName": "operators"}),
    ("CreatePolicy", {"PolicyName": "S3Read", "Path": "/app/", "PolicyDocument": S3_READ, "Description": "Reads"}),
    ("CreatePolicy", {"PolicyName": "Tagged", "PolicyDocument": S3_ALL, "Tags": [{"Key": "k", "Value": "v"}]}),
    ("GetPolicy", {"PolicyArn": POLICY}),
    ("CreatePolicyVersion", {"PolicyArn": POLICY, "PolicyDocument": S3_ALL, "SetAsDefault": True}),
    ("CreatePolicyVersion", {"PolicyArn": POLICY, "PolicyDocument": S3_READ}),
    ("ListPolicyVersions", {"PolicyArn": POLICY}),
    ("GetPolicyVersion", {"PolicyArn": POLICY, "VersionId": "v2"}),
    ("SetDefaultPolicyVersion", {"PolicyArn": POLICY, "VersionId": "v3"}),
    ("DeletePolicyVersion", {"PolicyArn": POLICY, "VersionId": "v1"}),
    ("TagPolicy", {"PolicyArn": POLICY, "Tags": [{"Key": "owner", "Value": "sec"}]}),
    ("ListPolicyTags", {"PolicyArn": POLICY}),
    ("UntagPolicy", {"PolicyArn": POLICY, "TagKeys": ["owner"]}),
    ("ListPolicies", {"Scope": "Local"}),
    ("ListPolicies", {"Scope": "Local", "OnlyAttached": True}),
    ("CreateRole", {"RoleName": "app", "Path": "/service/", "AssumeRolePolicyDocument": TRUST}),
    (
        "CreateRole",
        {
            "RoleName": "batch",
            "AssumeRolePolicyDocument": TRUST,
            "Description": "Nightly jobs",
            "MaxSessionDuration": 7200,
            "PermissionsBoundary": BOUNDARY,
            "Tags": [{"Key": "team", "Value": "data"}],
        },
    ),
    ("GetRole", {"RoleName": "batch"}),
    ("ListRoles", {}),
    ("UpdateRole", {"RoleName": "app", "Description": "The app", "MaxSessionDuration": 3600}),
    ("UpdateRoleDescription", {"RoleName": "app", "Description": "The application"}),
    ("UpdateAssumeRolePolicy", {"RoleName": "app", "PolicyDocument": TRUST}),
    ("TagRole", {"RoleName": "app", "Tags": [{"Key": "env", "Value": "prod"}]}),
    ("ListRoleTags", {"RoleName": "app"}),
    ("UntagRole", {"RoleName": "app", "TagKeys": ["env"]}),
    ("PutRolePermissionsBoundary", {"RoleName": "app", "PermissionsBoundary": BOUNDARY}),
    ("DeleteRolePermissionsBoundary", {"RoleName": "app"}),
    ("CreateInstanceProfile", {"InstanceProfileName": "app", "Tags": [{"Key": "a", "Value": "b"}]}),
    ("AddRoleToInstanceProfile", {"InstanceProfileName": "app", "RoleName": "app"}),
    ("GetInstanceProfile", {"InstanceProfileName": "app"}),
    ("ListInstanceProfiles", {}),
    ("ListInstanceProfilesForRole", {"RoleName": "app"}),
    ("TagInstanceProfile", {"InstanceProfileName": "app", "Tags": [{"Key": "c", "Value": "d"}]}),
    ("ListInstanceProfileTags", {"InstanceProfileName": "app"}),
    ("UntagInstanceProfile", {"InstanceProfileName": "app", "TagKeys": ["a"]}),
    ("CreateOpenIDConnectProvider", {"Url": "https://id.example.com", "ClientIDList": ["app"]}),
    ("GetOpenIDConnectProvider", {"OpenIDConnectProviderArn": OIDC}),
    ("ListOpenIDConnectProviders", {}),
    ("AddClientIDToOpenIDConnectProvider", {"OpenIDConnectProviderArn": OIDC, "ClientID": "cli"}),
    ("RemoveClientIDFromOpenIDConnectProvider", {"OpenIDConnectProviderArn": OIDC, "ClientID": "app"}),
    ("UpdateOpenIDConnectProviderThumbprint", {"OpenIDConnectProviderArn": OIDC, "ThumbprintList": ["a" * 40]}),
    ("TagOpenIDConnectProvider", {"OpenIDConnectProviderArn": OIDC, "Tags": [{"Key": "k", "Value": "v"}]}),
    ("ListOpenIDConnectProviderTags", {"OpenIDConnectProviderArn": OIDC}),
    ("UntagOpenIDConnectProvider", {"OpenIDConnectProviderArn": OIDC, "TagKeys": ["k"]}),
    ("DeleteOpenIDConnectProvider", {"OpenIDConnectProviderArn": OIDC}),
    ("CreateSAMLProvider", {"Name": "Corp", "SAMLMetadataDocument": SAML_METADATA}),
    ("GetSAMLProvider", {"SAMLProviderArn": SAML}),
    ("ListSAMLProviders", {}),
    ("UpdateSAMLProvider", {"SAMLProviderArn": SAML, "SAMLMetadataDocument": SAML_METADATA + " "}),
    ("TagSAMLProvider", {"SAMLProviderArn": SAML, "Tags": [{"Key": "k", "Value": "v"}]}),
    ("ListSAMLProviderTags", {"SAMLProviderArn": SAML}),
    ("UntagSAMLProvider", {"SAMLProviderArn": SAML, "TagKeys": ["k"]}),
    ("DeleteSAMLProvider", {"SAMLProviderArn": SAML}),
    ("AttachUserPolicy", {"UserName": "alice", "PolicyArn": POLICY}),
    ("AttachGroupPolicy", {"GroupName": "devs", "PolicyArn": POLICY}),
    ("AttachRolePolicy", {"RoleName": "app", "PolicyArn": POLICY}),
    ("AttachRolePolicy", {"RoleName": "app", "PolicyArn": BOUNDARY}),
    ("ListAttachedUserPolicies", {"UserName": "alice"}),
    ("ListAttachedGroupPolicies", {"GroupName": "devs"}),
    ("ListAttachedRolePolicies", {"RoleName": "app"}),
    ("ListEntitiesForPolicy", {"PolicyArn": POLICY}),
    ("PutUserPolicy", {"UserName": "alice", "PolicyName": "inline", "PolicyDocument": DENY_IAM}),
    ("PutGroupPolicy", {"GroupName": "devs", "PolicyName": "inline", "PolicyDocument": S3_READ}),
    ("PutRolePolicy", {"RoleName": "app", "PolicyName": "inline", "PolicyDocument": S3_ALL}),
    ("GetUserPolicy", {"UserName": "alice", "PolicyName": "inline"}),
    ("GetGroupPolicy", {"GroupName": "devs", "PolicyName": "inline"}),
    ("GetRolePolicy", {"RoleName": "app", "PolicyName": "inline"}),
    ("ListUserPolicies", {"UserName": "alice"}),
    ("ListGroupPolicies", {"GroupName": "devs"}),
    ("ListRolePolicies", {"RoleName": "app"}),
    (
        "UpdateAccountPasswordPolicy",
        {"MinimumPasswordLength": 10, "RequireSymbols": True, "AllowUsersToChangePassword": True, "MaxPasswordAge": 90},
    ),
    ("GetAccountPasswordPolicy", {}),
    ("CreateLoginProfile", {"UserName": "alice", "Password": "Corr3ct-horse!", "PasswordResetRequired": False}),
    ("GetLoginProfile", {"UserName": "alice"}),
    ("UpdateLoginProfile", {"UserName": "alice", "PasswordResetRequired": True}),
    ("ChangePassword", {"OldPassword": "Corr3ct-horse!", "NewPassword": "Batt3ry-staple!"}),
    ("CreateAccessKey", {"UserName": "alice"}),
    ("ListAccessKeys", {"UserName": "alice"}),
    ("GetAccessKeyLastUsed", lambda results: {"AccessKeyId": _key_of_alice(results)["AccessKeyId"]}),
    ("UpdateAccessKey", lambda results: {**_key_of_alice(results), "Status": "Inactive"}),
    ("ListAccessKeys", {"UserName": "alice"}),
    ("DeleteAccessKey", _key_of_alice),
    ("CreateServiceSpecificCredential", {"UserName": "alice", "ServiceName": "codecommit.amazonaws.com"}),
    ("ListServiceSpecificCredentials", {"UserName": "alice"}),
    ("ResetServiceSpecificCredential", _service_credential_of_alice),
    (
        "UpdateServiceSpecificCredential",
        lambda results: {**_service_credential_of_alice(results), "Status": "Inactive"},
    ),
    ("DeleteServiceSpecificCredential", _service_credential_of_alice),
    ("UploadSSHPublicKey", {"UserName": "alice", "SSHPublicKeyBody": SSH_KEY}),
    ("ListSSHPublicKeys", {"UserName": "alice"}),
    ("GetSSHPublicKey", lambda results: {**_ssh_key_of_alice(results), "Encoding": "PEM"}),
    ("UpdateSSHPublicKey", lambda results: {**_ssh_key_of_alice(results), "Status": "Inactive"}),
    ("DeleteSSHPublicKey", _ssh_key_of_alice),
    ("UploadSigningCertificate", {"UserName": "alice", "CertificateBody": SIGNING_CERT}),
    ("ListSigningCertificates", {"UserName": "alice"}),
    ("UpdateSigningCertificate", lambda results: {**_signing_cert_of_alice(results), "Status": "Inactive"}),
    ("DeleteSigningCertificate", _signing_cert_of_alice),
    ("CreateVirtualMFADevice", {"VirtualMFADeviceName": "phone", "Tags": [{"Key": "team", "Value": "core"}]}),
    ("TagMFADevice", {"SerialNumber": MFA_SERIAL, "Tags": [{"Key": "env", "Value": "prod"}]}),
    ("ListMFADeviceTags", {"SerialNumber": MFA_SERIAL}),
    ("UntagMFADevice", {"SerialNumber": MFA_SERIAL, "TagKeys": ["env"]}),
    ("EnableMFADevice", lambda results: _mfa_codes(results, "alice")),
    ("ListMFADevices", {"UserName": "alice"}),
    ("ListVirtualMFADevices", {"AssignmentStatus": "Assigned"}),
    ("ResyncMFADevice", lambda results: _mfa_codes(results, "alice", later=True)),
    ("GetMFADevice", {"SerialNumber": MFA_SERIAL, "UserName": "alice"}),
    ("DeactivateMFADevice", {"UserName": "alice", "SerialNumber": MFA_SERIAL}),
    ("DeleteVirtualMFADevice", {"SerialNumber": MFA_SERIAL}),
    (
        "UploadServerCertificate",
        {
            "ServerCertificateName": "web",
            "Path": "/elb/",
            "CertificateBody": SERVER_CERT,
            "PrivateKey": SERVER_KEY,
            "Tags": [{"Key": "env", "Value": "prod"}],
        },
    ),
    ("GetServerCertificate", {"ServerCertificateName": "web"}),
    ("ListServerCertificates", {"PathPrefix": "/elb/"}),
    ("TagServerCertificate", {"ServerCertificateName": "web", "Tags": [{"Key": "team", "Value": "edge"}]}),
    ("ListServerCertificateTags", {"ServerCertificateName": "web"}),
    ("UntagServerCertificate", {"ServerCertificateName": "web", "TagKeys": ["env"]}),
    ("UpdateServerCertificate", {"ServerCertificateName": "web", "NewServerCertificateName": "web2"}),
    ("DeleteServerCertificate", {"ServerCertificateName": "web2"}),
    ("DeleteLoginProfile", {"UserName": "alice"}),
    ("DeleteAccountPasswordPolicy", {}),
    ("CreateAccountAlias", {"AccountAlias": "example-corp"}),
    ("ListAccountAliases", {}),
    ("SetSecurityTokenServicePreferences", {"GlobalEndpointTokenVersion": "v2Token"}),
    ("GetAccountSummary", {}),
    ("GenerateCredentialReport", {}),
    ("GetCredentialReport", {}),
    ("CreateServiceLinkedRole", {"AWSServiceName": "autoscaling.amazonaws.com", "Description": "scaling"}),
    ("DeleteServiceLinkedRole", {"RoleName": "AWSServiceRoleForAutoScaling"}),
    (
        "GetServiceLinkedRoleDeletionStatus",
        lambda results: {"DeletionTaskId": results["DeleteServiceLinkedRole"]["DeletionTaskId"]},
    ),
    ("GetAccountAuthorizationDetails", {}),
    ("GetAccountAuthorizationDetails", {"Filter": ["Role", "LocalManagedPolicy"]}),
    (
        "SimulateCustomPolicy",
        {
            "PolicyInputList": [S3_READ, DENY_IAM],
            "ActionNames": ["s3:GetObject", "s3:PutObject", "iam:CreateUser"],
            "ResourceArns": ["arn:aws:s3:::bucket/key"],
        },
    ),
    (
        "SimulatePrincipalPolicy",
        {"PolicySourceArn": f"{ARN}:user/eng/alice", "ActionNames": ["s3:GetObject", "iam:ListUsers"]},
    ),
    ("GetContextKeysForCustomPolicy", {"PolicyInputList": [S3_READ, DENY_IAM]}),
    ("GetContextKeysForPrincipalPolicy", {"PolicySourceArn": f"{ARN}:user/eng/alice"}),
    ("ListPoliciesGrantingServiceAccess", {"Arn": f"{ARN}:user/eng/alice", "ServiceNamespaces": ["s3", "iam"]}),
    ("DetachUserPolicy", {"UserName": "alice", "PolicyArn": POLICY}),
    ("DetachGroupPolicy", {"GroupName": "devs", "PolicyArn": POLICY}),
    ("DetachRolePolicy", {"RoleName": "app", "PolicyArn": POLICY}),
    ("DetachRolePolicy", {"RoleName": "app", "PolicyArn": BOUNDARY}),
    ("DeleteUserPolicy", {"UserName": "alice", "PolicyName": "inline"}),
    ("DeleteGroupPolicy", {"GroupName": "devs", "PolicyName": "inline"}),
    ("DeleteRolePolicy", {"RoleName": "app", "PolicyName": "inline"}),
    ("RemoveRoleFromInstanceProfile", {"InstanceProfileName": "app", "RoleName": "app"}),
    ("DeleteInstanceProfile", {"InstanceProfileName": "app"}),
    ("RemoveUserFromGroup", {"GroupName": "devs", "UserName": "bob"}),
    ("RemoveUserFromGroup", {"GroupName": "devs", "UserName": "alice"}),
    ("RemoveUserFromGroup", {"GroupName": "operators", "UserName": "alice"}),
    ("DeleteGroup", {"GroupName": "devs"}),
    ("DeleteGroup", {"GroupName": "operators"}),
    ("DeleteUser", {"UserName": "bob"}),
    ("DeleteRole", {"RoleName": "app"}),
    ("DeletePolicy", {"PolicyArn": f"{ARN}:policy/Tagged"}),
    ("DeleteAccountAlias", {"AccountAlias": "example-corp"}),
    ("ListUsers", {}),
    ("ListRoles", {}),
    ("ListGroups", {}),
]

# Implemented operations the scenario does not run, each with the reason. Keep it empty where possible: a new
# operation fails test_the_scenario_covers_every_implemented_operation until it is added to the scenario or here.
NOT_COVERED: dict[str, str] = {}
# Global options of some steps: who acts, where the account's root user cannot.
ACTING_AS = {"ChangePassword": ["--as", ALICE]}

READS = ("Get", "List", "Simulate")


def _arguments(operation: str, params: dict[str, Any]) -> list[str]:
    """The aws CLI command line of a call: ``--user-name alice``, lists of strings as words, structures as JSON."""
    shape = operation_model("iam", operation).input_shape
    args: list[str] = []
    for name, value in params.items():
        option = "--" + xform_name(name, "-")
        member = shape.members[name]
        if member.type_name == "boolean":
            args.append(option if value else "--no-" + option[2:])
        elif member.type_name == "list" and all(isinstance(v, str) for v in value):
            args += [option, *value]
        elif isinstance(value, list | dict):
            args += [option, json.dumps(value)]
        else:
            args += [option, str(value)]
    return args


def _parse_dates(shape: Any, value: Any) -> Any:
    """A ``--output json`` value with its timestamps parsed back, as boto3 would return it."""
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return {k: _parse_dates(shape.members.get(k), v) for k, v in value.items()}
    if shape.type_name == "list" and isinstance(value, list):
        return [_parse_dates(shape.member, v) for v in value]
    if shape.type_name == "timestamp" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def _aws_cli_result(operation: str, method: Any, params: dict[str, Any]) -> Any:
    """What the aws CLI hands its formatter for ``method(**params)``: the pages merged by botocore's paginator."""
    config = paginator_config("iam", operation)
    if config is None:
        return method(**params)
    return Paginator(method, config, operation_model("iam", operation)).paginate(**params).build_full_result()


def _replay(result: Any) -> Any:
    """A method that returns ``result`` (a page that says it is the last)."""
    return lambda **_: copy.deepcopy(result)


# Values AWS returns that botocore's model leaves out of the member's enum: a simulation of custom policies names
# their type "IAM Policy" (and "Resource Policy"), as AWS's own examples show; the model lists only stored kinds.
OUTSIDE_MODEL_ENUMS = {"SourcePolicyType": {"IAM Policy", "Resource Policy"}}


def _in_model_enums(value: Any) -> Any:
    """``value`` with the values of :data:`OUTSIDE_MODEL_ENUMS` replaced by one the model lists, for the shape check."""
    if isinstance(value, dict):
        return {
            k: "none" if v in OUTSIDE_MODEL_ENUMS.get(k, ()) else _in_model_enums(v)  # type: ignore[operator]
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_in_model_enums(v) for v in value]
    return value


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any], Any]]:
    """Every library call an ``iam`` command makes: (operation, parameters, result)."""
    recorded: list[tuple[str, dict[str, Any], Any]] = []

    def recording(operation: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            recorded.append((operation, dict(kwargs), copy.deepcopy(result)))
            return result

        return call

    for operation in implemented_operations("iam").values():
        if operation in service.STORELESS:
            monkeypatch.setitem(service.STORELESS, operation, recording(operation, service.STORELESS[operation]))
        else:
            name = xform_name(operation)
            monkeypatch.setattr(IdentityStore, name, recording(operation, getattr(IdentityStore, name)))
    return recorded


def test_the_scenario_covers_every_implemented_operation():
    implemented = set(implemented_operations("iam").values())
    covered = {operation for operation, _ in SCENARIO}
    assert not covered - implemented, "the scenario runs operations the CLI does not implement"
    assert not set(NOT_COVERED) & covered, "an operation is both covered and excluded"
    assert implemented - set(NOT_COVERED) == covered, (
        "add the new operations to SCENARIO (or, with a reason, to NOT_COVERED)"
    )


def test_every_command_prints_the_librarys_result(capsys, store_url, calls):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    store = IdentityStore.open(store_url)
    results: dict[str, Any] = {}
    try:
        for step, (operation, given) in enumerate(SCENARIO):
            params = given(results) if callable(given) else given
            where = f"step {step}: {operation} {params}"
            command = xform_name(operation, "-")
            del calls[:]
            options = ["--db", store_url, "--output", "json", *ACTING_AS.get(operation, [])]
            result = run(capsys, *options, "iam", command, *_arguments(operation, params))
            assert 0 == result.exit_code, f"{where}: {result.stderr}"

            assert [(operation, params)] == [(op, kwargs) for op, kwargs, _ in calls], where
            returned = results[operation] = calls[0][2]
            assert_output_shape("iam", operation, _in_model_enums(returned))
            expected = _aws_cli_result(operation, _replay(returned), params)
            assert render(expected or None, "json") == result.stdout, where

            output_shape = operation_model("iam", operation).output_shape
            printed = _parse_dates(output_shape, json.loads(result.stdout)) if result.stdout else {}
            assert_output_shape("iam", operation, _in_model_enums(printed))

            if operation.startswith(READS):
                del calls[:]
                if operation in service.STORELESS:
                    method = simulate_custom_policy
                    again = _aws_cli_result(operation, method, params)
                else:
                    again = _aws_cli_result(operation, getattr(store, xform_name(operation)), params)
                assert render(again or None, "json") == result.stdout, f"{where}: again through the library"
    finally:
        store.close()
