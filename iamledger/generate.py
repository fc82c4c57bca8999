"""A synthetic organisation and its history, generated with the real domain aggregates (``iamledger bench generate``).

The organisation grows to the populations asked for (users, groups, roles, customer managed policies) while it
lives: users are onboarded into their team's groups and later join and leave others, policies get new versions and
new default versions, policies are attached and detached (customer and AWS managed, to users, groups and roles),
inline policies are put and deleted, role trust policies change, access keys are created, rotated, used and deleted,
tags come and go, users are renamed and given permissions boundaries, roles are assumed, and people leave (removed
from everything, then deleted, and replaced so the population holds). Every change is the events one IAM command
would record, with an audit context per request, saved in transactions of about 2,000 events: what the projector
and the as-of queries then work on is indistinguishable from a store that served those commands.

The seed drives every choice the generator makes (ids and times are fresh each run). The organisation is
:mod:`iamledger.synthetic_organisation`; its documents, creations, changes and their mix are the other
``iamledger.synthetic_*`` modules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from iamledger.domain.errors import EntityAlreadyExistsError, InvalidInputError
from iamledger.store import IdentityStore
from iamledger.synthetic_history import ProgressCallback, build
from iamledger.synthetic_organisation import Organisation


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate: the populations the organisation reaches and the number of events in its history."""

    users: int
    groups: int
    roles: int
    events: int
    policies: int | None = None  # customer managed policies; default one per 100 users (at least 3)
    seed: int = 7
    account_id: str = "123456789012"

    @property
    def policy_count(self) -> int:
        return self.policies if self.policies is not None else max(3, self.users // 100)

    @property
    def minimum_events(self) -> int:
        """Creating the populations alone: each entity's creation and its name's claim."""
        return 2 * (self.users + self.groups + self.roles + self.policy_count)

    def check(self) -> None:
        """Refuse impossible specifications (nothing is written)."""
        for name, value in (("users", self.users), ("groups", self.groups), ("roles", self.roles)):
            if value < 1:
                raise InvalidInputError(f"--{name} must be at least 1 (got {value}).")
        if self.policy_count < 1:
            raise InvalidInputError(f"--policies must be at least 1 (got {self.policy_count}).")
        if self.events < self.minimum_events:
            raise InvalidInputError(
                f"--events must be at least {self.minimum_events:,} for these populations "
                f"(two events to create and name each user, group, role and policy); got {self.events:,}."
            )


@dataclass(frozen=True)
class GenerateResult:
    events: int
    requests: int
    users: int
    groups: int
    roles: int
    policies: int
    users_deleted: int
    role_sessions: int
    first_position: int
    last_position: int


def generate(store: IdentityStore, spec: GenerateSpec, progress: ProgressCallback | None = None) -> GenerateResult:
    """Generate ``spec``'s organisation and history into ``store`` in account ``spec.account_id``.

    The account is created (the store initialised when it is empty); an account that already exists is refused
    with :class:`EntityAlreadyExistsError`, and a spec that cannot be met with :class:`InvalidInputError`, before
    anything is written. The views are not brought up to date here (the next read, or ``iamledger projections
    rebuild``, builds them in one bulk load).
    """
    spec.check()
    if spec.account_id in (store.account_ids() if store.is_initialized() else []):
        raise EntityAlreadyExistsError(
            f"Account {spec.account_id} already exists in this store: generate into a new account (--account-id) "
            "or a new store."
        )
    first = store.projector.head() + 1
    if store.is_initialized():
        store.create_account(spec.account_id)
    else:
        store.init(spec.account_id)
    organisation = Organisation(store, spec, random.Random(spec.seed))
    build(organisation, progress)
    return GenerateResult(
        events=organisation.events,
        requests=organisation.requests,
        users=len(organisation.users),
        groups=len(organisation.groups),
        roles=len(organisation.roles),
        policies=len(organisation.policies),
        users_deleted=organisation.users_deleted,
        role_sessions=organisation.role_sessions,
        first_position=first,
        last_position=store.projector.head(),
    )
