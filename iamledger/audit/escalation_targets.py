"""Which users, roles, groups or policies a principal's statements can allow an action on, without asking the
evaluator about each: the graph asks it only about those.

A technique acting on every user (``iam:CreateAccessKey`` on the target) is decided for each user of the account; a
principal whose only statement for the action is the self-service ``arn:aws:iam::*:user/${aws:username}`` is
refused on all of them but one, and asking about each makes the whole graph cost (principals x users) decisions.
An action on a resource is allowed only when a statement of the principal's identity policies allows it on that
resource (IAM users, groups, roles and policies have no resource-based policy), and one of its boundary's when it
has one; ARN patterns match case-sensitively. So a resource whose ARN, after the fifth ``:``, does not begin with
the text of one of those statements' ``Resource`` patterns up to its first wildcard (after its policy variables
are replaced by the principal's values: ``user/${aws:username}``, ``user/team31/*``) is refused: only the others
are asked about, and the evaluator still decides those. A statement with ``Resource: "*"``, ``NotResource``, or a
policy variable that is not the principal's own (a caller's key, :mod:`~iamledger.audit.caller_keys`, or a
service's) keeps every resource.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from iamledger.audit.caller_keys import is_caller_key
from iamledger.audit.decisions import _request_context
from iamledger.domain.policy import AppliedPolicy
from iamledger.domain.policy.variables import parse_template, resolve, to_text

if TYPE_CHECKING:
    from iamledger.audit.escalation_graph import EscalationGraph
    from iamledger.audit.subjects import Subject
    from iamledger.audit.techniques import Technique

_PARTS = 6  # arn:partition:service:region:account:resource


Prefix = tuple[str, bool]
"""The start of a resource part (the ARN after its fifth ``:``) and whether it is the whole of it."""


def allowed_prefixes(
    policies: Sequence[AppliedPolicy], action: str, context: Mapping[str, Any]
) -> frozenset[Prefix] | None:
    """What the resource parts of the resources a statement of ``policies`` (a subject's identity policies, or its
    boundary) may allow ``action`` (lowercased) on begin with, with the request ``context``: the text of each of
    their ``Resource`` patterns up to its first wildcard, after its policy variables are replaced; ``None`` when one
    may allow it on any resource."""
    found: set[Prefix] = set()
    for applied in policies:
        document = applied.policy.document
        for compiled in applied.policy.statements_for(action):
            if not compiled.allow:
                continue
            patterns = document.statements[compiled.index].resource
            if compiled.any_resource or patterns is None:  # every resource, or NotResource
                return None
            if any(_chosen(lower) for lower, _written in compiled.resource_keys):
                return None
            for pattern in patterns:
                text = pattern
                if document.variables_enabled:
                    parts = resolve(parse_template(pattern, arn=True), context)
                    if parts is None:  # a variable without a value: the pattern matches nothing
                        continue
                    text = to_text(parts)  # a literal wildcard (``${*}``) is taken as one: fewer names kept out
                arn = text.split(":", 5)
                if len(arn) < _PARTS:  # not an ARN pattern: it matches nothing
                    continue
                cut = min((i for i in (arn[5].find("*"), arn[5].find("?")) if i >= 0), default=-1)
                found.add((arn[5], True) if cut < 0 else (arn[5][:cut], False))
    return frozenset(found)


def _chosen(key: str) -> bool:
    """Whether a request may carry ``key`` with a value of its own (a caller's key, or one of a service's, such as
    ``iam:PassedToService``) rather than the principal's."""
    return is_caller_key(key) or not key.startswith("aws:")


def resource_part(arn: str) -> str:
    """The part of an ARN after its fifth ``:`` (``user/path/name``)."""
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == _PARTS else ""


class PrefixIndex:
    """Rows (users, roles or groups, in their order) by the resource part of their ARN."""

    def __init__(self, rows: Sequence[dict[str, Any]]) -> None:
        self.rows = rows
        self._sorted = sorted((resource_part(str(row["arn"])), index) for index, row in enumerate(rows))
        self._keys = [part for part, _index in self._sorted]

    def matching(self, prefixes: frozenset[Prefix] | None) -> Sequence[dict[str, Any]]:
        """The rows whose resource part begins with one of ``prefixes`` (is it, for a whole one), in order (every
        row for ``None``)."""
        if prefixes is None:
            return self.rows
        kept: set[int] = set()
        for prefix, whole in prefixes:
            at = bisect.bisect_left(self._keys, prefix)
            while at < len(self._keys) and self._keys[at].startswith(prefix):
                if not whole or self._keys[at] == prefix:
                    kept.add(self._sorted[at][1])
                elif whole:
                    break
                at += 1
        return [self.rows[i] for i in sorted(kept)]


def narrowed_rows(
    graph: EscalationGraph,
    technique: Technique,
    subject: Subject,
    kind: str,
    varying: tuple[str, ...] = ("target",),
    extra: Mapping[str, Any] | None = None,
) -> Sequence[dict[str, Any]]:
    """The rows of ``kind`` (``user``, ``role``, ``group``), in order, that the statements of ``subject`` may
    allow each action of ``technique`` on when asked on one of the resources ``varying`` (those that are the
    row's ARN): the others are refused (:func:`allowed_prefixes` of its identity
    policies, and of its boundary)."""
    indexes, all_rows = graph._indexes, graph._rows[kind]  # noqa: SLF001 - the graph's own rows and their index
    index = indexes.get(kind)
    if index is None or index.rows is not all_rows:
        index = indexes[kind] = PrefixIndex(all_rows)
    rows = index.rows
    context = _request_context(subject, graph.moment, None, extra)
    for requirement in technique.requires:
        if not rows:
            return rows
        action = requirement.action.lower()
        fixed = {"self": subject.arn, "*": "*"}.get(requirement.on)
        if requirement.on not in varying and fixed is None:
            continue
        if requirement.on not in varying or not reads_any_resource(subject, action):
            # the same decision on every row (asked on the first): refused there, refused on all
            asked = str(rows[0]["arn"]) if requirement.on in varying else str(fixed)
            if not graph.decide(subject, requirement.action, asked, extra).decision.allowed:
                return []
            continue
        for policies in (subject.identity, () if subject.boundary is None else (subject.boundary,)):
            prefixes = allowed_prefixes(policies, action, context) if policies else None
            if prefixes is not None:
                kept = {id(row) for row in index.matching(prefixes)}
                rows = [row for row in rows if id(row) in kept]
    return rows


def reads_any_resource(subject: Subject, action: str) -> bool:
    """Whether a statement of the subject's identity policies or boundary that can match ``action`` names
    resources (the requests of a subject decide no differently by the resource otherwise: no request here
    carries a key of the resource)."""
    parts = (*subject.identity, *(() if subject.boundary is None else (subject.boundary,)))
    return not all(st.any_resource for applied in parts for st in applied.policy.statements_for(action))
