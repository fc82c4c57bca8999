"""Case-insensitive unique names: one index aggregate per (account, kind, name), saved with the entity.

IAM names are unique per account regardless of case (``Bob`` and ``bob`` conflict) but keep their case. The index
aggregate of a name has a deterministic id, ``uuid5(namespace, "account:kind:casefolded-name")``: the first claim
creates it (version 1), a concurrent first claim fails on the recorder's unique constraint, and later claims after a
release add versions, which conflict the same way. So whichever of two racing creations saves first wins, and the
other records nothing.
"""

from __future__ import annotations

import functools
import uuid
from typing import Final

from iamledger.domain.base import AuditedAggregate
from iamledger.domain.errors import EntityAlreadyExistsError

NAMESPACE: Final = uuid.UUID("9a3c5e0e-2f4b-5b8e-9c1d-7e6f5a4b3c2d")


def name_key(name: str) -> str:
    """The form under which names are compared: IAM compares them case-insensitively."""
    return name.casefold()


class NameIndex(AuditedAggregate):
    """Which entity holds a name of one kind in one account, if any."""

    @staticmethod
    @functools.lru_cache(maxsize=4096)  # a request names an entity on every call: hashing costs more than a lookup
    def create_id(account_id: str, kind: str, name: str) -> uuid.UUID:
        """The index id of ``name`` (any case) for entities of ``kind`` in ``account_id``."""
        return uuid.uuid5(NAMESPACE, f"{account_id}:{kind}:{name_key(name)}")

    class Created(AuditedAggregate.Created):
        account_id: str
        kind: str
        name: str
        entity_id: uuid.UUID

    def __init__(self, account_id: str, kind: str, name: str, entity_id: uuid.UUID) -> None:
        self.account_id = account_id
        self.kind = kind
        self.name = name
        self.entity_id: uuid.UUID | None = entity_id

    class Claimed(AuditedAggregate.Event):
        name: str
        entity_id: uuid.UUID

        def apply(self, aggregate: NameIndex) -> None:
            aggregate.name = self.name
            aggregate.entity_id = self.entity_id

    class Released(AuditedAggregate.Event):
        def apply(self, aggregate: NameIndex) -> None:
            aggregate.entity_id = None

    def claim(self, name: str, entity_id: uuid.UUID, conflict_message: str) -> None:
        """Give the name to ``entity_id``; refused while another entity holds it."""
        if self.entity_id is not None:
            raise EntityAlreadyExistsError(conflict_message)
        self.trigger_event(self.Claimed, name=name, entity_id=entity_id)

    def release(self) -> None:
        """Free the name (the entity was deleted or renamed)."""
        if self.entity_id is not None:
            self.trigger_event(self.Released)
