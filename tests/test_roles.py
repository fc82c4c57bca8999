"""Roles: create, read, list, update, trust policies, tags, boundaries, policies, delete, service-linked roles, with
AWS's errors; on every backend, through the library and the CLI."""

from __future__ import annotations

import json
import uuid

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    NoSuchEntityError,
    UnmodifiableEntityError,
    ValidationError,
)
from iamledger.domain.ids import new_unique_id
from iamledger.domain.roles import Role
from iamledger.projections.views.catalogue import aws_managed_policies
from tests.clirunner import run
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
TRUST_TEXT = json.dumps(TRUST)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
)
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _role(iam: IdentityStore, name: str = "app", **kwargs) -> dict:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_TEXT, **kwargs)["Role"]


def _code(caught: pytest.ExceptionInfo[IdentityStoreError]) -> str:
    return caught.value.code


def _service_linked_role(iam: IdentityStore, name: str = "AWSServiceRoleForSupport") -> None:
    """A service-linked role as an AWS service would create it (CreateRole refuses the reserved path)."""
    entity_id = uuid.uuid4()
    with iam.acting(ACCOUNT):
        index = iam._claim_name(ACCOUNT, "role", name, entity_id, "taken")
        role = Role.create_with_id(
            entity_id,
            account_id=ACCOUNT,
            role_id=new_unique_id("AROA"),
            role_name=name,
            path="/aws-service-role/support.amazonaws.com/",
            assume_role_policy_document=TRUST_TEXT,
            description=None,
            max_session_duration=3600,
            permissions_boundary=None,
            tags=[],
        )
        iam.save(role, index)


def _notifications(iam: IdentityStore) -> int:
    return len(iam.recorder.select_notifications(start=1, limit=100_000))


# -- create, get, list -----------------------------------------------------------------------------------------------


def test_create_role_returns_the_role_in_boto3_shape(iam: IdentityStore):
    result = iam.create_role(
        RoleName="app",
        Path="/svc/",
        AssumeRolePolicyDocument=TRUST_TEXT,
        Description="runs the app",
        Tags=[{"Key": "team", "Value": "core"}],
    )

    assert_output_shape("iam", "CreateRole", result)
    role = result["Role"]
    assert "app" == role["RoleName"]
    assert "/svc/" == role["Path"]
    assert f"arn:aws:iam::{ACCOUNT}:role/svc/app" == role["Arn"]
    assert role["RoleId"].startswith("AROA")
    assert 21 == len(role["RoleId"])
    assert 0 == role["CreateDate"].microsecond
    assert TRUST == role["AssumeRolePolicyDocument"]
    assert "runs the app" == role["Description"]
    assert [{"Key": "team", "Value": "core"}] == role["Tags"]


