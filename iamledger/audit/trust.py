"""Trust policies in reverse: which principals may assume a role, and which roles a principal may assume."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any, Final

from iamledger.audit.decisions import _request_context
from iamledger.audit.subjects import Subject, shared_decision_key
from iamledger.domain.policy import AppliedPolicy, PolicyKind, PolicySource, Request, evaluate, parse
from iamledger.projections.timeindex import Moment


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


def assumable_by(
    subjects: Sequence[Subject],
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    contexts: dict[str, dict[str, Any]] | None = None,
    alike: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Who could assume ``role`` at the moment: this account's users and roles whose identity policies allow
    ``sts:AssumeRole`` on it and whom its trust policy admits (as ``sts:AssumeRole`` itself decides), ordered by
    type and ARN, then the outside principals the trust policy names.

    ``subjects`` are the candidates (who-can picks them: :func:`iamledger.audit.who_can._assumers`). ``contexts``
    keeps each subject's request context across calls. ``alike``, when given, says the trust policy decides alike
    for every principal of the account but those it names (the ARNs in ``alike``): it names the account, without
    conditions. Then the others' decision depends only on their identity policies, and each context-free set of
    them (:func:`shared_decision_key`) is evaluated once, for the first subject holding it."""
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

    shared: dict[tuple[int, ...], bool] = {}
    found: list[Subject] = []
    for other in subjects:
        if other.arn == role.arn:
            continue
        key = None if alike is None or other.arn in alike else shared_decision_key(other, _ASSUME_ROLE)
        if key is None:
            allowed = allows(other)
        elif (known := shared.get(key)) is not None:
            allowed = known
        else:
            allowed = shared[key] = allows(other)
        if allowed:
            found.append(other)
    found.sort(key=lambda s: (s.kind, s.arn))
    answer: list[dict[str, Any]] = [{"Arn": s.arn, "Type": s.kind.capitalize()} for s in found]
    return answer + _trust_outsiders(str(role.row["trust_policy"]), str(role.row["account_id"]))
