"""Trust policies in reverse: which principals may assume a role, and which roles a principal may assume."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from iamledger.audit.decisions import _request_context
from iamledger.audit.subjects import Subject, _context_free
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


def may_assume_roles(subject: Subject) -> bool:
    """Whether one of the subject's identity policies has an ``Allow`` statement covering ``sts:AssumeRole``."""
    return any(
        statement.allow for applied in subject.identity for statement in applied.policy.statements_for(_ASSUME_ROLE)
    )


def _trust_names_no_account(trust: AppliedPolicy) -> bool:
    """Whether no ``Allow`` of the trust policy can name one of the account's users or roles at all (it names only
    services and identity providers): then none of them can assume the role, since a trust policy must allow them."""
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if not statement.allow:
            continue
        principal = statement.principal
        if principal is None or principal.wildcard or principal.canonical_user or principal.aws:
            return False
    return True


def _trust_names_principals(trust: AppliedPolicy) -> bool:
    """Whether an ``Allow`` of the trust policy may admit one of the account's users or roles by itself (naming it,
    ``*``, ``NotPrincipal``...), rather than only delegating to the account's identity policies (naming an account)
    or admitting services and identity providers. Errs on the side of ``True``."""
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if not statement.allow:
            continue
        principal = statement.principal
        if principal is None or principal.wildcard or principal.canonical_user:
            return True
        if any(_ACCOUNT_NAME.fullmatch(name) is None for name in principal.aws):
            return True
    return False


def assumable_by(
    subjects: Sequence[Subject],
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    assumers: Sequence[Subject] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    shared: dict[tuple[int, ...], bool] | None = None,
) -> list[dict[str, Any]]:
    """Who could assume ``role`` at the moment: this account's users and roles whose identity policies allow
    ``sts:AssumeRole`` on it and whom its trust policy admits (as ``sts:AssumeRole`` itself decides), then the
    outside principals the trust policy names.

    ``assumers``, when given, are the ``subjects`` for which :func:`may_assume_roles` holds (in the same order): when
    the trust policy only names accounts (or services, identity providers), an identity ``Allow`` is needed, so only
    they are evaluated (none when it names no account or principal of one); the answer is the same. ``contexts``
    keeps each subject's request context across calls. ``shared``, when the trust policy decides alike for every
    principal of the account (it names only accounts, without conditions), keeps the decision of each context-free
    set of identity policies, evaluated once."""
    role_arn = str(role.row["arn"])
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )
    if assumers is not None and not _trust_names_principals(trust):
        subjects = [] if _trust_names_no_account(trust) else assumers
    found: list[dict[str, Any]] = []
    for other in subjects:
        if other.arn == role.arn:
            continue
        context = None if contexts is None else contexts.get(other.arn)
        if context is None:
            context = _request_context(other, moment, entries, {"sts:RoleSessionName": "who-can"})
            if contexts is not None:
                contexts[other.arn] = context
        key = (*(id(a) for a in other.identity), id(other.boundary)) if shared is not None else None
        allowed = None if key is None or not _context_free(other) else shared.get(key)  # type: ignore[union-attr]
        if allowed is None:
            request = Request(other.principal, "sts:AssumeRole", role_arn, context, str(role.row["account_id"]))
            allowed = evaluate(request, other.policy_set(trust)).allowed
            if key is not None and shared is not None and _context_free(other):
                shared[key] = allowed
        if allowed:
            found.append({"Arn": other.arn, "Type": other.kind.capitalize()})
    found += _trust_outsiders(str(role.row["trust_policy"]), str(role.row["account_id"]))
    return found