def test_role_names_are_unique_whatever_their_case(iam: IdentityStore):
    _role(iam, "Deploy")
    with pytest.raises(EntityAlreadyExistsError, match="operation: Role with name deploy already exists.$"):
        _role(iam, "deploy")
    assert ["Deploy"] == [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_get_role_finds_any_case_with_everything(iam: IdentityStore):
    _role(iam, "app", PermissionsBoundary=READ_ONLY, Tags=[{"Key": "k", "Value": "v"}], MaxSessionDuration=7200)

    result = iam.get_role(RoleName="APP")

    assert_output_shape("iam", "GetRole", result)
    role = result["Role"]
    assert "app" == role["RoleName"]
    assert TRUST == role["AssumeRolePolicyDocument"]
    assert 7200 == role["MaxSessionDuration"]
    assert {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": READ_ONLY} == role[
        "PermissionsBoundary"
    ]
    assert [{"Key": "k", "Value": "v"}] == role["Tags"]
    assert {} == role["RoleLastUsed"]
    assert "Description" not in role


def test_max_session_duration_defaults_to_an_hour(iam: IdentityStore):
    _role(iam)
    assert 3600 == iam.get_role(RoleName="app")["Role"]["MaxSessionDuration"]


def test_get_role_is_served_by_another_process_from_the_views(iam: IdentityStore, store_url: str):
    created = _role(iam)
    with IdentityStore.open(store_url) as other:
        assert created["RoleId"] == other.get_role(RoleName="app")["Role"]["RoleId"]


@pytest.mark.parametrize(
    "call",
    [
        lambda iam: iam.get_role(RoleName="nobody"),
        lambda iam: iam.update_role(RoleName="nobody", Description="x"),
        lambda iam: iam.update_role_description(RoleName="nobody", Description="x"),
        lambda iam: iam.update_assume_role_policy(RoleName="nobody", PolicyDocument=TRUST_TEXT),
        lambda iam: iam.delete_role(RoleName="nobody"),
        lambda iam: iam.tag_role(RoleName="nobody", Tags=[{"Key": "k", "Value": "v"}]),
        lambda iam: iam.untag_role(RoleName="nobody", TagKeys=["k"]),
        lambda iam: iam.list_role_tags(RoleName="nobody"),
        lambda iam: iam.put_role_permissions_boundary(RoleName="nobody", PermissionsBoundary=READ_ONLY),
        lambda iam: iam.delete_role_permissions_boundary(RoleName="nobody"),
        lambda iam: iam.put_role_policy(RoleName="nobody", PolicyName="p", PolicyDocument=POLICY),
        lambda iam: iam.get_role_policy(RoleName="nobody", PolicyName="p"),
        lambda iam: iam.delete_role_policy(RoleName="nobody", PolicyName="p"),
        lambda iam: iam.list_role_policies(RoleName="nobody"),
        lambda iam: iam.attach_role_policy(RoleName="nobody", PolicyArn=READ_ONLY),
        lambda iam: iam.detach_role_policy(RoleName="nobody", PolicyArn=READ_ONLY),
        lambda iam: iam.list_attached_role_policies(RoleName="nobody"),
    ],
)
def test_an_unknown_role_is_no_such_entity_with_aws_message(iam: IdentityStore, call):
    with pytest.raises(NoSuchEntityError, match="operation: The role with name nobody cannot be found.$"):
        call(iam)


def test_list_roles_has_no_tags_boundary_or_last_use_and_filters_by_path(iam: IdentityStore):
    _role(iam, "a", Path="/eng/", Description="first", Tags=[{"Key": "k", "Value": "v"}], PermissionsBoundary=READ_ONLY)
    _role(iam, "b", Path="/ops/")

    result = iam.list_roles(PathPrefix="/eng/")

    assert_output_shape("iam", "ListRoles", result)
    assert [
        {
            "Path",
            "RoleName",
            "RoleId",
            "Arn",
            "CreateDate",
            "AssumeRolePolicyDocument",
            "Description",
            "MaxSessionDuration",
        }
    ] == [set(r) for r in result["Roles"]]
    assert ["a", "b"] == [r["RoleName"] for r in iam.list_roles()["Roles"]]


def test_list_roles_pages_with_marker_and_max_items(iam: IdentityStore):
    for name in ("r1", "r2", "r3"):
        _role(iam, name)
    first = iam.list_roles(MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.list_roles(MaxItems=2, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert ["r1", "r2", "r3"] == [r["RoleName"] for r in first["Roles"] + second["Roles"]]


# -- trust policies ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "Syntax errors in policy."),
        (json.dumps({**TRUST, "Statement": [{**TRUST["Statement"][0], "Resource": "*"}]}), "Has prohibited field"),
        (json.dumps({**TRUST, "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}), "Principal"),
        (json.dumps({**TRUST, "Statement": [{**TRUST["Statement"][0], "Action": "s3:GetObject"}]}), "Trust Policy"),
    ],
)
def test_a_malformed_trust_policy_is_refused_and_creates_nothing(iam: IdentityStore, document, message):
    before = _notifications(iam)
    with pytest.raises(IdentityStoreError, match=message) as caught:
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=document)
    assert "MalformedPolicyDocument" == _code(caught)
    assert 400 == caught.value.http_status
    assert before == _notifications(iam)
    assert [] == iam.list_roles()["Roles"]


def test_a_trust_policy_over_2048_characters_is_limit_exceeded(iam: IdentityStore):
    statement = {**TRUST["Statement"][0], "Principal": {"AWS": [f"arn:aws:iam::{i:012d}:root" for i in range(80)]}}
    big = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with pytest.raises(IdentityStoreError, match="operation: Cannot exceed quota for ACLSizePerRole: 2048$") as caught:
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=big)
    assert "LimitExceeded" == _code(caught)


def test_update_assume_role_policy_replaces_the_trust_policy(iam: IdentityStore):
    _role(iam)
    new = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}
    assert_output_shape(
        "iam", "UpdateAssumeRolePolicy", iam.update_assume_role_policy(RoleName="app", PolicyDocument=json.dumps(new))
    )
    assert new == iam.get_role(RoleName="app")["Role"]["AssumeRolePolicyDocument"]


def test_update_assume_role_policy_refuses_a_malformed_document_and_keeps_the_old(iam: IdentityStore):
    _role(iam)
    with pytest.raises(IdentityStoreError) as caught:
        iam.update_assume_role_policy(RoleName="app", PolicyDocument=POLICY)
    assert "MalformedPolicyDocument" == _code(caught)
    assert TRUST == iam.get_role(RoleName="app")["Role"]["AssumeRolePolicyDocument"]


def test_the_service_linked_role_path_is_reserved(iam: IdentityStore):
    with pytest.raises(IdentityStoreError) as caught:
        _role(iam, Path="/aws-service-role/ec2.amazonaws.com/")
    assert "InvalidInput" == _code(caught)
    assert "Path prefix '/aws-service-role/' can only be used for AWS Service linked Roles" == caught.value.message


# -- updates -----------------------------------------------------------------------------------------------------


def test_update_role_changes_description_and_duration_separately(iam: IdentityStore):
    _role(iam, Description="old")
    assert_output_shape("iam", "UpdateRole", iam.update_role(RoleName="app", MaxSessionDuration=43200))
    role = iam.get_role(RoleName="app")["Role"]
    assert (43200, "old") == (role["MaxSessionDuration"], role["Description"])

    iam.update_role(RoleName="app", Description="new")
    role = iam.get_role(RoleName="app")["Role"]
    assert (43200, "new") == (role["MaxSessionDuration"], role["Description"])


@pytest.mark.parametrize("duration", [3599, 43201])
def test_max_session_duration_is_between_one_and_twelve_hours(iam: IdentityStore, duration):
    _role(iam)
    with pytest.raises(ValidationError, match="maxSessionDuration"):
        iam.update_role(RoleName="app", MaxSessionDuration=duration)
    with pytest.raises(ValidationError):
        _role(iam, "other", MaxSessionDuration=duration)


def test_update_role_description_returns_the_role(iam: IdentityStore):
    _role(iam, Tags=[{"Key": "k", "Value": "v"}])
    result = iam.update_role_description(RoleName="APP", Description="now described")
    assert_output_shape("iam", "UpdateRoleDescription", result)
    assert "now described" == result["Role"]["Description"]
    assert [{"Key": "k", "Value": "v"}] == result["Role"]["Tags"]
    assert "now described" == iam.get_role(RoleName="app")["Role"]["Description"]


def test_roles_cannot_be_renamed(iam: IdentityStore):
    with pytest.raises(TypeError):
        iam.update_role(RoleName="app", NewRoleName="other")  # type: ignore[call-arg]


# -- tags and boundaries ---------------------------------------------------------------------------------------


def test_role_tags_overwrite_case_insensitively_and_untag_removes(iam: IdentityStore):
    _role(iam, Tags=[{"Key": "Dept", "Value": "a"}])
    assert_output_shape(
        "iam",
        "TagRole",
        iam.tag_role(RoleName="app", Tags=[{"Key": "dept", "Value": "b"}, {"Key": "env", "Value": "p"}]),
    )
    listed = iam.list_role_tags(RoleName="app")
    assert_output_shape("iam", "ListRoleTags", listed)
    assert [{"Key": "dept", "Value": "b"}, {"Key": "env", "Value": "p"}] == listed["Tags"]

    assert_output_shape("iam", "UntagRole", iam.untag_role(RoleName="app", TagKeys=["ENV", "missing"]))
    assert [{"Key": "dept", "Value": "b"}] == iam.list_role_tags(RoleName="app")["Tags"]


def test_more_than_fifty_role_tags_are_limit_exceeded(iam: IdentityStore):
    _role(iam, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(IdentityStoreError) as caught:
        iam.tag_role(RoleName="app", Tags=[{"Key": "one-more", "Value": "v"}])
    assert "LimitExceeded" == _code(caught)


def test_duplicate_role_tag_keys_are_invalid_input(iam: IdentityStore):
    with pytest.raises(IdentityStoreError) as caught:
        _role(iam, Tags=[{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}])
    assert "InvalidInput" == _code(caught)
    assert [] == iam.list_roles()["Roles"]


def test_role_boundaries_must_name_an_existing_managed_policy(iam: IdentityStore):
    _role(iam)
    with pytest.raises(NoSuchEntityError):
        iam.put_role_permissions_boundary(RoleName="app", PermissionsBoundary="arn:aws:iam::aws:policy/NoSuchThing")
    with pytest.raises(NoSuchEntityError):
        _role(iam, "other", PermissionsBoundary="arn:aws:iam::aws:policy/NoSuchThing")
    result = iam.put_role_permissions_boundary(RoleName="app", PermissionsBoundary=READ_ONLY)
    assert_output_shape("iam", "PutRolePermissionsBoundary", result)
    assert READ_ONLY == iam.get_role(RoleName="app")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
    assert_output_shape("iam", "DeleteRolePermissionsBoundary", iam.delete_role_permissions_boundary(RoleName="app"))
    assert "PermissionsBoundary" not in iam.get_role(RoleName="app")["Role"]


# -- inline and attached policies -----------------------------------------------------------------------------


def test_inline_role_policies_put_get_list_delete(iam: IdentityStore):
    _role(iam)
    assert_output_shape(
        "iam", "PutRolePolicy", iam.put_role_policy(RoleName="app", PolicyName="read", PolicyDocument=POLICY)
    )
    got = iam.get_role_policy(RoleName="APP", PolicyName="read")
    assert_output_shape("iam", "GetRolePolicy", got)
    assert {"RoleName": "app", "PolicyName": "read", "PolicyDocument": json.loads(POLICY)} == got
    listed = iam.list_role_policies(RoleName="app")
    assert_output_shape("iam", "ListRolePolicies", listed)
    assert ["read"] == listed["PolicyNames"]

    assert_output_shape("iam", "DeleteRolePolicy", iam.delete_role_policy(RoleName="app", PolicyName="read"))
    assert [] == iam.list_role_policies(RoleName="app")["PolicyNames"]
    with pytest.raises(NoSuchEntityError, match="operation: The role policy with name read cannot be found.$"):
        iam.get_role_policy(RoleName="app", PolicyName="read")
    with pytest.raises(NoSuchEntityError, match="operation: The role policy with name read cannot be found.$"):
        iam.delete_role_policy(RoleName="app", PolicyName="read")


def test_inline_role_policies_share_a_10240_character_quota(iam: IdentityStore):
    _role(iam)
    actions = [f"s3:Get{i:04d}Object" for i in range(300)]
    big = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})
    iam.put_role_policy(RoleName="app", PolicyName="one", PolicyDocument=big)
    with pytest.raises(
        IdentityStoreError, match="operation: Maximum policy size of 10240 bytes exceeded for role app$"
    ) as caught:
        iam.put_role_policy(RoleName="app", PolicyName="two", PolicyDocument=big)
    assert "LimitExceeded" == _code(caught)
    iam.put_role_policy(RoleName="app", PolicyName="one", PolicyDocument=big)  # replacing itself still fits


