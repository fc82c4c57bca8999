"""EC2 instance profiles: a named container for (at most) one role, which EC2 instances launched with the profile
act as. Names are unique in the account whatever their case; tag keys are case-sensitive here."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar, Final

from iamledger.domain.arns import iam_arn
from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import DeleteConflictError, LimitExceededError, NoSuchEntityError
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag

MAX_ROLES_PER_INSTANCE_PROFILE: Final = 1


class InstanceProfile(Taggable, AuditedAggregate):
    """An instance profile."""

    case_insensitive_tag_keys: ClassVar[bool] = False

    kind: ClassVar[str] = "instance-profile"

    class Created(AuditedAggregate.Created):
        account_id: str
        instance_profile_id: str
        instance_profile_name: str
        path: str
        tags: list[dict[str, str]]
        create_date: datetime | None = None  # AWS's CreateDate when imported; None: the event's own timestamp

    def __init__(
        self,
        account_id: str,
        instance_profile_id: str,
        instance_profile_name: str,
        path: str,
        tags: list[dict[str, str]],
    ) -> None:
        self.account_id = account_id
        self.instance_profile_id = instance_profile_id
        self.instance_profile_name = instance_profile_name
        self.path = path
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.roles: dict[uuid.UUID, str] = {}
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME``."""
        return iam_arn(self.account_id, "instance-profile", self.path, self.instance_profile_name)

    # -- roles -------------------------------------------------------------------------------------------------

    class RoleAdded(AuditedAggregate.Event):
        role_uuid: uuid.UUID
        role_name: str

        def apply(self, aggregate: InstanceProfile) -> None:
            aggregate.roles[self.role_uuid] = self.role_name

    def add_role(self, role_uuid: uuid.UUID, role_name: str) -> None:
        """Put a role in the profile; a profile holds at most one role (``LimitExceeded``, also for the role it
        already holds)."""
        if len(self.roles) >= MAX_ROLES_PER_INSTANCE_PROFILE:
            raise LimitExceededError(
                f"Cannot exceed quota for InstanceSessionsPerInstanceProfile: {MAX_ROLES_PER_INSTANCE_PROFILE}"
            )
        self.trigger_event(self.RoleAdded, role_uuid=role_uuid, role_name=role_name)

    class RoleRemoved(AuditedAggregate.Event):
        role_uuid: uuid.UUID

        def apply(self, aggregate: InstanceProfile) -> None:
            aggregate.roles.pop(self.role_uuid, None)

    def remove_role(self, role_uuid: uuid.UUID, role_name: str) -> None:
        """Take a role out of the profile; ``NoSuchEntity`` when the profile does not hold it."""
        if role_uuid not in self.roles:
            raise NoSuchEntityError(f"Role {role_name} is not in instance profile {self.instance_profile_name}.")
        self.trigger_event(self.RoleRemoved, role_uuid=role_uuid)

    # -- tags -------------------------------------------------------------------------------------------------

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    # -- deletion ---------------------------------------------------------------------------------------------

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: InstanceProfile) -> None:
            aggregate.deleted = True

    def delete(self) -> None:
        """Delete the profile; refused while it holds a role (``DeleteConflict``)."""
        if self.roles:
            raise DeleteConflictError("Cannot delete entity, must remove roles from instance profile first.")
        self.trigger_event(self.Deleted)
