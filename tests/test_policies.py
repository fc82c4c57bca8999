"""Managed policies: create, read, list, versions, tags, attachments, boundaries, usage and deletion, with AWS's
errors; AWS managed policies are read-only. On every backend."""

from __future__ import annotations

import json

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    LimitExceededError,
    NoSuchEntityError,
    ValidationError,
)
from tests.clirunner import run
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def doc(action: str | list[str] = "s3:GetObject") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def arn(name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy{path}{name}"


def create(iam: IdentityStore, name: str = "p", **kwargs) -> dict:
    return iam.create_policy(PolicyName=name, PolicyDocument=kwargs.pop("document", doc()), **kwargs)["Policy"]


# -- create / get / list -------------------------------------------------------------------------------------


def test_create_policy_returns_the_policy_in_boto3_shape_with_v1_default(iam: IdentityStore):
    result = iam.create_policy(
        PolicyName="s3-read",
        Path="/team/",
        PolicyDocument=doc(),
        Description="reads objects",
        Tags=[{"Key": "team", "Value": "core"}],
    )

    assert_output_shape("iam", "CreatePolicy", result)
    policy = result["Policy"]
    assert arn("s3-read", "/team/") == policy["Arn"]
    assert policy["PolicyId"].startswith("ANPA")
    assert 21 == len(policy["PolicyId"])
    assert "v1" == policy["DefaultVersionId"]
    assert (0, 0, True) == (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"], policy["IsAttachable"])
    assert policy["CreateDate"] == policy["UpdateDate"]
    assert 0 == policy["CreateDate"].microsecond
    assert [{"Key": "team", "Value": "core"}] == policy["Tags"]


def test_get_policy_shows_description_and_tags(iam: IdentityStore):
    create(iam, "p", Description="hello", Tags=[{"Key": "k", "Value": "v"}])
    result = iam.get_policy(PolicyArn=arn("p"))
    assert_output_shape("iam", "GetPolicy", result)
    assert "hello" == result["Policy"]["Description"]
    assert [{"Key": "k", "Value": "v"}] == result["Policy"]["Tags"]


def test_get_policy_without_description_or_tags_omits_the_description_and_answers_no_tags(iam: IdentityStore):
    # As AWS answers (moto's aws_verified test_policy_resource_returns_subset_of_available_attributes): CreatePolicy
    # has no Tags member for a policy created without tags, GetPolicy an empty list.
    assert "Tags" not in create(iam, "p")
    result = iam.get_policy(PolicyArn=arn("p"))
    assert_output_shape("iam", "GetPolicy", result)
    assert "Description" not in result["Policy"]
    assert [] == result["Policy"]["Tags"]
    iam.tag_policy(PolicyArn=arn("p"), Tags=[{"Key": "k", "Value": "v"}])
    iam.untag_policy(PolicyArn=arn("p"), TagKeys=["k"])
    assert [] == iam.get_policy(PolicyArn=arn("p"))["Policy"]["Tags"]


def test_policy_names_are_unique_whatever_their_case(iam: IdentityStore):
    create(iam, "Admin")
    with pytest.raises(EntityAlreadyExistsError, match="A policy called admin already exists. Duplicate names"):
        create(iam, "admin", Path="/other/")
    assert ["Admin"] == [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]


def test_an_unknown_policy_is_no_such_entity_with_aws_message(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError, match=f"Policy {arn('nope')} was not found."):
        iam.get_policy(PolicyArn=arn("nope"))
    with pytest.raises(NoSuchEntityError, match="was not found"):
        iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")


def test_a_policy_is_found_only_under_its_own_path(iam: IdentityStore):
    create(iam, "p", Path="/a/")
    with pytest.raises(NoSuchEntityError):
        iam.get_policy(PolicyArn=arn("p", "/b/"))
    with pytest.raises(NoSuchEntityError):
        iam.delete_policy(PolicyArn=arn("p", "/b/"))


def test_a_string_that_is_no_policy_arn_is_invalid_input(iam: IdentityStore):
    with pytest.raises(IdentityStoreError, match="is not valid") as raised:
        iam.get_policy(PolicyArn="arn:aws:iam::123456789012:user/alice")
    assert "InvalidInput" == raised.value.code


def test_a_malformed_document_is_refused_and_nothing_is_created(iam: IdentityStore):
    with pytest.raises(IdentityStoreError) as raised:
        iam.create_policy(PolicyName="bad", PolicyDocument='{"Version": "2012-10-17"')
    assert "MalformedPolicyDocument" == raised.value.code
    principal = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}]}
    with pytest.raises(IdentityStoreError, match="Policy document should not specify a principal."):
        iam.create_policy(PolicyName="bad", PolicyDocument=json.dumps(principal))
    assert [] == iam.list_policies(Scope="Local")["Policies"]
    create(iam, "bad")  # the name was never taken