def test_an_identity_policy_with_a_principal_is_malformed(iam: IdentityStore):
    _role(iam)
    with pytest.raises(IdentityStoreError) as caught:
        iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=TRUST_TEXT)
    assert "MalformedPolicyDocument" == _code(caught)


def test_attached_role_policies_attach_list_detach(iam: IdentityStore):
    _role(iam)
    assert_output_shape("iam", "AttachRolePolicy", iam.attach_role_policy(RoleName="app", PolicyArn=READ_ONLY))
    iam.attach_role_policy(RoleName="app", PolicyArn=READ_ONLY)  # a no-op
    listed = iam.list_attached_role_policies(RoleName="app")
    assert_output_shape("iam", "ListAttachedRolePolicies", listed)
    assert [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}] == listed["AttachedPolicies"]

    assert_output_shape("iam", "DetachRolePolicy", iam.detach_role_policy(RoleName="app", PolicyArn=READ_ONLY))
    assert [] == iam.list_attached_role_policies(RoleName="app")["AttachedPolicies"]
    with pytest.raises(NoSuchEntityError):
        iam.detach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    with pytest.raises(NoSuchEntityError):
        iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:iam::aws:policy/NoSuchThing")


def test_a_role_holds_at_most_ten_managed_policies(iam: IdentityStore):
    _role(iam)
    arns = [a for a in aws_managed_policies() if ":policy/aws-service-role/" not in a][:11]
    for arn in arns[:10]:
        iam.attach_role_policy(RoleName="app", PolicyArn=arn)
    with pytest.raises(IdentityStoreError, match="operation: Cannot exceed quota for PoliciesPerRole: 10$") as caught:
        iam.attach_role_policy(RoleName="app", PolicyArn=arns[10])
    assert "LimitExceeded" == _code(caught)


