"""The escalation graph's edges: P -> Q (an ARN, or the ``admin`` node) by one technique, with the evaluator's
decisions that allow it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
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


def edges_by_node(edges: Iterable[Edge]) -> tuple[dict[str, list[Edge]], dict[str, list[Edge]]]:
    """Edges by source, and the grants to others (``GrantedBy``) by granter, for :func:`next_hops`."""
    by_source: dict[str, list[Edge]] = {}
    by_granter: dict[str, list[Edge]] = {}
    for edge in edges:
        by_source.setdefault(edge.source, []).append(edge)
        if edge.granter is not None:
            by_granter.setdefault(edge.granter, []).append(edge)
    return by_source, by_granter


def next_hops(
    node: str, seen: AbstractSet[str], by_source: Mapping[str, list[Edge]], by_granter: Mapping[str, list[Edge]]
) -> Iterator[tuple[Edge, bool]]:
    """The edges a path at ``node``, which has visited ``seen``, may take next (from :func:`edges_by_node`), each
    with whether a path may go on from its target. A grant to another is taken either from its source, once the path
    has passed its granter (the granter gives the source admin, and the path goes on as the source), or from its
    granter, when the path started at or passed its source (the granter gives admin to a principal whose
    credentials the path already holds)."""
    for edge in by_source.get(node, []):
        if edge.target in seen or (edge.granter is not None and edge.granter not in seen):
            continue
        yield edge, edge.target != ADMIN
    for edge in by_granter.get(node, []):
        if edge.source != node and edge.source in seen:
            yield edge, False
