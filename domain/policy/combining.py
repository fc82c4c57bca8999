"""The combining algorithm: from the statements that apply to a request to the decision (reference 1.3-1.7).

It knows nothing of matching: it takes :class:`Facts` (which statements applied, in which role, how the resource
policy named the caller) and applies AWS's rules. In order: any applicable ``Deny`` anywhere is an explicit deny.
A root user is allowed in its own account (a role trust policy can never be satisfied by root credentials).
Callers without identity policies (services, identity providers, anonymous) need a resource-policy allow.
Cross-account requests need both an allow on the caller's side (identity, boundary, session) and a
resource-policy allow. In the same account, a resource-policy allow that names the caller directly (or ``"*"``)
stands alone; one naming the caller's role (or the user behind a federated session) counts as an identity allow
still capped by boundary and session policy; one naming the account needs an identity allow. A role trust policy
must itself allow the caller, and a caller named directly is still capped by its permissions boundary. The
permissions boundary and session policies never grant; without a session policy a role session keeps its role's
permissions while a federated-user session has none.
"""

from __future__ import annotations

from typing import NamedTuple

from iamledger.domain.policy.decision import EvalDecision, PolicyRole
from iamledger.domain.policy.matching import PrincipalMatch
from iamledger.domain.policy.principals import IAM_PRINCIPAL_TYPES, PrincipalType

ALLOWED = EvalDecision.ALLOWED
EXPLICIT_DENY = EvalDecision.EXPLICIT_DENY
IMPLICIT_DENY = EvalDecision.IMPLICIT_DENY


class Hit(NamedTuple):
    """An applicable statement: its policy ``role``, effect, how it named the caller and an opaque ``ref`` the
    caller uses to report it. (Named tuples, not dataclasses, because one is made per applicable statement on the
    hot path.)"""

    role: PolicyRole
    allow: bool
    strength: PrincipalMatch = PrincipalMatch.DIRECT
    ref: int = 0


class Facts(NamedTuple):
    """What the combining algorithm needs to know about one request."""

    principal_type: PrincipalType
    hits: tuple[Hit, ...]
    same_account: bool = True
    has_boundary: bool = False
    has_session_policy: bool = False
    has_resource_policy: bool = False
    trust_policy: bool = False


class Outcome(NamedTuple):
    """The decision, the hits that decided it, the boundary's verdict (``None`` without one) and, for a
    cross-account request, each side's decision."""

    decision: EvalDecision
    deciding: tuple[Hit, ...] = ()
    allowed_by_boundary: bool | None = None
    details: tuple[tuple[str, EvalDecision], ...] = ()


def _side(denied: bool, allowed: bool) -> EvalDecision:
    if denied:
        return EXPLICIT_DENY
    return ALLOWED if allowed else IMPLICIT_DENY


def combine(facts: Facts) -> Outcome:
    """Decide one request from its :class:`Facts`."""
    allows: dict[PolicyRole, list[Hit]] = {}
    denies: list[Hit] = []
    for hit in facts.hits:
        if hit.allow:
            allows.setdefault(hit.role, []).append(hit)
        else:
            denies.append(hit)
    boundary = allows.get(PolicyRole.BOUNDARY, ())
    allowed_by_boundary = None
    if facts.has_boundary:
        allowed_by_boundary = bool(boundary) and not any(hit.role is PolicyRole.BOUNDARY for hit in denies)
    details = _details(facts, allows, denies) if facts.has_resource_policy and not facts.same_account else ()
    if denies:
        return Outcome(EXPLICIT_DENY, tuple(denies), allowed_by_boundary, details)
    decision, deciding = _allow_rules(facts, allows)
    return Outcome(decision, deciding, allowed_by_boundary, details)


def _details(
    facts: Facts, allows: dict[PolicyRole, list[Hit]], denies: list[Hit]
) -> tuple[tuple[str, EvalDecision], ...]:
    caller_allowed = PolicyRole.IDENTITY in allows or facts.principal_type is PrincipalType.ROOT
    return (
        ("IAM Policy", _side(any(hit.role is not PolicyRole.RESOURCE for hit in denies), caller_allowed)),
        (
            "Resource Policy",
            _side(any(hit.role is PolicyRole.RESOURCE for hit in denies), PolicyRole.RESOURCE in allows),
        ),
    )


_DENIED: tuple[EvalDecision, tuple[Hit, ...]] = (IMPLICIT_DENY, ())


def _allow_rules(  # noqa: C901, PLR0911
    facts: Facts, allows: dict[PolicyRole, list[Hit]]
) -> tuple[EvalDecision, tuple[Hit, ...]]:
    """The decision when no ``Deny`` applies."""
    kind = facts.principal_type
    resource = allows.get(PolicyRole.RESOURCE, [])
    if kind not in IAM_PRINCIPAL_TYPES:
        return (ALLOWED, tuple(resource)) if resource else _DENIED
    if kind is PrincipalType.ROOT:
        if facts.trust_policy or not (facts.same_account or resource):
            return _DENIED
        return ALLOWED, tuple(resource)
    identity = allows.get(PolicyRole.IDENTITY, [])
    boundary = allows.get(PolicyRole.BOUNDARY, [])
    session = allows.get(PolicyRole.SESSION, [])
    boundary_ok = not facts.has_boundary or bool(boundary)
    if kind is PrincipalType.USER:
        session_ok = True
    else:
        session_ok = bool(session) if facts.has_session_policy else kind is PrincipalType.ASSUMED_ROLE
    capped = boundary_ok and session_ok
    caps = (*boundary, *session)
    if not facts.same_account:
        return (ALLOWED, (*identity, *resource, *caps)) if identity and capped and resource else _DENIED
    if not resource:
        return (ALLOWED, (*identity, *caps)) if identity and capped and not facts.trust_policy else _DENIED
    direct = tuple(hit for hit in resource if hit.strength is PrincipalMatch.DIRECT)
    role = tuple(hit for hit in resource if hit.strength is PrincipalMatch.ROLE)
    if facts.trust_policy:
        if direct:
            return (ALLOWED, (*direct, *boundary)) if boundary_ok else _DENIED
        if role and capped:
            return ALLOWED, (*role, *caps)
        return (ALLOWED, (*identity, *resource, *caps)) if identity and capped else _DENIED
    if direct:
        return ALLOWED, (*identity, *direct)
    return (ALLOWED, (*identity, *resource, *caps)) if (identity or role) and capped else _DENIED
