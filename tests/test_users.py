"""Users: create, read, list, rename, tag, boundaries, delete, with AWS's errors; on every backend."""

from __future__ import annotations

import json

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    NoSuchEntityError,
    ValidationError,
)
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"


def test_create_user_returns_the_user_in_boto3_shape(iam: IdentityStore):
    result = iam.create_user(UserName="alice", Path="/eng/", Tags=[{"Key": "team", "Value": "core"}])

    assert_output_shape("iam", "CreateUser", result)
    user = result["User"]
    assert "alice" == user["UserName"]
    assert "/eng/" == user["Path"]
    assert f"arn:aws:iam::{ACCOUNT}:user/eng/alice" == user["Arn"]
    assert user["UserId"].startswith("AIDA")
    assert 21 == len(user["UserId"])
    assert 0 == user["CreateDate"].microsecond
    assert [{"Key": "team", "Value": "core"}] == user["Tags"]


def test_user_names_are_unique_whatever_their_case(iam: IdentityStore):
    iam.create_user(UserName="Bob")
    with pytest.raises(EntityAlreadyExistsError, match="User with name bob already exists."):
        iam.create_user(UserName="bob")
    assert ["Bob"] == [u["UserName"] for u in iam.list_users()["Users"]]


def test_get_user_finds_any_case_and_shows_tags_and_boundary(iam: IdentityStore):
    boundary = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.create_user(UserName="alice", PermissionsBoundary=boundary, Tags=[{"Key": "k", "Value": "v"}])
    result = iam.get_user(UserName="ALICE")
    assert_output_shape("iam", "GetUser", result)
    assert "alice" == result["User"]["UserName"]
    assert {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
    } == result["User"]["PermissionsBoundary"]
    assert [{"Key": "k", "Value": "v"}] == result["User"]["Tags"]


def test_get_user_without_a_name_is_the_caller(iam: IdentityStore):
    result = iam.get_user()
    assert f"arn:aws:iam::{ACCOUNT}:root" == result["User"]["Arn"]


def test_an_unknown_user_is_no_such_entity_with_aws_message(iam: IdentityStore):
    with pytest.raises(NoSuchEntityError, match="The user with name nobody cannot be found."):
        iam.get_user(UserName="nobody")


def test_list_users_omits_tags_and_boundary_and_filters_by_path(iam: IdentityStore):
    iam.create_user(UserName="a", Path="/eng/", Tags=[{"Key": "k", "Value": "v"}])
    iam.create_user(UserName="b", Path="/ops/")
    result = iam.list_users(PathPrefix="/eng/")
    assert_output_shape("iam", "ListUsers", result)
    assert [{"Path", "UserName", "UserId", "Arn", "CreateDate"}] == [set(u) for u in result["Users"]]
    assert ["a"] == [u["UserName"] for u in result["Users"]]


TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def test_path_prefix_is_a_literal_prefix(iam: IdentityStore):
    # ``_`` and ``%`` are LIKE wildcards in SQL; in a PathPrefix they are characters.
    for name, path in (("a", "/a_b/"), ("b", "/aXb/"), ("c", "/a%/"), ("d", "/az/")):
        iam.create_user(UserName=name, Path=path)
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=TRUST)
        iam.create_group(GroupName=name, Path=path)
    assert ["a"] == [u["UserName"] for u in iam.list_users(PathPrefix="/a_")["Users"]]
    assert ["c"] == [u["UserName"] for u in iam.list_users(PathPrefix="/a%")["Users"]]
    assert ["a"] == [r["RoleName"] for r in iam.list_roles(PathPrefix="/a_")["Roles"]]
    assert ["c"] == [g["GroupName"] for g in iam.list_groups(PathPrefix="/a%")["Groups"]]
    assert ["a", "b", "c", "d"] == [u["UserName"] for u in iam.list_users(PathPrefix="/a")["Users"]]


def test_list_users_pages_with_marker_and_max_items(iam: IdentityStore):
    for name in ("u1", "u2", "u3"):
        iam.create_user(UserName=name)
    first = iam.list_users(MaxItems=2)
    assert first["IsTruncated"] is True
    second = iam.list_users(MaxItems=2, Marker=first["Marker"])
    assert second["IsTruncated"] is False
    assert ["u1", "u2", "u3"] == [u["UserName"] for u in first["Users"] + second["Users"]]


