"""Statement matching: does one compiled statement apply to a request?

A statement applies when its action element covers the action (checked by the policy's action index), its
resource element covers the resource, its principal element names the caller (resource-based policies only) and
all its conditions hold. For a resource-based statement the answer also says *how* the caller was named
(:class:`PrincipalMatch`), because that decides whether the grant stands alone (reference section 1.4).
"""

from __future__ import annotations

from enum import IntEnum

from iamledger.domain.policy.compiler import CompiledPrincipal, CompiledStatement
from iamledger.domain.policy.principals import Principal, PrincipalType
from iamledger.domain.policy.variables import Context


class PrincipalMatch(IntEnum):
    """How a statement names the caller, weakest first.

    ``ACCOUNT``: the caller's account (``"A"`` or ``arn:aws:iam::A:root``), which delegates to the account's IAM
    policies. ``ROLE``: the role of a role session, or the IAM user behind a federated-user session, which is still
    capped by boundaries and session policies. ``DIRECT``: the caller itself (user, role-session or federated-user
    ARN, service, identity provider) or ``"*"``; also every statement without a principal element.
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


def _identities(principal: Principal) -> tuple[tuple[PrincipalMatch, frozenset[str]], ...]:
    """The names under which ``principal`` can appear in an ``AWS`` principal entry, strongest first."""
    found: list[tuple[PrincipalMatch, frozenset[str]]] = []
    kind = principal.type
    if kind is PrincipalType.USER:
        found.append((PrincipalMatch.DIRECT, frozenset(filter(None, (principal.arn, principal.unique_id)))))
    elif kind is PrincipalType.ASSUMED_ROLE:
        found.append((PrincipalMatch.DIRECT, frozenset({principal.arn})))
        found.append((PrincipalMatch.ROLE, frozenset(filter(None, (principal.role_arn, principal.role_id)))))
    elif kind is PrincipalType.FEDERATED_USER:
        found.append((PrincipalMatch.DIRECT, frozenset({principal.arn})))
        if principal.source_user_arn:
            found.append((PrincipalMatch.ROLE, frozenset({principal.source_user_arn})))
    if principal.account is not None and kind in {
        PrincipalType.ROOT,
        PrincipalType.USER,
        PrincipalType.ASSUMED_ROLE,
        PrincipalType.FEDERATED_USER,
    }:
        found.append(
            (
                PrincipalMatch.ACCOUNT,
                frozenset({principal.account, f"arn:{principal.partition}:iam::{principal.account}:root"}),
            )
        )
    return tuple(found)


def _typed_set(element: CompiledPrincipal, principal: Principal) -> frozenset[str] | None:
    kind = principal.type
    if kind is PrincipalType.SERVICE:
        return element.service
    if kind in {PrincipalType.WEB_IDENTITY, PrincipalType.SAML}:
        return element.federated
    return None


def principal_match(element: CompiledPrincipal, principal: Principal) -> PrincipalMatch:
    """How a ``Principal`` element names ``principal`` (``NONE`` if it does not)."""
    if element.wildcard:
        return PrincipalMatch.DIRECT
    typed = _typed_set(element, principal)
    if typed is not None:
        return PrincipalMatch.DIRECT if principal.arn in typed else PrincipalMatch.NONE
    if principal.canonical_user_id is not None and principal.canonical_user_id in element.canonical_user:
        return PrincipalMatch.DIRECT
    for strength, names in _identities(principal):
        if not names.isdisjoint(element.aws):
            return strength
    return PrincipalMatch.NONE


def excluded_by(element: CompiledPrincipal, principal: Principal) -> bool:
    """Whether a ``NotPrincipal`` element lists ``principal`` under every name it has (for a role session: the
    session, its role and its account), which is what exempts it from the statement."""
    if element.wildcard:
        return True
    typed = _typed_set(element, principal)
    if typed is not None:
        return principal.arn in typed
    identities = _identities(principal)
    if not identities:
        return False
    return all(not names.isdisjoint(element.aws) for _, names in identities)


def statement_match(
    statement: CompiledStatement,
    principal: Principal,
    resource: str,
    context: Context,
    *,
    has_boundary: bool = False,
) -> PrincipalMatch:
    """How ``statement`` (already known to cover the action) applies to the request: ``NONE`` if it does not.

    A ``Deny`` with ``NotPrincipal`` always applies to a caller that has a permissions boundary, whatever the
    ``NotPrincipal`` list says (reference section 1.4).
    """
    if statement.resource is not None and not statement.resource(resource, context):
        return PrincipalMatch.NONE
    strength = PrincipalMatch.DIRECT
    if statement.principal is not None:
        strength = principal_match(statement.principal, principal)
        if strength is PrincipalMatch.NONE:
            return strength
    elif statement.not_principal is not None:
        exempt = excluded_by(statement.not_principal, principal)
        if exempt and not (has_boundary and not statement.allow):
            return PrincipalMatch.NONE
    for clause in statement.conditions:
        if not clause.test(context):
            return PrincipalMatch.NONE
    return strength