def test_a_document_over_6144_characters_is_limit_exceeded(iam: IdentityStore):
    actions = [f"s3:Get{'x' * 40}{i}" for i in range(150)]
    with pytest.raises(IdentityStoreError, match="PolicySize") as raised:
        iam.create_policy(PolicyName="big", PolicyDocument=doc(actions))
    assert "LimitExceeded" == raised.value.code


def test_the_policy_path_regex_refuses_an_asterisk(iam: IdentityStore):
    with pytest.raises(ValidationError, match="path"):
        create(iam, "p", Path="/a*/")


def test_list_policies_scopes_merge_aws_and_local(iam: IdentityStore):
    create(iam, "mine")
    local = iam.list_policies(Scope="Local")
    aws = iam.list_policies(Scope="AWS", MaxItems=1000)
    everything = iam.list_policies(MaxItems=1000)
    assert_output_shape("iam", "ListPolicies", everything)
    assert ["mine"] == [p["PolicyName"] for p in local["Policies"]]
    assert READ_ONLY in [p["Arn"] for p in aws["Policies"]]
    assert all(p["Arn"].startswith("arn:aws:iam::aws:policy/") for p in aws["Policies"])
    assert len(aws["Policies"]) + 1 == len(everything["Policies"])
    assert all("Tags" not in p and "Description" not in p for p in everything["Policies"])


def test_list_policies_filters_by_path_prefix_and_pages(iam: IdentityStore):
    for name in ("a", "b", "c"):
        create(iam, name, Path="/team/")
    create(iam, "other", Path="/ops/")
    first = iam.list_policies(Scope="Local", PathPrefix="/team/", MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.list_policies(Scope="Local", PathPrefix="/team/", MaxItems=2, Marker=first["Marker"])
    assert ["a", "b", "c"] == [p["PolicyName"] for p in first["Policies"] + second["Policies"]]
    service_roles = iam.list_policies(Scope="AWS", PathPrefix="/service-role/")["Policies"]
    assert ["AWSConfigRole"] == [p["PolicyName"] for p in service_roles]


def test_only_attached_and_usage_filter_select_policies_in_use(iam: IdentityStore):
    create(iam, "attached")
    create(iam, "boundary")
    create(iam, "idle")
    iam.create_user(UserName="u", PermissionsBoundary=arn("boundary"))
    iam.attach_user_policy(UserName="u", PolicyArn=arn("attached"))
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY)

    def names(**kwargs) -> list[str]:
        return [p["PolicyName"] for p in iam.list_policies(**kwargs)["Policies"]]

    assert ["ReadOnlyAccess", "attached"] == names(OnlyAttached=True)
    assert ["attached"] == names(OnlyAttached=True, Scope="Local")
    assert ["attached"] == names(OnlyAttached=True, Scope="Local", PolicyUsageFilter="PermissionsPolicy")
    assert ["boundary"] == names(Scope="Local", PolicyUsageFilter="PermissionsBoundary")
    assert ["attached", "boundary", "idle"] == names(Scope="Local", PolicyUsageFilter="PermissionsPolicy")


# -- attachments and boundaries are counted --------------------------------------------------------------------