def test_renaming_keeps_the_id_and_frees_the_old_name(iam: IdentityStore):
    user_id = iam.create_user(UserName="bob")["User"]["UserId"]
    iam.update_user(UserName="bob", NewUserName="robert", NewPath="/staff/")
    renamed = iam.get_user(UserName="robert")["User"]
    assert user_id == renamed["UserId"]
    assert f"arn:aws:iam::{ACCOUNT}:user/staff/robert" == renamed["Arn"]
    with pytest.raises(NoSuchEntityError):
        iam.get_user(UserName="bob")
    assert iam.create_user(UserName="bob")["User"]["UserId"] != user_id


def test_renaming_onto_a_taken_name_is_refused(iam: IdentityStore):
    iam.create_user(UserName="a")
    iam.create_user(UserName="b")
    with pytest.raises(EntityAlreadyExistsError):
        iam.update_user(UserName="a", NewUserName="B")


def test_recreating_a_deleted_user_gives_a_new_id(iam: IdentityStore):
    first = iam.create_user(UserName="temp")["User"]["UserId"]
    iam.delete_user(UserName="temp")
    second = iam.create_user(UserName="temp")["User"]["UserId"]
    assert first != second


def test_delete_user_conflicts_while_policies_or_groups_remain(iam: IdentityStore):
    iam.create_user(UserName="alice")
    iam.attach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with pytest.raises(DeleteConflictError, match="must detach all policies first"):
        iam.delete_user(UserName="alice")
    iam.detach_user_policy(UserName="alice", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName="alice")
    with pytest.raises(DeleteConflictError):
        iam.delete_user(UserName="alice")
    iam.remove_user_from_group(GroupName="g", UserName="alice")
    iam.delete_user(UserName="alice")
    assert [] == iam.list_users()["Users"]


def test_tags_overwrite_case_insensitively_and_untag_removes(iam: IdentityStore):
    iam.create_user(UserName="alice", Tags=[{"Key": "Dept", "Value": "a"}])
    iam.tag_user(UserName="alice", Tags=[{"Key": "dept", "Value": "b"}, {"Key": "env", "Value": "prod"}])
    listed = iam.list_user_tags(UserName="alice")
    assert_output_shape("iam", "ListUserTags", listed)
    assert [{"Key": "dept", "Value": "b"}, {"Key": "env", "Value": "prod"}] == listed["Tags"]
    iam.untag_user(UserName="alice", TagKeys=["ENV"])
    assert [{"Key": "dept", "Value": "b"}] == iam.list_user_tags(UserName="alice")["Tags"]


def test_more_than_fifty_tags_are_refused(iam: IdentityStore):
    iam.create_user(UserName="alice", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    with pytest.raises(IdentityStoreError) as caught:
        iam.tag_user(UserName="alice", Tags=[{"Key": "one-more", "Value": "v"}])
    assert "LimitExceeded" == caught.value.code


def test_duplicate_tag_keys_are_invalid_input(iam: IdentityStore):
    with pytest.raises(IdentityStoreError) as caught:
        iam.create_user(UserName="alice", Tags=[{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}])
    assert "InvalidInput" == caught.value.code
    assert [] == iam.list_users()["Users"]


def test_boundaries_must_name_an_existing_managed_policy(iam: IdentityStore):
    iam.create_user(UserName="alice")
    with pytest.raises(NoSuchEntityError):
        iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary="arn:aws:iam::aws:policy/NoSuchThing")
    iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess")
    assert "PermissionsBoundary" in iam.get_user(UserName="alice")["User"]
    iam.delete_user_permissions_boundary(UserName="alice")
    assert "PermissionsBoundary" not in iam.get_user(UserName="alice")["User"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"UserName": "a b"}, "at 'userName' failed to satisfy constraint: Member must satisfy regular expression"),
        ({"UserName": "x" * 65}, "Member must have length less than or equal to 64"),
        ({"UserName": "ok", "Path": "no-slash"}, "at 'path' failed to satisfy constraint"),
    ],
)
def test_invalid_input_is_a_validation_error_in_aws_words(iam: IdentityStore, params, fragment):
    with pytest.raises(ValidationError) as caught:
        iam.create_user(**params)
    assert caught.value.message.startswith("1 validation error detected: Value ")
    assert fragment in caught.value.message
    assert [] == iam.list_users()["Users"]
