"""Trust policies in reverse: which principals may assume a role, and which roles a principal may assume."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Final

from iamledger.audit.decisions import _request_context
from iamledger.audit.subjects import Subject, shared_decision_key
from iamledger.domain.policy import AppliedPolicy, PolicyKind, PolicySource, Request, evaluate, parse
from iamledger.projections.engine.timeindex import Moment


def trust_policy_of(row: Mapping[str, Any]) -> AppliedPolicy:
    """The compiled trust policy of a role's row."""
    return AppliedPolicy.from_text(
        str(row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )


def _trust_outsiders(trust_text: str, account_id: str) -> list[dict[str, Any]]:
    """Principals a trust policy admits that are not this account's users and roles: other accounts' principals,
    services, identity providers (listed by the names the policy gives)."""
    found: list[dict[str, Any]] = []
    try:
        document = parse(trust_text, PolicyKind.TRUST)
    except Exception:  # noqa: BLE001 - a stored trust policy is valid; be safe anyway
        return found
    own = (f"arn:aws:iam::{account_id}:", account_id)
    for statement in document.statements:
        if statement.effect.value != "Allow" or statement.principal is None:
            continue
        if statement.principal.wildcard:
            found.append({"Type": "AWS", "Principal": "*", "Conditional": bool(statement.condition)})
            continue
        for principal_type, values in statement.principal.entries:
            for value in values:
                if principal_type == "AWS" and (value.startswith(own[0]) or value == own[1]):
                    continue
                found.append({"Type": principal_type, "Principal": value, "Conditional": bool(statement.condition)})
    return found


_ASSUME_ROLE: Final = "sts:assumerole"


_ACCOUNT_NAME: Final = re.compile(r"\d{12}|arn:aws:iam::\d{12}:root")


class AssumePool:
    """Candidates for assuming roles, grouped once by what their ``sts:AssumeRole`` decisions depend on
    (:func:`shared_decision_key`), so that asking about many roles evaluates each group once per role, and lists its
    members only when it is allowed."""

    def __init__(self, subjects: Iterable[Subject]) -> None:
        self.subjects = sorted({s.arn: s for s in subjects}.values(), key=lambda s: (s.kind, s.arn))
        self.by_arn = {s.arn: s for s in self.subjects}
        self.groups: dict[tuple[int, ...], list[Subject]] = {}
        self.singles: list[Subject] = []
        for subject in self.subjects:
            key = shared_decision_key(subject, _ASSUME_ROLE)
            if key is None:
                self.singles.append(subject)
            else:
                self.groups.setdefault(key, []).append(subject)
        # a group's members as a set: an allowed group joins the answer by a set union
        self.group_arns = {key: frozenset(s.arn for s in members) for key, members in self.groups.items()}
        # one answer entry per subject, shared by every role it can assume (a large answer lists millions)
        self.entries = {s.arn: {"Arn": s.arn, "Type": s.kind.capitalize()} for s in self.subjects}


def assumers(
    subjects: Sequence[Subject] | AssumePool,
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    contexts: dict[str, dict[str, Any]] | None = None,
    alike: Collection[str] | None = None,
    named: Sequence[Subject] = (),
) -> set[str]:
    """The ARNs of this account's users and roles that could assume ``role`` at the moment: those whose identity
    policies allow ``sts:AssumeRole`` on it and whom its trust policy admits (as ``sts:AssumeRole`` itself decides).

    ``subjects`` are the candidates (who-can picks them: :func:`iamledger.audit.who_can._assumers`), or an
    :class:`AssumePool` of them kept across roles. ``contexts`` keeps each subject's request context across calls.
    ``alike``, when given, says the trust policy decides alike for every principal of the account but those it
    names (the ARNs in ``alike``, subjects of the pool or of ``named``): it names the account, without conditions.
    Then the others' decision depends only on their identity policies, and each group of the pool is evaluated once,
    for its first member."""
    pool = subjects if isinstance(subjects, AssumePool) else AssumePool(subjects)
    role_arn = str(role.row["arn"])
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )

    def allows(other: Subject) -> bool:
        context = None if contexts is None else contexts.get(other.arn)
        if context is None:
            context = _request_context(other, moment, entries, {"sts:RoleSessionName": "who-can"})
            if contexts is not None:
                contexts[other.arn] = context
        request = Request(other.principal, "sts:AssumeRole", role_arn, context, str(role.row["account_id"]))
        return evaluate(request, other.policy_set(trust)).allowed

    if alike is None:
        others = [s for s in named if s.arn not in pool.by_arn]
        return {s.arn for s in [*pool.subjects, *others] if s.arn != role.arn and allows(s)}

    def alike_for(member: Subject) -> bool:
        return member.arn != role.arn and member.arn not in alike

    found: set[str] = set()
    for key, members in pool.groups.items():
        representative = next((m for m in members if alike_for(m)), None)
        if representative is not None and allows(representative):
            found |= pool.group_arns[key]
    found -= set(alike)
    found.discard(role.arn)
    found |= {s.arn for s in pool.singles if alike_for(s) and allows(s)}
    listed = {s.arn: s for s in named} | {arn: pool.by_arn[arn] for arn in alike if arn in pool.by_arn}
    found |= {s.arn for s in listed.values() if s.arn != role.arn and allows(s)}
    return found


def assumable_by(
    subjects: Sequence[Subject] | AssumePool,
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    contexts: dict[str, dict[str, Any]] | None = None,
    alike: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Who could assume ``role`` at the moment (:func:`assumers`), ordered by type and ARN, then the outside
    principals the trust policy names."""
    pool = subjects if isinstance(subjects, AssumePool) else AssumePool(subjects)
    found = assumers(pool, role, moment, entries, contexts, alike)
    answer = [pool.entries[s.arn] for s in pool.subjects if s.arn in found]
    return answer + _trust_outsiders(str(role.row["trust_policy"]), str(role.row["account_id"]))