def test_attachments_and_boundaries_are_counted_per_policy(iam: IdentityStore):
    create(iam, "p")
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST, PermissionsBoundary=arn("p"))
    iam.attach_user_policy(UserName="u", PolicyArn=arn("p"))
    iam.attach_group_policy(GroupName="g", PolicyArn=arn("p"))
    iam.put_user_permissions_boundary(UserName="u", PermissionsBoundary=arn("p"))

    policy = iam.get_policy(PolicyArn=arn("p"))["Policy"]
    assert (2, 2) == (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"])

    iam.detach_group_policy(GroupName="g", PolicyArn=arn("p"))
    iam.delete_role_permissions_boundary(RoleName="r")
    policy = iam.get_policy(PolicyArn=arn("p"))["Policy"]
    assert (1, 1) == (policy["AttachmentCount"], policy["PermissionsBoundaryUsageCount"])


def test_aws_managed_policies_are_counted_per_account(iam: IdentityStore):
    iam.create_user(UserName="u", PermissionsBoundary=ADMIN)
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    read_only = iam.get_policy(PolicyArn=READ_ONLY)
    assert_output_shape("iam", "GetPolicy", read_only)
    assert 1 == read_only["Policy"]["AttachmentCount"]
    assert 1 == iam.get_policy(PolicyArn=ADMIN)["Policy"]["PermissionsBoundaryUsageCount"]
    assert 0 == iam.get_policy(PolicyArn=ADMIN)["Policy"]["AttachmentCount"]


def test_list_entities_for_policy_names_users_groups_and_roles(iam: IdentityStore):
    create(iam, "p")
    iam.create_user(UserName="alice", Path="/eng/")
    iam.create_user(UserName="bob", PermissionsBoundary=arn("p"))
    iam.create_group(GroupName="devs")
    role_id = iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST)["Role"]["RoleId"]
    iam.attach_user_policy(UserName="alice", PolicyArn=arn("p"))
    iam.attach_group_policy(GroupName="devs", PolicyArn=arn("p"))
    iam.attach_role_policy(RoleName="app", PolicyArn=arn("p"))

    everything = iam.list_entities_for_policy(PolicyArn=arn("p"))
    assert_output_shape("iam", "ListEntitiesForPolicy", everything)
    assert ["alice", "bob"] == [u["UserName"] for u in everything["PolicyUsers"]]
    assert ["devs"] == [g["GroupName"] for g in everything["PolicyGroups"]]
    assert [{"RoleName": "app", "RoleId": role_id}] == everything["PolicyRoles"]

    attached = iam.list_entities_for_policy(PolicyArn=arn("p"), PolicyUsageFilter="PermissionsPolicy")
    assert ["alice"] == [u["UserName"] for u in attached["PolicyUsers"]]
    bounded = iam.list_entities_for_policy(PolicyArn=arn("p"), PolicyUsageFilter="PermissionsBoundary")
    assert (["bob"], [], []) == (
        [u["UserName"] for u in bounded["PolicyUsers"]],
        bounded["PolicyGroups"],
        bounded["PolicyRoles"],
    )
    roles_only = iam.list_entities_for_policy(PolicyArn=arn("p"), EntityFilter="Role")
    assert ([], [], ["app"]) == (
        roles_only["PolicyUsers"],
        roles_only["PolicyGroups"],
        [r["RoleName"] for r in roles_only["PolicyRoles"]],
    )
    eng = iam.list_entities_for_policy(PolicyArn=arn("p"), EntityFilter="User", PathPrefix="/eng/")
    assert ["alice"] == [u["UserName"] for u in eng["PolicyUsers"]]
    first = iam.list_entities_for_policy(PolicyArn=arn("p"), MaxItems=2)
    assert first["IsTruncated"] is True
    rest = iam.list_entities_for_policy(PolicyArn=arn("p"), MaxItems=2, Marker=first["Marker"])
    assert 4 == sum(len(page[k]) for page in (first, rest) for k in ("PolicyUsers", "PolicyGroups", "PolicyRoles"))


def test_list_entities_for_an_unknown_policy_is_no_such_entity(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError):
        iam.list_entities_for_policy(PolicyArn=arn("nope"))


# -- versions --------------------------------------------------------------------------------------------------


