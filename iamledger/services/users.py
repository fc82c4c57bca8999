"""IAM users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, tags and permissions boundaries."""

from __future__ import annotations

import contextlib
import uuid
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.domain.audit import audit_context
from iamledger.domain.errors import EntityAlreadyExistsError, NoSuchEntityError, ValidationError
from iamledger.domain.ids import new_unique_id, root_arn
from iamledger.domain.tags import parse_tags
from iamledger.projections.views.accounts import account_create_date
from iamledger.projections.views.tags import current_tags
from iamledger.projections.views.users import find_user, users_page
from iamledger.services.base import ServiceBase
from iamledger.services.operations import command, query
from iamledger.services.paging import page, page_from
from iamledger.services.shapes import aws_datetime, boundary_shape, tags_shape, user_shape

if TYPE_CHECKING:
    from iamledger.domain.users import User

KIND = "user"


def user_not_found(user_name: str) -> str:
    """AWS's message for a user that does not exist."""
    return f"The user with name {user_name} cannot be found."


class UsersService(ServiceBase):
    """The user operations of the store."""

    def _user(self, account_id: str, user_name: str) -> User:
        from iamledger.domain.users import User

        user = self._entity_only(account_id, KIND, user_name, user_not_found(user_name))
        assert isinstance(user, User)  # noqa: S101 - the index of kind "user" only ever holds users
        return user

    def _user_row(self, conn: Connection, account_id: str, user_name: str) -> dict[str, Any]:
        row = find_user(conn, account_id, user_name)
        if row is None:
            raise NoSuchEntityError(user_not_found(user_name))
        return row

    @command("CreateUser")
    def create_user(
        self,
        account_id: str,
        *,
        UserName: str,
        Path: str | None = None,
        PermissionsBoundary: str | None = None,
        Tags: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        """Create a user; ``EntityAlreadyExists`` when the name (in any case) is taken."""
        from iamledger.domain.users import User

        tags = parse_tags(Tags)
        if PermissionsBoundary is not None:
            self._require_policy(account_id, PermissionsBoundary)
        entity_id = uuid.uuid4()
        conflict = f"User with name {UserName} already exists."
        index = self._claim_name(account_id, KIND, UserName, entity_id, conflict)
        user = User.create_with_id(
            entity_id,
            account_id=account_id,
            user_id=new_unique_id("AIDA"),
            user_name=UserName,
            path=Path or "/",
            permissions_boundary=PermissionsBoundary,
            tags=[{"Key": k, "Value": v} for k, v in tags],
        )
        self._save(user, index)
        shape = user_shape(
            {
                "path": user.path,
                "user_name": user.user_name,
                "user_id": user.user_id,
                "arn": user.arn,
                "create_date": user.created_on,
            }
        )
        return {"User": shape | boundary_shape(PermissionsBoundary) | tags_shape(tags)}

    @query("GetUser")
    def get_user(self, conn: Connection, account_id: str, *, UserName: str | None = None) -> dict[str, Any]:
        """A user with its boundary and tags; without a name, the calling user."""
        if UserName is None:
            return self._caller_as_user(conn, account_id)
        row = self._user_row(conn, account_id, UserName)
        tags = current_tags(conn, row["entity_uuid"])
        return {"User": user_shape(row) | boundary_shape(row["boundary_arn"]) | tags_shape(tags)}

    def _caller_as_user(self, conn: Connection, account_id: str) -> dict[str, Any]:
        """``GetUser`` without a name: the calling IAM user, or the root user of the account."""
        ctx = audit_context.get()
        actor = ctx.actor if ctx else root_arn(account_id)
        if actor == root_arn(account_id):
            created = account_create_date(conn, account_id)
            if created is None:  # a read of the past, before the account existed
                raise NoSuchEntityError(f"The account {account_id} did not exist yet.")
            return {"User": {"UserId": account_id, "Arn": actor, "CreateDate": aws_datetime(created)}}
        if ":user/" not in actor:
            raise ValidationError("Must specify userName when calling with non-User credentials")
        return self.get_user(UserName=actor.rsplit("/", 1)[1])

    @query("ListUsers")
    def list_users(
        self,
        conn: Connection,
        account_id: str,
        *,
        PathPrefix: str | None = None,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The account's users (no boundary, no tags, as AWS lists them), a page at a time."""
        prefix = PathPrefix or "/"
        rows, more = page_from(
            lambda offset, limit: users_page(conn, account_id, prefix, offset, limit), Marker, MaxItems
        )
        return {"Users": [user_shape(r) for r in rows], **more}

    @command("UpdateUser")
    def update_user(
        self, account_id: str, *, UserName: str, NewPath: str | None = None, NewUserName: str | None = None
    ) -> dict[str, Any]:
        """Rename a user and/or change its path; its id, groups and policies stay with it."""
        user, old_index = self._entity(account_id, KIND, UserName, user_not_found(UserName))
        new_name = NewUserName if NewUserName is not None else user.user_name
        touched: list[Any] = [user]
        if NewUserName is not None and NewUserName != user.user_name:
            conflict = f"User with name {NewUserName} already exists."
            new_index = self._name_index(account_id, KIND, NewUserName)
            if new_index is not None and new_index.id == old_index.id:
                # A case variant of its own name: AWS is reported to refuse it too (reference section 7.1).
                raise EntityAlreadyExistsError(conflict)
            old_index.release()
            touched += [old_index, self._claim_name(account_id, KIND, NewUserName, user.id, conflict)]
        user.update(new_name, NewPath if NewPath is not None else user.path)
        self._save(*touched)
        return {}

    @command("DeleteUser")
    def delete_user(self, account_id: str, *, UserName: str) -> dict[str, Any]:
        """Delete a user; ``DeleteConflict`` while it has a password, keys, policies or groups."""
        from iamledger.domain.user_keys import UserKeyring

        user, index = self._entity(account_id, KIND, UserName, user_not_found(UserName))
        with contextlib.suppress(AggregateNotFoundError):  # SSH keys, signing certificates, MFA devices
            self.repository.get(UserKeyring.create_id(user.id)).require_empty()
        user.delete()
        index.release()
        self._save(user, index)
        return {}

    @command("TagUser")
    def tag_user(self, account_id: str, *, UserName: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        """Add or overwrite tags of a user (keys compare case-insensitively); at most 50."""
        user = self._user(account_id, UserName)
        user.tag(parse_tags(Tags))
        self._save(user)
        return {}

    @command("UntagUser")
    def untag_user(self, account_id: str, *, UserName: str, TagKeys: list[str]) -> dict[str, Any]:
        """Remove tags of a user."""
        user = self._user(account_id, UserName)
        user.untag(TagKeys)
        self._save(user)
        return {}

    @query("ListUserTags")
    def list_user_tags(
        self,
        conn: Connection,
        account_id: str,
        *,
        UserName: str,
        Marker: str | None = None,
        MaxItems: int | None = None,
    ) -> dict[str, Any]:
        """The tags of a user."""
        row = self._user_row(conn, account_id, UserName)
        tags, more = page(current_tags(conn, row["entity_uuid"]), Marker, MaxItems)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags], **more}

    @command("PutUserPermissionsBoundary")
    def put_user_permissions_boundary(
        self, account_id: str, *, UserName: str, PermissionsBoundary: str
    ) -> dict[str, Any]:
        """Set or replace the permissions boundary of a user (a managed policy)."""
        user = self._user(account_id, UserName)
        self._require_policy(account_id, PermissionsBoundary)
        user.put_permissions_boundary(PermissionsBoundary)
        self._save(user)
        return {}

    @command("DeleteUserPermissionsBoundary")
    def delete_user_permissions_boundary(self, account_id: str, *, UserName: str) -> dict[str, Any]:
        """Remove the permissions boundary of a user."""
        user = self._user(account_id, UserName)
        user.delete_permissions_boundary()
        self._save(user)
        return {}
