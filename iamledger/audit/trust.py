"""Trust policies in reverse: which principals may assume a role, and which roles a principal may assume."""

from __future__ import annotations

import re
from collections.abc import Sequence
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
    shared: dict[tuple[int, ...], bool] | None = None,
) -> list[dict[str, Any]]:
    """Who could assume ``role`` at the moment: this account's users and roles whose identity policies allow
    ``sts:AssumeRole`` on it and whom its trust policy admits (as ``sts:AssumeRole`` itself decides), then the
    outside principals the trust policy names.

    ``subjects`` are the candidates (who-can picks them: :func:`iamledger.audit.who_can._assumers`). ``contexts``
    keeps each subject's request context across calls. ``shared``, when the trust policy decides alike for every
    principal of the account (it names only accounts, without conditions), keeps the decision of each context-free
    set of identity policies, evaluated once."""
    role_arn = str(role.row["arn"])
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )
    found: list[dict[str, Any]] = []
    for other in subjects:
        if other.arn == role.arn:
            continue
        context = None if contexts is None else contexts.get(other.arn)
        if context is None:
            context = _request_context(other, moment, entries, {"sts:RoleSessionName": "who-can"})
            if contexts is not None:
                contexts[other.arn] = context
        key = None if shared is None else shared_decision_key(other)
        allowed = None if shared is None or key is None else shared.get(key)
        if allowed is None:
            request = Request(other.principal, "sts:AssumeRole", role_arn, context, str(role.row["account_id"]))
            allowed = evaluate(request, other.policy_set(trust)).allowed
            if shared is not None and key is not None:
                shared[key] = allowed
        if allowed:
            found.append({"Arn": other.arn, "Type": other.kind.capitalize()})
    found += _trust_outsiders(str(role.row["trust_policy"]), str(role.row["account_id"]))
    return found