# -- deletion -----------------------------------------------------------------------------------------------------


def test_delete_role_conflicts_while_policies_or_instance_profiles_remain(iam: IdentityStore):
    _role(iam)
    iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=POLICY)
    with pytest.raises(DeleteConflictError, match="operation: Cannot delete entity, must delete policies first.$"):
        iam.delete_role(RoleName="app")
    iam.delete_role_policy(RoleName="app", PolicyName="p")

    iam.attach_role_policy(RoleName="app", PolicyArn=READ_ONLY)
    with pytest.raises(DeleteConflictError, match="operation: Cannot delete entity, must detach all policies first.$"):
        iam.delete_role(RoleName="app")
    iam.detach_role_policy(RoleName="app", PolicyArn=READ_ONLY)

    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
    with pytest.raises(
        DeleteConflictError, match="operation: Cannot delete entity, must remove roles from instance profile first.$"
    ) as caught:
        iam.delete_role(RoleName="app")
    assert 409 == caught.value.http_status
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")

    assert_output_shape("iam", "DeleteRole", iam.delete_role(RoleName="app"))
    assert [] == iam.list_roles()["Roles"]
    with pytest.raises(NoSuchEntityError):
        iam.get_role(RoleName="app")


def test_tags_and_boundary_do_not_block_delete_and_go_with_the_role(iam: IdentityStore):
    first = _role(iam, Tags=[{"Key": "k", "Value": "v"}], PermissionsBoundary=READ_ONLY)["RoleId"]
    iam.delete_role(RoleName="app")
    second = _role(iam)
    assert first != second["RoleId"]
    assert [] == iam.list_role_tags(RoleName="app")["Tags"]
    assert "PermissionsBoundary" not in iam.get_role(RoleName="app")["Role"]


