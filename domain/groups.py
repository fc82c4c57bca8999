"""IAM groups: collections of users that carry policies. Groups hold users, never groups, and have no credentials:
nothing here could add either."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from iamledger.domain.arns import iam_arn
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import DeleteConflictError
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PermissionsHolder,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.policy import SizeLimit, group_inline_limit


class Group(PermissionsHolder):
    """An IAM group."""

    kind: ClassVar[str] = "group"

    class Created(AuditedAggregate.Created):
        account_id: str
        group_id: str
        group_name: str
        path: str
        create_date: datetime | None = None  # AWS's CreateDate when imported; None: the event's own timestamp

    def __init__(self, account_id: str, group_id: str, group_name: str, path: str) -> None:
        self.account_id = account_id
        self.group_id = group_id
        self.group_name = group_name
        self.path = path
        self.members: set[uuid.UUID] = set()
        self.inline_policies = {}
        self.attached_policies = []
        self.permissions_boundary = None
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:group/PATH/NAME``."""
        return iam_arn(self.account_id, "group", self.path, self.group_name)

    @property
    def display_name(self) -> str:
        """The group's name."""
        return self.group_name

    def inline_limit(self) -> SizeLimit:
        """All inline policies of a group together: 5,120 characters."""
        return group_inline_limit(self.group_name)

    class Updated(AuditedAggregate.Event):
        group_name: str
        path: str

        def apply(self, aggregate: Group) -> None:
            aggregate.group_name = self.group_name
            aggregate.path = self.path

    def update(self, group_name: str, path: str) -> None:
        """Rename the group and/or move it; its id, members and policies stay."""
        self.trigger_event(self.Updated, group_name=group_name, path=path)

    class MemberAdded(AuditedAggregate.Event):
        user_id: uuid.UUID

        def apply(self, aggregate: Group) -> None:
            aggregate.members.add(self.user_id)

    def add_member(self, user_id: uuid.UUID) -> None:
        """Record a new member (the user's side records the membership for the views)."""
        if user_id not in self.members:
            self.trigger_event(self.MemberAdded, user_id=user_id)

    class MemberRemoved(AuditedAggregate.Event):
        user_id: uuid.UUID

        def apply(self, aggregate: Group) -> None:
            aggregate.members.discard(self.user_id)

    def remove_member(self, user_id: uuid.UUID) -> None:
        """Forget a member."""
        if user_id in self.members:
            self.trigger_event(self.MemberRemoved, user_id=user_id)

    class InlinePolicyPut(InlinePolicyPutEvent):
        pass

    class InlinePolicyDeleted(InlinePolicyDeletedEvent):
        pass

    class PolicyAttached(PolicyAttachedEvent):
        pass

    class PolicyDetached(PolicyDetachedEvent):
        pass

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: Group) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the group; it must have no users and no policies (DeleteConflict)."""
        if self.members:
            raise DeleteConflictError("Cannot delete entity, must remove users from group first.")
        if self.inline_policies:
            raise DeleteConflictError("Cannot delete entity, must delete policies first.")
        if self.attached_policies:
            raise DeleteConflictError("Cannot delete entity, must detach all policies first.")
        self.trigger_event(self.Deleted)
