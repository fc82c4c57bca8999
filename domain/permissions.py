"""What users, groups and roles have in common: inline policies, attached managed policies, and (users and roles)
a permissions boundary, with AWS's quotas.

Each aggregate subclasses these event classes as its own nested events (``User.PolicyAttached``), so event topics
name the aggregate and the views know the principal's kind from the class alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Final

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import LimitExceededError, NoSuchEntityError
from iamledger.domain.policy import PolicyKind, SizeLimit, parse, policy_size

MAX_ATTACHED_POLICIES: Final = 10


class InlinePolicyPutEvent(AuditedAggregate.Event):
    policy_name: str
    policy_document: str

    def apply(self, aggregate: PermissionsHolder) -> None:
        aggregate.inline_policies[self.policy_name] = self.policy_document


class InlinePolicyDeletedEvent(AuditedAggregate.Event):
    policy_name: str

    def apply(self, aggregate: PermissionsHolder) -> None:
        del aggregate.inline_policies[self.policy_name]


class PolicyAttachedEvent(AuditedAggregate.Event):
    policy_arn: str

    def apply(self, aggregate: PermissionsHolder) -> None:
        aggregate.attached_policies.append(self.policy_arn)


class PolicyDetachedEvent(AuditedAggregate.Event):
    policy_arn: str

    def apply(self, aggregate: PermissionsHolder) -> None:
        aggregate.attached_policies.remove(self.policy_arn)


class PermissionsBoundaryPutEvent(AuditedAggregate.Event):
    policy_arn: str

    def apply(self, aggregate: PermissionsHolder) -> None:
        aggregate.permissions_boundary = self.policy_arn


class PermissionsBoundaryDeletedEvent(AuditedAggregate.Event):
    def apply(self, aggregate: PermissionsHolder) -> None:
        aggregate.permissions_boundary = None


class PermissionsHolder(AuditedAggregate):
    """An aggregate that holds permissions policies. Subclasses name their own event classes."""

    kind: ClassVar[str]
    if TYPE_CHECKING:  # set by each subclass's __init__; not dataclass fields of the aggregate
        inline_policies: dict[str, str]
        attached_policies: list[str]
        permissions_boundary: str | None

    InlinePolicyPut: ClassVar[type[InlinePolicyPutEvent]]
    InlinePolicyDeleted: ClassVar[type[InlinePolicyDeletedEvent]]
    PolicyAttached: ClassVar[type[PolicyAttachedEvent]]
    PolicyDetached: ClassVar[type[PolicyDetachedEvent]]
    # Only users and roles have a permissions boundary; groups declare no such events.
    PermissionsBoundaryPut: ClassVar[type[PermissionsBoundaryPutEvent]]
    PermissionsBoundaryDeleted: ClassVar[type[PermissionsBoundaryDeletedEvent]]

    @property
    def display_name(self) -> str:
        """The entity's name, for messages."""
        raise NotImplementedError

    def inline_limit(self) -> SizeLimit:
        """The aggregate size quota of this entity's inline policies."""
        raise NotImplementedError

    def put_inline_policy(self, policy_name: str, policy_document: str) -> None:
        """Create or replace an inline policy; the document must be valid and all inline policies fit the quota."""
        parse(policy_document, PolicyKind.IDENTITY)
        others = sum(policy_size(doc) for name, doc in self.inline_policies.items() if name != policy_name)
        self.inline_limit().check(others + policy_size(policy_document))
        self.trigger_event(self.InlinePolicyPut, policy_name=policy_name, policy_document=policy_document)

    def delete_inline_policy(self, policy_name: str) -> None:
        """Delete an inline policy; ``NoSuchEntity`` when there is none of that name."""
        if policy_name not in self.inline_policies:
            raise NoSuchEntityError(f"The {self.kind} policy with name {policy_name} cannot be found.")
        self.trigger_event(self.InlinePolicyDeleted, policy_name=policy_name)

    def attach_policy(self, policy_arn: str) -> bool:
        """Attach a managed policy (a no-op when already attached); at most 10. Returns whether it was attached."""
        if policy_arn in self.attached_policies:
            return False
        if len(self.attached_policies) >= MAX_ATTACHED_POLICIES:
            raise LimitExceededError(
                f"Cannot exceed quota for PoliciesPer{self.kind.capitalize()}: {MAX_ATTACHED_POLICIES}"
            )
        self.trigger_event(self.PolicyAttached, policy_arn=policy_arn)
        return True

    def detach_policy(self, policy_arn: str) -> None:
        """Detach a managed policy; ``NoSuchEntity`` when it is not attached."""
        if policy_arn not in self.attached_policies:
            raise NoSuchEntityError(f"Policy {policy_arn} was not found.")
        self.trigger_event(self.PolicyDetached, policy_arn=policy_arn)

    def put_permissions_boundary(self, policy_arn: str) -> None:
        """Set or replace the permissions boundary (users and roles)."""
        self.trigger_event(self.PermissionsBoundaryPut, policy_arn=policy_arn)

    def delete_permissions_boundary(self) -> None:
        """Remove the permissions boundary (a no-op when there is none)."""
        if self.permissions_boundary is not None:
            self.trigger_event(self.PermissionsBoundaryDeleted)
