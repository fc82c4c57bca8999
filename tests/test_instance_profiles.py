"""Instance profiles: create, read, list, hold one role, tags, delete, with AWS's errors; on every backend, through
the library and the CLI."""

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
    UnmodifiableEntityError,
    ValidationError,
)
from tests.clirunner import run
from tests.shapes import assert_output_shape
from tests.test_roles import TRUST, TRUST_TEXT, _iso, _service_linked_role

ACCOUNT = "123456789012"


def _role(iam: IdentityStore, name: str = "app") -> dict:
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_TEXT)["Role"]


def _profile(iam: IdentityStore, name: str = "web", **kwargs) -> dict:
    return iam.create_instance_profile(InstanceProfileName=name, **kwargs)["InstanceProfile"]


def test_create_instance_profile_returns_it_in_boto3_shape(iam: IdentityStore):
    result = iam.create_instance_profile(
        InstanceProfileName="web", Path="/ec2/", Tags=[{"Key": "team", "Value": "core"}]
    )

    assert_output_shape("iam", "CreateInstanceProfile", result)
    profile = result["InstanceProfile"]
    assert "web" == profile["InstanceProfileName"]
    assert "/ec2/" == profile["Path"]
    assert f"arn:aws:iam::{ACCOUNT}:instance-profile/ec2/web" == profile["Arn"]
    assert profile["InstanceProfileId"].startswith("AIPA")
    assert 21 == len(profile["InstanceProfileId"])
    assert 0 == profile["CreateDate"].microsecond
    assert [] == profile["Roles"]
    assert [{"Key": "team", "Value": "core"}] == profile["Tags"]


def test_instance_profile_names_are_unique_whatever_their_case(iam: IdentityStore):
    _profile(iam, "Web")
    with pytest.raises(EntityAlreadyExistsError, match="operation: Instance Profile web already exists.$"):
        _profile(iam, "web")
    assert ["Web"] == [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]


def test_a_role_and_an_instance_profile_may_share_a_name(iam: IdentityStore):
    _role(iam, "web")
    _profile(iam, "web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="web")


@pytest.mark.parametrize(
    "call",
    [
        lambda iam: iam.get_instance_profile(InstanceProfileName="nope"),
        lambda iam: iam.delete_instance_profile(InstanceProfileName="nope"),
        lambda iam: iam.add_role_to_instance_profile(InstanceProfileName="nope", RoleName="app"),
        lambda iam: iam.remove_role_from_instance_profile(InstanceProfileName="nope", RoleName="app"),
        lambda iam: iam.tag_instance_profile(InstanceProfileName="nope", Tags=[{"Key": "k", "Value": "v"}]),
        lambda iam: iam.untag_instance_profile(InstanceProfileName="nope", TagKeys=["k"]),
        lambda iam: iam.list_instance_profile_tags(InstanceProfileName="nope"),
    ],
)
def test_an_unknown_instance_profile_is_no_such_entity_with_aws_message(iam: IdentityStore, call):
    _role(iam)
    with pytest.raises(NoSuchEntityError, match="operation: Instance Profile nope cannot be found.$") as caught:
        call(iam)
    assert 404 == caught.value.http_status


def test_an_unknown_role_is_no_such_entity(iam: IdentityStore):
    _profile(iam)
    with pytest.raises(NoSuchEntityError, match="operation: The role with name nobody cannot be found.$"):
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="nobody")
    with pytest.raises(NoSuchEntityError, match="operation: The role with name nobody cannot be found.$"):
        iam.list_instance_profiles_for_role(RoleName="nobody")


def test_a_role_added_shows_in_the_profile_and_the_role_listing(iam: IdentityStore):
    role = _role(iam)
    _profile(iam, Tags=[{"Key": "k", "Value": "v"}])
    assert_output_shape(
        "iam", "AddRoleToInstanceProfile", iam.add_role_to_instance_profile(InstanceProfileName="WEB", RoleName="APP")
    )

    got = iam.get_instance_profile(InstanceProfileName="web")
    assert_output_shape("iam", "GetInstanceProfile", got)
    assert [role] == got["InstanceProfile"]["Roles"]
    assert TRUST == got["InstanceProfile"]["Roles"][0]["AssumeRolePolicyDocument"]
    assert [{"Key": "k", "Value": "v"}] == got["InstanceProfile"]["Tags"]

    for_role = iam.list_instance_profiles_for_role(RoleName="app")
    assert_output_shape("iam", "ListInstanceProfilesForRole", for_role)
    assert ["web"] == [p["InstanceProfileName"] for p in for_role["InstanceProfiles"]]
    assert "Tags" not in for_role["InstanceProfiles"][0]
    assert ["app"] == [r["RoleName"] for r in for_role["InstanceProfiles"][0]["Roles"]]


