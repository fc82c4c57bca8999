"""Groups and memberships; on every backend."""

from __future__ import annotations

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import (
    DeleteConflictError,
    EntityAlreadyExistsError,
    IdentityStoreError,
    NoSuchEntityError,
)
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"


def test_create_and_get_a_group_with_its_users(iam: IdentityStore):
    created = iam.create_group(GroupName="Admins", Path="/ops/")
    assert_output_shape("iam", "CreateGroup", created)
    assert created["Group"]["GroupId"].startswith("AGPA")
    assert f"arn:aws:iam::{ACCOUNT}:group/ops/Admins" == created["Group"]["Arn"]
    iam.create_user(UserName="zed")
    iam.create_user(UserName="amy")
    iam.add_user_to_group(GroupName="admins", UserName="zed")
    iam.add_user_to_group(GroupName="Admins", UserName="amy")

    result = iam.get_group(GroupName="ADMINS")
    assert_output_shape("iam", "GetGroup", result)
    assert "Admins" == result["Group"]["GroupName"]
    assert ["amy", "zed"] == [u["UserName"] for u in result["Users"]]


def test_group_names_are_unique_whatever_their_case(iam: IdentityStore):
    iam.create_group(GroupName="ADMINS")
    with pytest.raises(EntityAlreadyExistsError):
        iam.create_group(GroupName="admins")


def test_a_user_in_many_groups_and_adding_twice_is_a_no_op(iam: IdentityStore):
    iam.create_user(UserName="alice")
    for name in ("a", "b", "c"):
        iam.create_group(GroupName=name)
        iam.add_user_to_group(GroupName=name, UserName="alice")
    iam.add_user_to_group(GroupName="a", UserName="alice")
    result = iam.list_groups_for_user(UserName="alice")
    assert_output_shape("iam", "ListGroupsForUser", result)
    assert ["a", "b", "c"] == [g["GroupName"] for g in result["Groups"]]
    assert 1 == len(iam.get_group(GroupName="a")["Users"])


def test_a_user_can_be_in_at_most_ten_groups(iam: IdentityStore):
    iam.create_user(UserName="alice")
    for i in range(10):
        iam.create_group(GroupName=f"g{i}")
        iam.add_user_to_group(GroupName=f"g{i}", UserName="alice")
    iam.create_group(GroupName="g10")
    with pytest.raises(IdentityStoreError) as caught:
        iam.add_user_to_group(GroupName="g10", UserName="alice")
    assert "LimitExceeded" == caught.value.code
    assert 10 == len(iam.list_groups_for_user(UserName="alice")["Groups"])


def test_removing_a_non_member_is_no_such_entity(iam: IdentityStore):
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="g")
    with pytest.raises(NoSuchEntityError):
        iam.remove_user_from_group(GroupName="g", UserName="alice")


def test_membership_of_unknown_entities_is_no_such_entity(iam: IdentityStore):
    iam.create_group(GroupName="g")
    with pytest.raises(NoSuchEntityError, match="The user with name ghost cannot be found."):
        iam.add_user_to_group(GroupName="g", UserName="ghost")
    with pytest.raises(NoSuchEntityError, match="The group with name nope cannot be found."):
        iam.get_group(GroupName="nope")


def test_delete_group_conflicts_while_it_has_users_or_policies(iam: IdentityStore):
    iam.create_group(GroupName="g")
    iam.create_user(UserName="u")
    iam.add_user_to_group(GroupName="g", UserName="u")
    with pytest.raises(DeleteConflictError, match="must remove users from group first"):
        iam.delete_group(GroupName="g")
    iam.remove_user_from_group(GroupName="g", UserName="u")
    iam.attach_group_policy(GroupName="g", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    with pytest.raises(DeleteConflictError, match="must detach all policies first"):
        iam.delete_group(GroupName="g")
    iam.detach_group_policy(GroupName="g", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_group(GroupName="g")
    assert [] == iam.list_groups()["Groups"]
    assert [] == iam.list_groups_for_user(UserName="u")["Groups"]


def test_renaming_a_group_keeps_members_and_id(iam: IdentityStore):
    group_id = iam.create_group(GroupName="old")["Group"]["GroupId"]
    iam.create_user(UserName="u")
    iam.add_user_to_group(GroupName="old", UserName="u")
    iam.update_group(GroupName="old", NewGroupName="new", NewPath="/x/")
    result = iam.get_group(GroupName="new")
    assert group_id == result["Group"]["GroupId"]
    assert "/x/" == result["Group"]["Path"]
    assert ["u"] == [u["UserName"] for u in result["Users"]]
    assert ["new"] == [g["GroupName"] for g in iam.list_groups_for_user(UserName="u")["Groups"]]


def test_list_groups_filters_by_path_and_pages(iam: IdentityStore):
    iam.create_group(GroupName="a", Path="/x/")
    iam.create_group(GroupName="b", Path="/y/")
    iam.create_group(GroupName="c", Path="/x/")
    assert ["a", "c"] == [g["GroupName"] for g in iam.list_groups(PathPrefix="/x/")["Groups"]]
    first = iam.list_groups(MaxItems=1)
    assert_output_shape("iam", "ListGroups", first)
    assert first["IsTruncated"] is True
