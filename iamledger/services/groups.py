"""IAM groups: CreateGroup, GetGroup, ListGroups, UpdateGroup, DeleteGroup and memberships."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from iamledger.domain.errors import EntityAlreadyExistsError, NoSuchEntityError
from iamledger.domain.ids import new_unique_id
from iamledger.projections.views.groups import current_groups, find_group, members_of_group
from iamledger.projections.views.users import find_user, groups_of_user
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.shapes import group_shape, user_shape
from iamledger.services.users import user_not_found

if TYPE_CHECKING:
    from iamledger.domain.groups import Group

KIND = "group"


def group_not_found(group_name: str) -> str:
    """AWS's message for a group that does not exist."""
    return f"The group with name {group_name} cannot be found."


class GroupsService(ServiceBase):
    """The group operations of the store."""

    def _group(self, account_id: str, group_name: str) -> Group:
        from iamledger.domain.groups import Group

        group = self._entity_only(account_id, KIND, group_name, group_not_found(group_name))
        assert isinstance(group, Group)  # noqa: S101 - the index of kind "group" only ever holds groups
        return group

    @command("CreateGroup")
    def create_group(self, account_id: str, *, GroupName: str, Path: str | None = None) -> dict[str, Any]:
        """Create a group; ``EntityAlreadyExists`` when the name (in any case) is taken."""
        from iamledger.domain.groups import Group

        entity_id = uuid.uuid4()
        conflict = f"Group with name {GroupName} already exists."
        index = self._claim_name(account_id, KIND, GroupName, entity_id, conflict)
        group = Group.create_with_id(
            entity_id, account_id=account_id, group_id=new_unique_id("AGPA"), group_name=GroupName, path=Path or "/"
        )
        self._save(group, index)
        row = {
            "path": group.path,
            "group_name": group.group_name,
            "group_id": group.group_id,
            "arn": group.arn,
            "create_date": group.created_on,
        }
        return {"Group": group_shape(row)}

    @query("GetGroup")
    def get_group(
        self,
        conn: Connection,
        account_id: str,
        *,
        GroupName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """A group and its users, a page at a time."""
        row = find_group(conn, account_id, GroupName)
        if row is None:
            raise NoSuchEntityError(group_not_found(GroupName))
        users, more = page(members_of_group(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Group": group_shape(row), "Users": [user_shape(u) for u in users], **more}

    @query("ListGroups")
    def list_groups(
        self,
        conn: Connection,
        account_id: str,
        *,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The account's groups, a page at a time."""
        rows, more = page(current_groups(conn, account_id, PathPrefix or "/"), Marker, MaxItems)
        return {"Groups": [group_shape(r) for r in rows], **more}

    @command("UpdateGroup")
    def update_group(
        self, account_id: str, *, GroupName: str, NewPath: str | None = None, NewGroupName: str | None = None
    ) -> dict[str, Any]:
        """Rename a group and/or change its path; its id, members and policies stay with it."""
        group, old_index = self._entity(account_id, KIND, GroupName, group_not_found(GroupName))
        touched: list[Any] = [group]
        if NewGroupName is not None and NewGroupName != group.group_name:
            conflict = f"Group with name {NewGroupName} already exists."
            new_index = self._name_index(account_id, KIND, NewGroupName)
            if new_index is not None and new_index.id == old_index.id:
                raise EntityAlreadyExistsError(conflict)
            old_index.release()
            touched += [old_index, self._claim_name(account_id, KIND, NewGroupName, group.id, conflict)]
        group.update(NewGroupName or group.group_name, NewPath or group.path)
        self._save(*touched)
        return {}

    @command("DeleteGroup")
    def delete_group(self, account_id: str, *, GroupName: str) -> dict[str, Any]:
        """Delete a group; ``DeleteConflict`` while it has users or policies."""
        group, index = self._entity(account_id, KIND, GroupName, group_not_found(GroupName))
        group.delete()
        index.release()
        self._save(group, index)
        return {}

    @command("AddUserToGroup")
    def add_user_to_group(self, account_id: str, *, GroupName: str, UserName: str) -> dict[str, Any]:
        """Add a user to a group (a no-op for a member); a user is in at most 10 groups."""
        from iamledger.domain.users import User

        group = self._group(account_id, GroupName)
        user = self._entity_only(account_id, "user", UserName, user_not_found(UserName))
        assert isinstance(user, User)  # noqa: S101
        if user.join_group(group.id, group.group_name):
            group.add_member(user.id)
            self._save(user, group)
        return {}

    @command("RemoveUserFromGroup")
    def remove_user_from_group(self, account_id: str, *, GroupName: str, UserName: str) -> dict[str, Any]:
        """Remove a user from a group; ``NoSuchEntity`` when it is not a member."""
        from iamledger.domain.users import User

        group = self._group(account_id, GroupName)
        user = self._entity_only(account_id, "user", UserName, user_not_found(UserName))
        assert isinstance(user, User)  # noqa: S101
        if group.id not in user.groups:
            raise NoSuchEntityError(f"User {UserName} is not in group {GroupName}.")
        user.leave_group(group.id)
        group.remove_member(user.id)
        self._save(user, group)
        return {}

    @query("ListGroupsForUser")
    def list_groups_for_user(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The groups a user is in."""
        user = find_user(conn, account_id, UserName)
        if user is None:
            raise NoSuchEntityError(user_not_found(UserName))
        rows, more = page(groups_of_user(conn, user["entity_uuid"]), Marker, MaxItems)
        return {"Groups": [group_shape(r) for r in rows], **more}
