"""The escalation graph's edges: P -> Q (an ARN, or the ``admin`` node) by one technique, with the evaluator's
decisions that allow it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from iamledger.audit.subjects import Subject
from iamledger.audit.techniques import Technique
from iamledger.domain.policy import AppliedPolicy, Decision

ADMIN: Final = "admin"


@dataclass(frozen=True)
class Grant:
    """One required action, the resource it was asked on, and the evaluator's decision for the subject."""

    action: str
    resource: str
    decision: Decision
    subject: Subject
    trust: AppliedPolicy | None = None
    supplied: tuple[str, ...] = ()  # caller-chosen condition keys the request needed (MFA, an external id)


@dataclass
class Edge:
    """P -> Q (an ARN, or :data:`ADMIN`) by one technique, with the decisions that allow it."""

    source: str
    target: str
    technique: Technique
    grants: tuple[Grant, ...]
    via: str | None = None  # the group, policy, version or service the technique acts through
    trust_role: Subject | None = None  # the role whose trust policy admitted the source (sts:AssumeRole)
    condition_keys: tuple[str, ...] = ()
    granter: str | None = None  # a grant on the source by another principal: usable on a path through the granter
    external: bool = False  # from an account outside the store, admitted by the trust policy alone

    @property
    def conditional(self) -> bool:
        """Whether a statement that allows the edge reads a condition key (it holds only while the condition does)."""
        return bool(self.condition_keys)


def condition_keys_of(grant: Grant) -> set[str]:
    """The condition keys read by the statements that allowed ``grant`` (as written in the policies)."""
    applied = [*grant.subject.identity, *([grant.subject.boundary] if grant.subject.boundary else [])]
    if grant.trust is not None:
        applied.append(grant.trust)
    by_source = {id(a.source): a for a in applied}
    keys: set[str] = set(grant.supplied)
    for statement in grant.decision.matched_statements:
        policy = by_source.get(id(statement.source))
        if policy is not None:
            keys |= {written for _lower, written in policy.policy.statements[statement.index].keys}
    return keys
