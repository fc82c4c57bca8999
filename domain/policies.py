"""Customer managed policies: a name unique in the account (whatever its case), a path, an immutable description,
up to five stored versions of which one is the default, tags, and the entities the policy is attached to.

AWS managed policies (``arn:aws:iam::aws:policy/...``) are not aggregates: they come from the built-in catalogue
and are read-only.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Final

from iamledger.domain.arns import iam_arn
from iamledger.domain.base import AuditedAggregate, shared_when_copied
from iamledger.domain.errors import DeleteConflictError, LimitExceededError, NoSuchEntityError
from iamledger.domain.policy import PolicyKind, managed_policy_limit, parse
from iamledger.domain.tagging import Taggable, TaggedEvent, UntaggedEvent
from iamledger.domain.tags import Tag

MAX_VERSIONS: Final = 5
FIRST_VERSION: Final = "v1"

VERSION_LIMIT_MESSAGE: Final = (
    f"A managed policy can have up to {MAX_VERSIONS} versions. "
    "Before you create a new version, you must delete an existing version."
)
DEFAULT_VERSION_MESSAGE: Final = "Cannot delete the default version of a policy."
ATTACHED_MESSAGE: Final = "Cannot delete a policy attached to entities."
VERSIONS_LEFT_MESSAGE: Final = (
    "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. "
    "The default version is deleted with the policy."
)


def check_document(document: str) -> None:
    """Refuse a document IAM would refuse for a managed policy (grammar, identity rules, 6,144 characters)."""
    parse(document, PolicyKind.IDENTITY, max_size=managed_policy_limit())


def version_number(version_id: str) -> int:
    """``v3`` -> 3."""
    return int(version_id[1:])


@shared_when_copied
@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One stored version of a managed policy."""

    version_id: str
    document: str
    create_date: datetime