def test_a_role_can_be_in_several_instance_profiles(iam: IdentityStore):
    _role(iam)
    for name in ("b-profile", "a-profile"):
        _profile(iam, name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName="app")
    listed = iam.list_instance_profiles_for_role(RoleName="app")["InstanceProfiles"]
    assert ["a-profile", "b-profile"] == [p["InstanceProfileName"] for p in listed]


def test_an_instance_profile_holds_at_most_one_role(iam: IdentityStore):
    _role(iam, "first")
    _role(iam, "second")
    _profile(iam)
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="first")
    quota = "operation: Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1$"
    with pytest.raises(LimitExceededError, match=quota) as caught:
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="second")
    assert 409 == caught.value.http_status
    with pytest.raises(LimitExceededError, match=quota):
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="first")
    assert [] == iam.list_instance_profiles_for_role(RoleName="second")["InstanceProfiles"]


def test_removing_a_role_empties_the_profile(iam: IdentityStore):
    _role(iam)
    _profile(iam)
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
    result = iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")
    assert_output_shape("iam", "RemoveRoleFromInstanceProfile", result)
    assert [] == iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]["Roles"]
    assert [] == iam.list_instance_profiles_for_role(RoleName="app")["InstanceProfiles"]
    with pytest.raises(NoSuchEntityError, match="operation: Role app is not in instance profile web.$"):
        iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")


def test_delete_instance_profile_conflicts_while_it_holds_a_role(iam: IdentityStore):
    _role(iam)
    first = _profile(iam)["InstanceProfileId"]
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
    with pytest.raises(
        DeleteConflictError, match="operation: Cannot delete entity, must remove roles from instance profile first.$"
    ) as caught:
        iam.delete_instance_profile(InstanceProfileName="web")
    assert 409 == caught.value.http_status

    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")
    assert_output_shape("iam", "DeleteInstanceProfile", iam.delete_instance_profile(InstanceProfileName="web"))
    with pytest.raises(NoSuchEntityError):
        iam.get_instance_profile(InstanceProfileName="web")
    assert first != _profile(iam)["InstanceProfileId"]
    assert [] == iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"]


def test_list_instance_profiles_has_roles_but_no_tags_and_filters_by_path(iam: IdentityStore):
    _role(iam)
    _profile(iam, "a", Path="/ec2/", Tags=[{"Key": "k", "Value": "v"}])
    _profile(iam, "b", Path="/other/")
    iam.add_role_to_instance_profile(InstanceProfileName="a", RoleName="app")

    result = iam.list_instance_profiles(PathPrefix="/ec2/")

    assert_output_shape("iam", "ListInstanceProfiles", result)
    assert [{"Path", "InstanceProfileName", "InstanceProfileId", "Arn", "CreateDate", "Roles"}] == [
        set(p) for p in result["InstanceProfiles"]
    ]
    assert ["app"] == [r["RoleName"] for r in result["InstanceProfiles"][0]["Roles"]]
    assert ["a", "b"] == [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]


def test_list_instance_profiles_pages_with_marker_and_max_items(iam: IdentityStore):
    for name in ("p1", "p2", "p3"):
        _profile(iam, name)
    first = iam.list_instance_profiles(MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.list_instance_profiles(MaxItems=2, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    names = [p["InstanceProfileName"] for p in first["InstanceProfiles"] + second["InstanceProfiles"]]
    assert ["p1", "p2", "p3"] == names


def test_instance_profile_tag_keys_are_case_sensitive(iam: IdentityStore):
    _profile(iam, Tags=[{"Key": "Env", "Value": "a"}])
    result = iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "env", "Value": "b"}])
    assert_output_shape("iam", "TagInstanceProfile", result)
    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "Env", "Value": "c"}])
    listed = iam.list_instance_profile_tags(InstanceProfileName="web")
    assert_output_shape("iam", "ListInstanceProfileTags", listed)
    assert [{"Key": "Env", "Value": "c"}, {"Key": "env", "Value": "b"}] == listed["Tags"]

    result = iam.untag_instance_profile(InstanceProfileName="web", TagKeys=["ENV", "env"])
    assert_output_shape("iam", "UntagInstanceProfile", result)
    assert [{"Key": "Env", "Value": "c"}] == iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"]