def test_versions_are_created_listed_and_read(iam: IdentityStore):
    created_at = create(iam, "p")["UpdateDate"]
    v2 = iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc("s3:PutObject"))
    assert_output_shape("iam", "CreatePolicyVersion", v2)
    assert {"VersionId", "IsDefaultVersion", "CreateDate"} == set(v2["PolicyVersion"])
    assert ("v2", False) == (v2["PolicyVersion"]["VersionId"], v2["PolicyVersion"]["IsDefaultVersion"])
    assert created_at == iam.get_policy(PolicyArn=arn("p"))["Policy"]["UpdateDate"]

    v3 = iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc("s3:*"), SetAsDefault=True)
    assert v3["PolicyVersion"]["IsDefaultVersion"] is True
    assert "v3" == iam.get_policy(PolicyArn=arn("p"))["Policy"]["DefaultVersionId"]

    listed = iam.list_policy_versions(PolicyArn=arn("p"))
    assert_output_shape("iam", "ListPolicyVersions", listed)
    assert [("v3", True), ("v2", False), ("v1", False)] == [
        (v["VersionId"], v["IsDefaultVersion"]) for v in listed["Versions"]
    ]
    got = iam.get_policy_version(PolicyArn=arn("p"), VersionId="v2")
    assert_output_shape("iam", "GetPolicyVersion", got)
    assert "s3:PutObject" == got["PolicyVersion"]["Document"]["Statement"][0]["Action"]


def test_an_unknown_version_is_no_such_entity_with_aws_message(iam: IdentityStore):
    create(iam, "p")
    message = f"Policy {arn('p')} version v9 does not exist or is not attachable."
    with pytest.raises(NoSuchEntityError, match=message):
        iam.get_policy_version(PolicyArn=arn("p"), VersionId="v9")
    with pytest.raises(NoSuchEntityError, match=message):
        iam.set_default_policy_version(PolicyArn=arn("p"), VersionId="v9")
    with pytest.raises(NoSuchEntityError, match=message):
        iam.delete_policy_version(PolicyArn=arn("p"), VersionId="v9")


def test_at_most_five_versions_and_ids_are_never_reused(iam: IdentityStore):
    create(iam, "p")
    for _ in range(4):
        iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc())
    with pytest.raises(LimitExceededError, match="A managed policy can have up to 5 versions. Before you create"):
        iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc())

    iam.delete_policy_version(PolicyArn=arn("p"), VersionId="v5")
    iam.delete_policy_version(PolicyArn=arn("p"), VersionId="v3")
    v6 = iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc())["PolicyVersion"]["VersionId"]
    assert "v6" == v6
    assert ["v6", "v4", "v2", "v1"] == [
        v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn("p"))["Versions"]
    ]


def test_the_default_version_cannot_be_deleted_until_another_is_default(iam: IdentityStore):
    create(iam, "p")
    iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc("s3:PutObject"))
    with pytest.raises(DeleteConflictError, match="Cannot delete the default version of a policy."):
        iam.delete_policy_version(PolicyArn=arn("p"), VersionId="v1")
    before = iam.get_policy(PolicyArn=arn("p"))["Policy"]["UpdateDate"]
    iam.set_default_policy_version(PolicyArn=arn("p"), VersionId="v2")
    iam.delete_policy_version(PolicyArn=arn("p"), VersionId="v1")
    policy = iam.get_policy(PolicyArn=arn("p"))["Policy"]
    assert "v2" == policy["DefaultVersionId"]
    assert policy["UpdateDate"] >= before
    assert ["v2"] == [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn("p"))["Versions"]]


def test_a_malformed_new_version_is_refused_and_nothing_is_stored(iam: IdentityStore):
    create(iam, "p")
    with pytest.raises(IdentityStoreError) as raised:
        iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument="{}")
    assert "MalformedPolicyDocument" == raised.value.code
    assert ["v1"] == [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn("p"))["Versions"]]


def test_the_version_id_regex_is_checked(iam: IdentityStore):
    create(iam, "p")
    with pytest.raises(ValidationError):
        iam.get_policy_version(PolicyArn=arn("p"), VersionId="1")


# -- tags ------------------------------------------------------------------------------------------------------