# -- service-linked roles ----------------------------------------------------------------------------------------

PROTECTED = (
    "operation: Cannot perform the operation on the protected role 'AWSServiceRoleForSupport'"
    " - this role is only modifiable by AWS$"
)


@pytest.mark.parametrize(
    "call",
    [
        lambda iam, n: iam.delete_role(RoleName=n),
        lambda iam, n: iam.update_assume_role_policy(RoleName=n, PolicyDocument=TRUST_TEXT),
        lambda iam, n: iam.put_role_policy(RoleName=n, PolicyName="p", PolicyDocument=POLICY),
        lambda iam, n: iam.delete_role_policy(RoleName=n, PolicyName="p"),
        lambda iam, n: iam.attach_role_policy(RoleName=n, PolicyArn=READ_ONLY),
        lambda iam, n: iam.detach_role_policy(RoleName=n, PolicyArn=READ_ONLY),
        lambda iam, n: iam.put_role_permissions_boundary(RoleName=n, PermissionsBoundary=READ_ONLY),
        lambda iam, n: iam.delete_role_permissions_boundary(RoleName=n),
    ],
)
def test_service_linked_roles_are_unmodifiable(iam: IdentityStore, call):
    _service_linked_role(iam)
    before = _notifications(iam)
    with pytest.raises(UnmodifiableEntityError, match=PROTECTED) as caught:
        call(iam, "AWSServiceRoleForSupport")
    assert ("UnmodifiableEntity", 400) == (caught.value.code, caught.value.http_status)
    assert before == _notifications(iam)
    role = iam.get_role(RoleName="AWSServiceRoleForSupport")["Role"]
    assert f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport" == role["Arn"]


def test_service_linked_roles_can_be_described_and_tagged(iam: IdentityStore):
    _service_linked_role(iam)
    iam.update_role_description(RoleName="AWSServiceRoleForSupport", Description="support")
    iam.tag_role(RoleName="AWSServiceRoleForSupport", Tags=[{"Key": "k", "Value": "v"}])
    role = iam.get_role(RoleName="AWSServiceRoleForSupport")["Role"]
    assert ("support", [{"Key": "k", "Value": "v"}]) == (role["Description"], role["Tags"])


# -- events -------------------------------------------------------------------------------------------------------