def test_get_instance_profile_answers_an_empty_tag_list_but_create_omits_it(iam: IdentityStore):
    # Real `aws iam get-instance-profile` output shows "Tags": [] for a profile without tags; create-instance-profile
    # output has no Tags member.
    assert "Tags" not in _profile(iam)
    assert [] == iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]["Tags"]
    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "k", "Value": "v"}])
    iam.untag_instance_profile(InstanceProfileName="web", TagKeys=["k"])
    got = iam.get_instance_profile(InstanceProfileName="web")
    assert_output_shape("iam", "GetInstanceProfile", got)
    assert [] == got["InstanceProfile"]["Tags"]


def test_more_than_fifty_instance_profile_tags_are_limit_exceeded(iam: IdentityStore):
    _profile(iam, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(IdentityStoreError) as caught:
        iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "one-more", "Value": "v"}])
    assert "LimitExceeded" == caught.value.code


def test_reserved_tag_keys_are_invalid_input_and_create_nothing(iam: IdentityStore):
    with pytest.raises(IdentityStoreError) as caught:
        _profile(iam, Tags=[{"Key": "aws:owner", "Value": "x"}])
    assert "InvalidInput" == caught.value.code
    assert [] == iam.list_instance_profiles()["InstanceProfiles"]


def test_a_service_linked_role_cannot_join_an_instance_profile(iam: IdentityStore):
    _service_linked_role(iam)
    _profile(iam)
    with pytest.raises(UnmodifiableEntityError, match="protected role 'AWSServiceRoleForSupport'"):
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="AWSServiceRoleForSupport")
    assert [] == iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]["Roles"]


def test_events_record_both_sides_of_a_membership(iam: IdentityStore):
    _role(iam)
    _profile(iam)
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")
    iam.delete_instance_profile(InstanceProfileName="web")

    notifications = iam.recorder.select_notifications(start=1, limit=1000)
    names = [
        type(iam.mapper.to_domain_event(n)).__qualname__
        for n in notifications
        if "instance_profiles:" in n.topic or "roles:" in n.topic
    ]
    assert [
        "Role.Created",
        "InstanceProfile.Created",
        "InstanceProfile.RoleAdded",
        "Role.AddedToInstanceProfile",
        "InstanceProfile.RoleRemoved",
        "Role.RemovedFromInstanceProfile",
        "InstanceProfile.Deleted",
    ] == names


def test_invalid_instance_profile_names_are_validation_errors(iam: IdentityStore):
    with pytest.raises(ValidationError, match="instanceProfileName"):
        iam.create_instance_profile(InstanceProfileName="a b")
    with pytest.raises(ValidationError, match="length less than or equal to 128"):
        iam.create_instance_profile(InstanceProfileName="x" * 129)


# -- the command line ---------------------------------------------------------------------------------------------


def test_cli_instance_profile_with_a_role(capsys, store_url, tmp_path):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    trust_file = tmp_path / "trust.json"
    trust_file.write_text(TRUST_TEXT, encoding="utf-8")
    iam = ("--db", store_url, "iam")
    assert (
        0
        == run(
            capsys, *iam, "create-role", "--role-name", "app", "--assume-role-policy-document", f"file://{trust_file}"
        ).exit_code
    )
    created = run(capsys, *iam, "create-instance-profile", "--instance-profile-name", "web")
    assert 0 == created.exit_code, created.stderr
    assert [] == json.loads(created.stdout)["InstanceProfile"]["Roles"]
    added = run(capsys, *iam, "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "app")
    assert (0, "") == (added.exit_code, added.stdout)

    got = run(capsys, *iam, "get-instance-profile", "--instance-profile-name", "web", "--output", "json")
    assert 0 == got.exit_code, got.stderr
    with IdentityStore.open(store_url) as store:
        assert _iso(store.get_instance_profile(InstanceProfileName="web")) == json.loads(got.stdout)
    assert ["app"] == [r["RoleName"] for r in json.loads(got.stdout)["InstanceProfile"]["Roles"]]

    again = run(capsys, *iam, "add-role-to-instance-profile", "--instance-profile-name", "web", "--role-name", "app")
    assert 254 == again.exit_code
    assert (
        "An error occurred (LimitExceeded) when calling the AddRoleToInstanceProfile operation: "
        "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1" in again.stderr
    )
    listed = json.loads(run(capsys, *iam, "list-instance-profiles-for-role", "--role-name", "app").stdout)
    assert ["web"] == [p["InstanceProfileName"] for p in listed["InstanceProfiles"]]