class ManagedPolicy(Taggable, AuditedAggregate):
    """A customer managed policy."""

    case_insensitive_tag_keys: ClassVar[bool] = False

    kind: ClassVar[str] = "policy"

    class Created(AuditedAggregate.Created):
        account_id: str
        policy_id: str
        policy_name: str
        path: str
        description: str | None
        document: str
        tags: list[dict[str, str]]
        # Kept from an imported dump: the id of the oldest stored version, and AWS's dates (None: the event's time).
        first_version_id: str = FIRST_VERSION
        create_date: datetime | None = None
        update_date: datetime | None = None
        version_create_date: datetime | None = None  # the first version's, when it differs from the policy's

    def __init__(
        self,
        account_id: str,
        policy_id: str,
        policy_name: str,
        path: str,
        description: str | None,
        document: str,
        tags: list[dict[str, str]],
        first_version_id: str = FIRST_VERSION,
        create_date: datetime | None = None,
        update_date: datetime | None = None,
        version_create_date: datetime | None = None,
    ) -> None:
        self.account_id = account_id
        self.policy_id = policy_id
        self.policy_name = policy_name
        self.path = path
        self.description = description
        self.versions: dict[str, PolicyVersion] = {
            first_version_id: PolicyVersion(
                first_version_id, document, version_create_date or create_date or self.created_on
            )
        }
        self.default_version_id = first_version_id
        self.last_version_number = version_number(first_version_id)
        self.update_date: datetime = update_date or create_date or self.created_on
        self.tags: list[Tag] = [(t["Key"], t["Value"]) for t in tags]
        self.attachments: dict[uuid.UUID, str] = {}
        self.deleted = False

    @property
    def arn(self) -> str:
        """``arn:aws:iam::ACCOUNT:policy/PATH/NAME``."""
        return iam_arn(self.account_id, "policy", self.path, self.policy_name)

    def get_version(self, version_id: str) -> PolicyVersion:
        """A stored version; ``NoSuchEntity`` in AWS's words when there is none with that id."""
        try:
            return self.versions[version_id]
        except KeyError:
            msg = f"Policy {self.arn} version {version_id} does not exist or is not attachable."
            raise NoSuchEntityError(msg) from None

    # -- versions ---------------------------------------------------------------------------------------------

    class VersionCreated(AuditedAggregate.Event):
        version_id: str
        document: str
        set_as_default: bool
        create_date: datetime | None = None  # AWS's CreateDate of an imported version; None: the event's time
        update_date: datetime | None = None  # AWS's UpdateDate of an imported policy whose default this becomes

        def apply(self, aggregate: ManagedPolicy) -> None:
            created = self.create_date or self.timestamp
            aggregate.versions[self.version_id] = PolicyVersion(self.version_id, self.document, created)
            aggregate.last_version_number = max(aggregate.last_version_number, version_number(self.version_id))
            if self.set_as_default:
                aggregate.default_version_id = self.version_id
                aggregate.update_date = self.update_date or created

    def create_version(self, document: str, *, set_as_default: bool) -> PolicyVersion:
        """Store a new version (``v<highest ever + 1>``: ids are never reused); at most five versions."""
        check_document(document)
        if len(self.versions) >= MAX_VERSIONS:
            raise LimitExceededError(VERSION_LIMIT_MESSAGE)
        version_id = f"v{self.last_version_number + 1}"
        self.trigger_event(self.VersionCreated, version_id=version_id, document=document, set_as_default=set_as_default)
        return self.versions[version_id]

    class DefaultVersionSet(AuditedAggregate.Event):
        version_id: str
        update_date: datetime | None = None  # AWS's UpdateDate when imported; None: the event's own time

        def apply(self, aggregate: ManagedPolicy) -> None:
            aggregate.default_version_id = self.version_id
            aggregate.update_date = self.update_date or self.timestamp

    def set_default_version(self, version_id: str) -> None:
        """Make a stored version the operative one for every entity the policy is attached to."""
        self.get_version(version_id)
        if version_id != self.default_version_id:
            self.trigger_event(self.DefaultVersionSet, version_id=version_id)

    class VersionDeleted(AuditedAggregate.Event):
        version_id: str

        def apply(self, aggregate: ManagedPolicy) -> None:
            del aggregate.versions[self.version_id]

    def delete_version(self, version_id: str) -> None:
        """Delete a version that is not the default one."""
        self.get_version(version_id)
        if version_id == self.default_version_id:
            raise DeleteConflictError(DEFAULT_VERSION_MESSAGE)
        self.trigger_event(self.VersionDeleted, version_id=version_id)

    # -- tags (keys are case-sensitive for policies) ------------------------------------------------------------

    class Tagged(TaggedEvent):
        pass

    class Untagged(UntaggedEvent):
        pass

    # -- attachments (bookkeeping: the principal's own event is what the views show) -------------------------

    class Attached(AuditedAggregate.Event):
        entity_id: uuid.UUID
        entity_kind: str

        def apply(self, aggregate: ManagedPolicy) -> None:
            aggregate.attachments[self.entity_id] = self.entity_kind

    def record_attachment(self, entity_id: uuid.UUID, entity_kind: str) -> None:
        """Count an attachment to a user, group or role, saved with that entity's own ``PolicyAttached``."""
        if entity_id not in self.attachments:
            self.trigger_event(self.Attached, entity_id=entity_id, entity_kind=entity_kind)

    class Detached(AuditedAggregate.Event):
        entity_id: uuid.UUID

        def apply(self, aggregate: ManagedPolicy) -> None:
            aggregate.attachments.pop(self.entity_id, None)

    def record_detachment(self, entity_id: uuid.UUID) -> None:
        """Forget an attachment."""
        if entity_id in self.attachments:
            self.trigger_event(self.Detached, entity_id=entity_id)

    # -- deletion ---------------------------------------------------------------------------------------------

    class Deleted(AuditedAggregate.Event):
        def apply(self, aggregate: ManagedPolicy) -> None:
            aggregate.deleted = True

    def delete(self, boundary_uses: int) -> None:
        """Delete the policy with its default version. Refused (DeleteConflict) while it is attached to an entity
        or is the permissions boundary of one (``boundary_uses``), and while non-default versions remain."""
        if self.attachments or boundary_uses:
            raise DeleteConflictError(ATTACHED_MESSAGE)
        if len(self.versions) > 1:
            raise DeleteConflictError(VERSIONS_LEFT_MESSAGE)
        self.trigger_event(self.Deleted)