def test_every_change_is_an_event_of_the_role_with_the_audit_actor(iam: IdentityStore):
    role_id = _role(iam)["RoleId"]
    iam.update_role(RoleName="app", Description="d")
    iam.update_assume_role_policy(RoleName="app", PolicyDocument=TRUST_TEXT)
    iam.tag_role(RoleName="app", Tags=[{"Key": "k", "Value": "v"}])
    iam.untag_role(RoleName="app", TagKeys=["k"])
    iam.put_role_policy(RoleName="app", PolicyName="p", PolicyDocument=POLICY)
    iam.delete_role_policy(RoleName="app", PolicyName="p")
    iam.delete_role(RoleName="app")

    events = [
        iam.mapper.to_domain_event(n)
        for n in iam.recorder.select_notifications(start=1, limit=1000)
        if "roles:" in n.topic
    ]
    names = [type(e).__qualname__ for e in events]
    assert [
        "Role.Created",
        "Role.Updated",
        "Role.AssumeRolePolicyUpdated",
        "Role.Tagged",
        "Role.Untagged",
        "Role.InlinePolicyPut",
        "Role.InlinePolicyDeleted",
        "Role.Deleted",
    ] == names
    assert role_id == events[0].role_id
    assert TRUST_TEXT == events[0].assume_role_policy_document
    assert {f"arn:aws:iam::{ACCOUNT}:root"} == {e.actor for e in events}


# -- input validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"RoleName": "a b"}, "at 'roleName' failed to satisfy constraint: Member must satisfy regular expression"),
        ({"RoleName": "x" * 65}, "Member must have length less than or equal to 64"),
        ({"RoleName": "ok", "Path": "no-slash"}, "at 'path' failed to satisfy constraint"),
    ],
)
def test_invalid_role_input_is_a_validation_error_in_aws_words(iam: IdentityStore, params, fragment):
    with pytest.raises(ValidationError) as caught:
        iam.create_role(AssumeRolePolicyDocument=TRUST_TEXT, **params)
    assert caught.value.message.startswith("1 validation error detected: Value ")
    assert fragment in caught.value.message
    assert [] == iam.list_roles()["Roles"]


# -- the command line ---------------------------------------------------------------------------------------------


def _iso(value):
    """A library result as the CLI prints it: dates as ISO strings."""
    return json.loads(json.dumps(value, default=lambda d: d.isoformat()))


def test_cli_create_role_from_a_trust_file_and_get_role(capsys, store_url, tmp_path):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(json.dumps(TRUST, indent=2), encoding="utf-8")

    created = run(
        capsys, "--db", store_url, "iam", "create-role", "--role-name", "app",
        "--assume-role-policy-document", f"file://{trust_file}", "--tags", "Key=team,Value=core",
    )  # fmt: skip
    assert 0 == created.exit_code, created.stderr
    role = json.loads(created.stdout)["Role"]
    assert TRUST == role["AssumeRolePolicyDocument"]
    assert [{"Key": "team", "Value": "core"}] == role["Tags"]

    got = run(capsys, "--db", store_url, "iam", "get-role", "--role-name", "app", "--output", "json")
    assert 0 == got.exit_code, got.stderr
    with IdentityStore.open(store_url) as store:
        assert _iso(store.get_role(RoleName="app")) == json.loads(got.stdout)
        listed = json.loads(run(capsys, "--db", store_url, "iam", "list-roles").stdout)
        assert {"Roles": _iso(store.list_roles()["Roles"])} == listed  # the CLI pages through, as the aws CLI


def test_cli_reports_aws_errors_with_exit_code_254(capsys, store_url):
    run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT)
    missing = run(capsys, "--db", store_url, "iam", "get-role", "--role-name", "nobody")
    assert 254 == missing.exit_code
    assert (
        "An error occurred (NoSuchEntity) when calling the GetRole operation: "
        "The role with name nobody cannot be found." in missing.stderr
    )
    bad = run(
        capsys, "--db", store_url, "iam", "create-role", "--role-name", "r", "--assume-role-policy-document", POLICY
    )
    assert 254 == bad.exit_code
    assert "(MalformedPolicyDocument) when calling the CreateRole operation" in bad.stderr


def test_cli_updates_and_deletes_a_role(capsys, store_url):
    run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT)
    run(
        capsys,
        "--db",
        store_url,
        "iam",
        "create-role",
        "--role-name",
        "app",
        "--assume-role-policy-document",
        TRUST_TEXT,
    )
    updated = run(
        capsys, "--db", store_url, "iam", "update-role", "--role-name", "app", "--max-session-duration", "7200"
    )
    assert 0 == updated.exit_code, updated.stderr
    assert "" == updated.stdout
    role = json.loads(run(capsys, "--db", store_url, "iam", "get-role", "--role-name", "app").stdout)["Role"]
    assert 7200 == role["MaxSessionDuration"]
    assert 0 == run(capsys, "--db", store_url, "iam", "delete-role", "--role-name", "app").exit_code
    assert {"Roles": []} == json.loads(run(capsys, "--db", store_url, "iam", "list-roles").stdout)
