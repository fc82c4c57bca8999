"""The mix of a synthetic organisation's history (:mod:`iamledger.generate`): one request after another, each a
creation while the populations are behind their schedule, else one change drawn by its weight; saved in batches."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Final, TypeAlias

from iamledger.domain.audit import AuditContext, audit_context
from iamledger.synthetic_changes import (
    assume_role,
    attach,
    boundary,
    delete_inline,
    detach,
    join,
    key_create,
    key_delete,
    key_update,
    key_used,
    leave,
    new_version,
    offboard,
    put_inline,
    rename_user,
    role_update,
    set_default,
    tag,
    trust_update,
    untag,
)
from iamledger.synthetic_creations import create_group, create_policy, create_role, create_user
from iamledger.synthetic_organisation import Organisation

Change: TypeAlias = Callable[[Organisation], None]
ProgressCallback: TypeAlias = Callable[[int, int], None]

SAVE_EVERY: Final = 2000  # events per store.save(): one transaction
GROWTH_SHARE: Final = 0.6  # the populations are complete after about this share of the events
USER_AGENT: Final = "iamledger-bench-generate"
OFFBOARD_WEIGHT: Final = 0.35
"""The weight of a user's leaving once the users are complete (none before: the population is still growing)."""
CHURN: Final[tuple[tuple[Change, float], ...]] = (
    (join, 8.0),
    (leave, 5.0),
    (attach, 5.0),
    (detach, 3.5),
    (new_version, 2.5),
    (set_default, 2.0),
    (put_inline, 2.5),
    (delete_inline, 1.0),
    (trust_update, 1.5),
    (role_update, 0.5),
    (key_create, 2.0),
    (key_update, 1.2),
    (key_delete, 1.0),
    (key_used, 3.0),
    (tag, 1.5),
    (untag, 0.5),
    (rename_user, 0.4),
    (boundary, 0.4),
    (assume_role, 2.0),
)
"""The changes of the organisation's life and their weights (how often each is drawn, relative to the others)."""


def _missing(org: Organisation) -> list[tuple[Change, int]]:
    spec = org.spec
    return [
        (create_user, spec.users - len(org.users)),
        (create_group, spec.groups - len(org.groups)),
        (create_policy, spec.policy_count - len(org.policies)),
        (create_role, spec.roles - len(org.roles)),
    ]


def _grow(org: Organisation) -> bool:
    """Create an entity when the populations are behind their schedule; whether one was created."""
    missing = [(make, count) for make, count in _missing(org) if count > 0]
    if not missing:
        return False
    need = sum(count for _, count in missing)
    budget = max(1.0, GROWTH_SHARE * org.spec.events - org.events)
    # about 2.5 events per creation (a user's onboarding adds memberships): spread the rest of them evenly
    if org.rng.random() >= min(1.0, need * 2.5 / budget):
        return False
    make = org.rng.choices([m for m, _ in missing], [c for _, c in missing])[0]
    make(org)
    return True


def step(org: Organisation) -> None:
    """One request's work: a creation (:func:`_grow`), or else one change of :data:`CHURN` (or a user's leaving)."""
    if _grow(org):
        return
    full = len(org.users) >= org.spec.users
    weights: list[tuple[Change, float]] = [(offboard, OFFBOARD_WEIGHT if full else 0.0), *CHURN]
    operation = org.rng.choices([w[0] for w in weights], [w[1] for w in weights])[0]
    operation(org)


def build(org: Organisation, progress: ProgressCallback | None = None) -> None:
    """Generate requests until the history has ``org.spec.events`` events, each under an audit context of its own,
    saving every :data:`SAVE_EVERY` events or so (``progress`` is told the events saved and the target)."""
    target = org.spec.events
    while org.events < target:
        org.requests += 1
        ctx = AuditContext(actor=org.actor, request_id=str(uuid.uuid4()), user_agent=USER_AGENT)
        token = audit_context.set(ctx)
        try:
            if not (org.users and org.groups and org.policies and org.roles):
                for make in (create_group, create_policy, create_role, create_user):
                    make(org)
            else:
                step(org)
        finally:
            audit_context.reset(token)
        if len(org.touched) >= SAVE_EVERY // 4 or org.events - org.saved >= SAVE_EVERY:
            org.flush()
            if progress is not None:
                progress(min(org.events, target), target)
    org.flush()
    if progress is not None:
        progress(org.events, max(org.events, target))
