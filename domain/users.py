"""IAM users: a name unique in the account (whatever its case), a path, an id that survives renames, tags,
group memberships, policies and a permissions boundary."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Final

from iamledger.domain.arns import iam_arn
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import DeleteConflictError, LimitExceededError
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PermissionsBoundaryDeletedEvent,
    PermissionsBoundaryPutEvent,
    PermissionsHolder,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.policy import SizeLimit, user_inline_limit
from iamledger.domain.tags import Tag, merge_tags, remove_tags

MAX_GROUPS_PER_USER: Final = 10


class User(PermissionsHolder):
    """An IAM user."""

    kind: ClassVar[str] = "user"

    class Created(AuditedAggregate.Created):
        account_id: str
        user_id: str
        user_name: str
        path: str
        permissions_boundary: str | None
        tags: list[dict[str, str]]

    def __init__(
        self,
        account_id: str,
        user_id: str,
        user_name: str,
        path: str,
        permissions_boundary: str | None,
        tags: list[dict[str, str]],
    ) -> None:
        self.account_id = account_id
        self.user_id = user_id
        self.user_name = user_name
        self.path = path
        self.permissions_boundary = permissions_boundary
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.groups: dict[uuid.UUID, str] = {}
        self.inline_policies = {}
        self.attached_policies = []
        self.credentials: dict[str, str] = {}
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:user/PATH/NAME``."""
        return iam_arn(self.account_id, "user", self.path, self.user_name)

    @property
    def display_name(self) -> str:
        """The user's name."""
        return self.user_name

    def inline_limit(self) -> SizeLimit:
        """All inline policies of a user together: 2,048 characters."""
        return user_inline_limit(self.user_name)

    class Updated(AuditedAggregate.Event):
        user_name: str
        path: str

        def apply(self, aggregate: User) -> None:
            aggregate.user_name = self.user_name
            aggregate.path = self.path

    def update(self, user_name: str, path: str) -> None:
        """Rename the user and/or move it to another path; its id, groups and policies stay."""
        self.trigger_event(self.Updated, user_name=user_name, path=path)

    class Tagged(AuditedAggregate.Event):
        tags: list[dict[str, str]]

        def apply(self, aggregate: User) -> None:
            new = [(t["Key"], t["Value"]) for t in self.tags]
            aggregate.tags = merge_tags(aggregate.tags, new, case_insensitive_keys=True)

    def tag(self, tags: list[Tag]) -> None:
        """Add or overwrite tags (keys compare case-insensitively for users); at most 50 in all."""
        merge_tags(self.tags, tags, case_insensitive_keys=True)
        self.trigger_event(self.Tagged, tags=[{"Key": k, "Value": v} for k, v in tags])

    class Untagged(AuditedAggregate.Event):
        tag_keys: list[str]

        def apply(self, aggregate: User) -> None:
            aggregate.tags = remove_tags(aggregate.tags, self.tag_keys, case_insensitive_keys=True)

    def untag(self, tag_keys: list[str]) -> None:
        """Remove the tags of ``tag_keys``."""
        self.trigger_event(self.Untagged, tag_keys=list(tag_keys))

    class AddedToGroup(AuditedAggregate.Event):
        group_id: uuid.UUID
        group_name: str

        def apply(self, aggregate: User) -> None:
            aggregate.groups[self.group_id] = self.group_name

    def join_group(self, group_id: uuid.UUID, group_name: str) -> bool:
        """Join a group (a no-op for a member); a user is in at most 10 groups. Returns whether it joined."""
        if group_id in self.groups:
            return False
        if len(self.groups) >= MAX_GROUPS_PER_USER:
            raise LimitExceededError(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
        self.trigger_event(self.AddedToGroup, group_id=group_id, group_name=group_name)
        return True

    class RemovedFromGroup(AuditedAggregate.Event):
        group_id: uuid.UUID

        def apply(self, aggregate: User) -> None:
            aggregate.groups.pop(self.group_id, None)

    def leave_group(self, group_id: uuid.UUID) -> None:
        """Leave a group."""
        self.trigger_event(self.RemovedFromGroup, group_id=group_id)

    class InlinePolicyPut(InlinePolicyPutEvent):
        pass

    class InlinePolicyDeleted(InlinePolicyDeletedEvent):
        pass

    class PolicyAttached(PolicyAttachedEvent):
        pass

    class PolicyDetached(PolicyDetachedEvent):
        pass

    class PermissionsBoundaryPut(PermissionsBoundaryPutEvent):
        pass

    class PermissionsBoundaryDeleted(PermissionsBoundaryDeletedEvent):
        pass

    def put_permissions_boundary(self, policy_arn: str) -> None:
        """Set or replace the user's permissions boundary."""
        self.trigger_event(self.PermissionsBoundaryPut, policy_arn=policy_arn)

    def delete_permissions_boundary(self) -> None:
        """Remove the user's permissions boundary (a no-op when it has none)."""
        if self.permissions_boundary is not None:
            self.trigger_event(self.PermissionsBoundaryDeleted)

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: User) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the user; AWS refuses while anything still hangs on it (DeleteConflict)."""
        blockers: list[tuple[Any, str]] = [
            (self.credentials.get("login_profile"), "must delete login profile first."),
            (any(k.startswith("access_key:") for k in self.credentials), "must delete access keys first."),
            (self.inline_policies, "must delete policies first."),
            (self.attached_policies, "must detach all policies first."),
            (self.groups, "must remove user from all groups first."),
        ]
        for present, what in blockers:
            if present:
                raise DeleteConflictError(f"Cannot delete entity, {what}")
        self.trigger_event(self.Deleted)