def test_policy_tag_keys_are_case_sensitive(iam: IdentityStore):
    create(iam, "p", Tags=[{"Key": "Dept", "Value": "a"}])
    iam.tag_policy(PolicyArn=arn("p"), Tags=[{"Key": "dept", "Value": "b"}])
    iam.tag_policy(PolicyArn=arn("p"), Tags=[{"Key": "Dept", "Value": "c"}])
    listed = iam.list_policy_tags(PolicyArn=arn("p"))
    assert_output_shape("iam", "ListPolicyTags", listed)
    assert [{"Key": "Dept", "Value": "c"}, {"Key": "dept", "Value": "b"}] == listed["Tags"]
    iam.untag_policy(PolicyArn=arn("p"), TagKeys=["DEPT", "dept"])
    assert [{"Key": "Dept", "Value": "c"}] == iam.list_policy_tags(PolicyArn=arn("p"))["Tags"]


def test_at_most_fifty_tags_and_no_aws_prefix(iam: IdentityStore):
    create(iam, "p", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(LimitExceededError):
        iam.tag_policy(PolicyArn=arn("p"), Tags=[{"Key": "one-more", "Value": "v"}])
    with pytest.raises(IdentityStoreError, match="aws:"):
        iam.tag_policy(PolicyArn=arn("p"), Tags=[{"Key": "aws:x", "Value": "v"}])
    assert 50 == len(iam.list_policy_tags(PolicyArn=arn("p"))["Tags"])


def test_tagging_an_unknown_policy_is_no_such_entity(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError):
        iam.tag_policy(PolicyArn=arn("nope"), Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(NoSuchEntityError):
        iam.list_policy_tags(PolicyArn=arn("nope"))


# -- AWS managed policies are read-only ------------------------------------------------------------------------


def test_aws_managed_policies_can_be_read(iam: IdentityStore):
    versions = iam.list_policy_versions(PolicyArn=READ_ONLY)["Versions"]
    default = iam.get_policy(PolicyArn=READ_ONLY)["Policy"]["DefaultVersionId"]
    assert [(default, True)] == [(v["VersionId"], v["IsDefaultVersion"]) for v in versions]
    got = iam.get_policy_version(PolicyArn=READ_ONLY, VersionId=default)["PolicyVersion"]
    assert "2012-10-17" == got["Document"]["Version"]
    assert [] == iam.list_policy_tags(PolicyArn=READ_ONLY)["Tags"]


@pytest.mark.parametrize(
    ("operation", "call"),
    [
        ("DeletePolicy", lambda iam: iam.delete_policy(PolicyArn=READ_ONLY)),
        ("CreatePolicyVersion", lambda iam: iam.create_policy_version(PolicyArn=READ_ONLY, PolicyDocument=doc())),
        ("SetDefaultPolicyVersion", lambda iam: iam.set_default_policy_version(PolicyArn=READ_ONLY, VersionId="v1")),
        ("DeletePolicyVersion", lambda iam: iam.delete_policy_version(PolicyArn=READ_ONLY, VersionId="v1")),
        ("TagPolicy", lambda iam: iam.tag_policy(PolicyArn=READ_ONLY, Tags=[{"Key": "k", "Value": "v"}])),
        ("UntagPolicy", lambda iam: iam.untag_policy(PolicyArn=READ_ONLY, TagKeys=["k"])),
    ],
)
def test_aws_managed_policies_cannot_be_changed(iam: IdentityStore, operation, call):
    """AWS owns them: a customer's write is a cross-account request nobody can authorize (AccessDenied, 403)."""
    with pytest.raises(IdentityStoreError) as raised:
        call(iam)
    assert ("AccessDenied", 403) == (raised.value.code, raised.value.http_status)
    expected = f"User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: iam:{operation} on resource: policy"
    assert raised.value.message.startswith(expected)


# -- deletion --------------------------------------------------------------------------------------------------


def test_delete_conflicts_while_attached_to_any_entity(iam: IdentityStore):
    create(iam, "p")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="r", PolicyArn=arn("p"))
    with pytest.raises(DeleteConflictError, match="Cannot delete a policy attached to entities."):
        iam.delete_policy(PolicyArn=arn("p"))
    iam.detach_role_policy(RoleName="r", PolicyArn=arn("p"))
    iam.delete_policy(PolicyArn=arn("p"))
    with pytest.raises(NoSuchEntityError):
        iam.get_policy(PolicyArn=arn("p"))


def test_delete_conflicts_while_used_as_a_permissions_boundary(iam: IdentityStore):
    create(iam, "p")
    iam.create_user(UserName="u", PermissionsBoundary=arn("p"))
    with pytest.raises(DeleteConflictError, match="Cannot delete a policy attached to entities."):
        iam.delete_policy(PolicyArn=arn("p"))
    iam.delete_user_permissions_boundary(UserName="u")
    iam.delete_policy(PolicyArn=arn("p"))


def test_delete_conflicts_while_non_default_versions_remain(iam: IdentityStore):
    create(iam, "p")
    iam.create_policy_version(PolicyArn=arn("p"), PolicyDocument=doc(), SetAsDefault=True)
    with pytest.raises(DeleteConflictError, match="This policy has more than one version. Before you delete"):
        iam.delete_policy(PolicyArn=arn("p"))
    iam.delete_policy_version(PolicyArn=arn("p"), VersionId="v1")
    iam.delete_policy(PolicyArn=arn("p"))
    assert [] == iam.list_policies(Scope="Local")["Policies"]


def test_a_recreated_policy_gets_a_new_id_and_no_old_state(iam: IdentityStore):
    first = create(iam, "p", Tags=[{"Key": "k", "Value": "v"}])["PolicyId"]
    iam.delete_policy(PolicyArn=arn("p"))
    second = create(iam, "P")
    assert first != second["PolicyId"]
    assert [] == iam.get_policy(PolicyArn=arn("P"))["Policy"]["Tags"]
    assert ["v1"] == [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn("P"))["Versions"]]


