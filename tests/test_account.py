"""Account-wide operations: the alias, the summary and the authorization details report; on every backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamledger import IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import EntityAlreadyExistsError, IdentityStoreError, NoSuchEntityError, ValidationError
from tests.clirunner import run
from tests.shapes import assert_output_shape

EXAMPLE = Path("/work/shared/data/authorization-details-example.json")
ACCOUNT = "123456789012"
OTHER = "210987654321"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def as_root_of(account_id: str) -> AuditContext:
    return AuditContext(actor=f"arn:aws:iam::{account_id}:root", request_id=AuditContext.new_request_id())


# -- aliases ---------------------------------------------------------------------------------------------------


def test_an_account_has_no_alias_until_one_is_created(iam: IdentityStore):
    listed = iam.list_account_aliases()
    assert_output_shape("iam", "ListAccountAliases", listed)
    assert [] == listed["AccountAliases"]
    assert_output_shape("iam", "CreateAccountAlias", iam.create_account_alias(AccountAlias="example-corp"))
    assert ["example-corp"] == iam.list_account_aliases()["AccountAliases"]
    assert "example-corp" == iam.get_account()["Account"]["AccountAlias"]


def test_a_new_alias_replaces_the_old_one_and_frees_it(iam: IdentityStore):
    iam.create_account_alias(AccountAlias="first")
    iam.create_account_alias(AccountAlias="second")
    assert ["second"] == iam.list_account_aliases()["AccountAliases"]
    iam.create_account(OTHER)
    with bound_audit_context(as_root_of(OTHER)):
        iam.create_account_alias(AccountAlias="first")
        assert ["first"] == iam.list_account_aliases()["AccountAliases"]


def test_an_alias_is_unique_across_the_whole_store(iam: IdentityStore):
    iam.create_account_alias(AccountAlias="taken")
    with pytest.raises(EntityAlreadyExistsError, match="The account alias taken already exists."):
        iam.create_account_alias(AccountAlias="taken")
    iam.create_account(OTHER)
    with bound_audit_context(as_root_of(OTHER)), pytest.raises(EntityAlreadyExistsError):
        iam.create_account_alias(AccountAlias="taken")
    with bound_audit_context(as_root_of(OTHER)):
        assert [] == iam.list_account_aliases()["AccountAliases"]


def test_deleting_the_alias_frees_it(iam: IdentityStore):
    iam.create_account_alias(AccountAlias="gone-soon")
    assert_output_shape("iam", "DeleteAccountAlias", iam.delete_account_alias(AccountAlias="gone-soon"))
    assert [] == iam.list_account_aliases()["AccountAliases"]
    assert "AccountAlias" not in iam.get_account()["Account"]
    iam.create_account(OTHER)
    with bound_audit_context(as_root_of(OTHER)):
        iam.create_account_alias(AccountAlias="gone-soon")


def test_deleting_an_alias_the_account_does_not_have_is_no_such_entity(iam: IdentityStore):
    iam.create_account_alias(AccountAlias="mine")
    with pytest.raises(NoSuchEntityError, match="The account alias other cannot be found."):
        iam.delete_account_alias(AccountAlias="other")
    assert ["mine"] == iam.list_account_aliases()["AccountAliases"]


@pytest.mark.parametrize("alias", ["Upper", "-lead", "trail-", "dou--ble", "ab", "a" * 64])
def test_an_alias_must_match_aws_pattern(iam: IdentityStore, alias: str):
    with pytest.raises(ValidationError):
        iam.create_account_alias(AccountAlias=alias)


def test_an_alias_may_not_be_a_twelve_digit_number(iam: IdentityStore):
    with pytest.raises(IdentityStoreError, match="12-digit") as raised:
        iam.create_account_alias(AccountAlias="123456789012")
    assert "InvalidInput" == raised.value.code


# -- summary ---------------------------------------------------------------------------------------------------


def test_account_summary_counts_the_account_entities_and_shows_aws_quotas(iam: IdentityStore):
    iam.create_user(UserName="u1")
    iam.create_user(UserName="u2")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
    iam.create_instance_profile(InstanceProfileName="ip")
    iam.create_policy(PolicyName="p", PolicyDocument=DOC)
    iam.attach_user_policy(UserName="u1", PolicyArn=READ_ONLY)
    iam.attach_group_policy(GroupName="g", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/p")
    iam.create_account(OTHER)
    with bound_audit_context(as_root_of(OTHER)):
        iam.create_user(UserName="elsewhere")

    result = iam.get_account_summary()

    assert_output_shape("iam", "GetAccountSummary", result)
    summary = result["SummaryMap"]
    counts = ("Users", "Groups", "Roles", "InstanceProfiles", "Policies", "PolicyVersionsInUse")
    assert (2, 1, 1, 1, 1, 2) == tuple(summary[k] for k in counts)
    assert {
        "UsersQuota": 5000,
        "GroupsQuota": 300,
        "RolesQuota": 1000,
        "PoliciesQuota": 1500,
        "VersionsPerPolicyQuota": 5,
        "GroupsPerUserQuota": 10,
        "AttachedPoliciesPerUserQuota": 10,
        "AccessKeysPerUserQuota": 2,
        "UserPolicySizeQuota": 2048,
        "GroupPolicySizeQuota": 5120,
        "RolePolicySizeQuota": 10240,
        "PolicySizeQuota": 6144,
        "AssumeRolePolicySizeQuota": 2048,
        "AccountAccessKeysPresent": 1,
        "AccountMFAEnabled": 0,
    }.items() <= summary.items()


# -- authorization details ---------------------------------------------------------------------------------------


@pytest.fixture
def populated(iam: IdentityStore) -> IdentityStore:
    local = f"arn:aws:iam::{ACCOUNT}:policy/p"
    iam.create_policy(PolicyName="p", PolicyDocument=DOC, Description="local")
    iam.create_policy_version(PolicyArn=local, PolicyDocument=DOC, SetAsDefault=True)
    iam.create_user(UserName="alice", PermissionsBoundary=ADMIN, Tags=[{"Key": "k", "Value": "v"}])
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=DOC)
    iam.put_group_policy(GroupName="devs", PolicyName="g-inline", PolicyDocument=DOC)
    iam.attach_user_policy(UserName="alice", PolicyArn=local)
    iam.attach_group_policy(GroupName="devs", PolicyArn=READ_ONLY)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName="app", PolicyName="r-inline", PolicyDocument=DOC)
    iam.attach_role_policy(RoleName="app", PolicyArn=local)
    iam.create_instance_profile(InstanceProfileName="app-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    return iam


def test_authorization_details_report_everything_in_boto3_shape(populated: IdentityStore):
    result = populated.get_account_authorization_details()

    assert_output_shape("iam", "GetAccountAuthorizationDetails", result)
    assert result["IsTruncated"] is False
    alice, bob = result["UserDetailList"]
    assert ["devs"] == alice["GroupList"]
    assert [{"PolicyName": "inline", "PolicyDocument": json.loads(DOC)}] == alice["UserPolicyList"]
    assert [{"PolicyName": "p", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/p"}] == alice["AttachedManagedPolicies"]
    assert ADMIN == alice["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert [{"Key": "k", "Value": "v"}] == alice["Tags"]
    assert {"Path", "UserName", "UserId", "Arn", "CreateDate", "GroupList", "AttachedManagedPolicies", "Tags"} == set(
        bob
    )

    (group,) = result["GroupDetailList"]
    assert ["g-inline"] == [p["PolicyName"] for p in group["GroupPolicyList"]]
    assert [READ_ONLY] == [p["PolicyArn"] for p in group["AttachedManagedPolicies"]]

    (role,) = result["RoleDetailList"]
    assert "ec2.amazonaws.com" == role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"]
    assert ["app-profile"] == [p["InstanceProfileName"] for p in role["InstanceProfileList"]]
    assert ["app"] == [r["RoleName"] for r in role["InstanceProfileList"][0]["Roles"]]
    assert ["r-inline"] == [p["PolicyName"] for p in role["RolePolicyList"]]
    assert {} == role["RoleLastUsed"]

    policies = {p["PolicyName"]: p for p in result["Policies"]}
    assert {"p", "ReadOnlyAccess", "AdministratorAccess"} == set(policies)  # AWS's only when in use
    local = policies["p"]
    assert (2, 0, "v2", "local") == (
        local["AttachmentCount"],
        local["PermissionsBoundaryUsageCount"],
        local["DefaultVersionId"],
        local["Description"],
    )
    assert [("v2", True), ("v1", False)] == [
        (v["VersionId"], v["IsDefaultVersion"]) for v in local["PolicyVersionList"]
    ]
    assert "s3:*" == local["PolicyVersionList"][0]["Document"]["Statement"][0]["Action"]
    assert 1 == policies["AdministratorAccess"]["PermissionsBoundaryUsageCount"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (["User"], {"UserDetailList": 2}),
        (["Group"], {"GroupDetailList": 1}),
        (["Role"], {"RoleDetailList": 1}),
        (["LocalManagedPolicy"], {"Policies": 1}),
        (["AWSManagedPolicy"], {"Policies": 2}),
        (["User", "LocalManagedPolicy"], {"UserDetailList": 2, "Policies": 1}),
    ],
)
def test_authorization_details_filters_select_the_lists(populated: IdentityStore, filters, expected):
    result = populated.get_account_authorization_details(Filter=filters)
    lists = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")
    assert {k: expected.get(k, 0) for k in lists} == {k: len(result[k]) for k in lists}


def test_authorization_details_page_with_marker_and_max_items(populated: IdentityStore):
    first = populated.get_account_authorization_details(MaxItems=3)
    assert first["IsTruncated"] is True
    assert 2 == len(first["UserDetailList"])
    assert 1 == len(first["GroupDetailList"])
    rest = populated.get_account_authorization_details(MaxItems=100, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    assert ([], [], 1, 3) == (
        rest["UserDetailList"],
        rest["GroupDetailList"],
        len(rest["RoleDetailList"]),
        len(rest["Policies"]),
    )


def test_authorization_details_of_an_empty_account(iam: IdentityStore):
    result = iam.get_account_authorization_details()
    assert {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
        "IsTruncated": False,
    } == (result)


def test_authorization_details_match_the_shape_of_a_real_aws_dump(populated: IdentityStore):
    """Each detail item has only keys a real AWS dump (the shared example) has, plus the optional ones AWS omits
    when empty there (PermissionsBoundary, Description)."""
    if not EXAMPLE.exists():
        pytest.skip(f"the shared example {EXAMPLE} is not on this machine")
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    result = populated.get_account_authorization_details()
    optional = {"PermissionsBoundary", "Description", "UserPolicyList"}
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
        seen = set().union(*(set(item) for item in example[key]))
        for item in result[key]:
            assert set(item) - seen <= optional, key


# -- the CLI ---------------------------------------------------------------------------------------------------


def test_cli_manages_the_alias_and_prints_the_summary(capsys, store_url):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    assert 0 == run(capsys, "--db", store_url, "iam", "create-account-alias", "--account-alias", "my-corp").exit_code
    listed = run(capsys, "--db", store_url, "iam", "list-account-aliases")
    assert ["my-corp"] == json.loads(listed.stdout)["AccountAliases"]
    summary = run(capsys, "--db", store_url, "iam", "get-account-summary")
    assert 0 == summary.exit_code, summary.stderr
    assert 5 == json.loads(summary.stdout)["SummaryMap"]["VersionsPerPolicyQuota"]
    taken = run(capsys, "--db", store_url, "iam", "create-account-alias", "--account-alias", "my-corp")
    assert "An error occurred (EntityAlreadyExists) when calling the CreateAccountAlias operation:" in taken.stderr
