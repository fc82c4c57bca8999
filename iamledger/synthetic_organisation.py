"""A synthetic organisation while its history is generated (:mod:`iamledger.generate`): its aggregates, the names
they hold, and the changes not yet saved, saved in large batches."""

# The odds of the generator's random choices are plain numbers (as in iamledger/generate.py, which pyproject.toml
# exempts likewise).
# ruff: noqa: PLR2004

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from iamledger.domain.groups import Group
from iamledger.domain.ids import root_arn
from iamledger.domain.names import NameIndex
from iamledger.domain.policies import ManagedPolicy, check_document
from iamledger.domain.roles import Role
from iamledger.domain.users import User
from iamledger.projections.views.catalogue import aws_managed_policies
from iamledger.store import IdentityStore
from iamledger.synthetic_documents import policy_document, trust_policy

if TYPE_CHECKING:  # iamledger.generate, the spec's module, imports this one
    from iamledger.generate import GenerateSpec

Holder: TypeAlias = User | Group | Role


@dataclass
class Organisation:
    """The organisation's aggregates while its history is generated, the names they hold, and the changes not yet
    saved: :meth:`touch` counts a change's events, :meth:`flush` saves the changed aggregates in one transaction.

    The populations grow to the spec's sizes over about the first 60% of the events (creations are spread among the
    other changes, so early entities have a longer history than late ones, as in a real account); after that, the
    users who leave are replaced and the rest is churn (:mod:`iamledger.synthetic_history`).
    """

    store: IdentityStore
    spec: GenerateSpec
    rng: random.Random
    events: int = 0
    requests: int = 0
    users: list[User] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    policies: list[ManagedPolicy] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    users_deleted: int = 0
    role_sessions: int = 0
    indexes: dict[tuple[str, str], NameIndex] = field(default_factory=dict)
    groups_by_id: dict[uuid.UUID, Group] = field(default_factory=dict)
    policies_by_arn: dict[str, ManagedPolicy] = field(default_factory=dict)
    touched: dict[uuid.UUID, Any] = field(default_factory=dict)
    counted: dict[uuid.UUID, int] = field(default_factory=dict)
    serial: int = 0
    saved: int = 0

    def __post_init__(self) -> None:
        account = self.spec.account_id
        self.aws_arns = sorted(a for a in aws_managed_policies() if "/service-role/" not in a)[:15]
        self.documents = [policy_document(self.rng, account) for _ in range(64)]
        for document in self.documents:
            check_document(document)  # once here: the events below skip the per-call parse
        self.trusts = [trust_policy(self.rng, account) for _ in range(8)]
        self.actor = root_arn(account)
        self.teams = max(1, self.spec.groups // 3)  # a user's team: the groups it is onboarded into

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    def touch(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            pending = len(aggregate.pending_events)
            self.events += pending - self.counted.get(aggregate.id, 0)
            self.counted[aggregate.id] = pending
            self.touched[aggregate.id] = aggregate

    def flush(self) -> None:
        if self.touched:
            self.store.save(*self.touched.values())
        self.saved = self.events
        self.touched.clear()
        self.counted.clear()

    def new_name(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:07d}"

    def claim(self, kind: str, name: str, entity_id: uuid.UUID) -> NameIndex:
        key = (kind, name.casefold())
        index = self.indexes.get(key)
        if index is None:
            index = NameIndex(account_id=self.spec.account_id, kind=kind, name=name, entity_id=entity_id)
            self.indexes[key] = index
        else:
            index.claim(name, entity_id, "taken")
        return index

    def pick_holder(self) -> Holder:
        kind = self.rng.random()
        if kind < 0.4:
            return self.rng.choice(self.users)
        if kind < 0.7:
            return self.rng.choice(self.groups)
        return self.rng.choice(self.roles)