def test_a_deleted_policy_cannot_be_attached(iam: IdentityStore):
    create(iam, "p")
    iam.delete_policy(PolicyArn=arn("p"))
    iam.create_user(UserName="u")
    with pytest.raises(NoSuchEntityError, match="does not exist or is not attachable"):
        iam.attach_user_policy(UserName="u", PolicyArn=arn("p"))


# -- the CLI ---------------------------------------------------------------------------------------------------


def test_cli_creates_lists_and_versions_policies(capsys, store_url, tmp_path):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    policy_file = tmp_path / "p.json"
    policy_file.write_text(doc(), encoding="utf-8")

    created = run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-policy",
        "--policy-name",
        "p",
        "--policy-document",
        f"file://{policy_file}",
    )
    assert 0 == created.exit_code, created.stderr
    assert arn("p") == json.loads(created.stdout)["Policy"]["Arn"]

    listed = run(capsys, "--db", store_url, "iam", "list-policies", "--scope", "Local")
    assert 0 == listed.exit_code, listed.stderr
    assert ["p"] == [p["PolicyName"] for p in json.loads(listed.stdout)["Policies"]]

    versioned = run(
        capsys, "--db", store_url, "iam", "create-policy-version", "--policy-arn", arn("p"),
        "--policy-document", f"file://{policy_file}", "--set-as-default",
    )  # fmt: skip
    assert 0 == versioned.exit_code, versioned.stderr
    assert "v2" == json.loads(versioned.stdout)["PolicyVersion"]["VersionId"]

    got = run(capsys, "--db", store_url, "iam", "get-policy-version", "--policy-arn", arn("p"), "--version-id", "v2")
    assert "s3:GetObject" == json.loads(got.stdout)["PolicyVersion"]["Document"]["Statement"][0]["Action"]


def test_cli_reports_a_delete_conflict_as_the_aws_cli_does(capsys, store_url, tmp_path):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    policy_file = tmp_path / "p.json"
    policy_file.write_text(doc(), encoding="utf-8")
    run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-policy",
        "--policy-name",
        "p",
        "--policy-document",
        f"file://{policy_file}",
    )
    run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-policy-version",
        "--policy-arn",
        arn("p"),
        "--policy-document",
        f"file://{policy_file}",
    )

    result = run(
        capsys, "--db", store_url, "iam", "delete-policy-version", "--policy-arn", arn("p"), "--version-id", "v1"
    )

    assert 0 != result.exit_code
    assert "An error occurred (DeleteConflict) when calling the DeletePolicyVersion operation:" in result.stderr
    assert "Cannot delete the default version of a policy." in result.stderr
