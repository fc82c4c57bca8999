"""``evaluate``: the decision for one request against the policies that apply to it.

The caller gathers the policies (:class:`PolicySet`): the identity policies of the user and its groups, or of the
role (inline and managed); the permissions boundary; the session policies of a session; the resource-based policy
of the resource (a role's trust policy for ``sts:AssumeRole*``). Each applicable statement becomes a
:class:`~iamledger.domain.policy.combining.Hit` (:mod:`~iamledger.domain.policy.matching`) and
:func:`~iamledger.domain.policy.combining.combine` turns the hits into the decision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from iamledger.domain.policy.combining import Facts, Hit, combine
from iamledger.domain.policy.compiler import CompiledPolicy, CompiledStatement, compile_text
from iamledger.domain.policy.decision import Decision, MatchedStatement, PolicyRole, PolicySource
from iamledger.domain.policy.document import Effect
from iamledger.domain.policy.kinds import PolicyKind
from iamledger.domain.policy.matching import PrincipalMatch, statement_match
from iamledger.domain.policy.principals import IAM_PRINCIPAL_TYPES, Principal, PrincipalType
from iamledger.domain.policy.variables import ContextValue

_ACCOUNT_PART = 4


@dataclass(frozen=True)
class AppliedPolicy:
    """A compiled policy and the name it is reported under."""

    policy: CompiledPolicy
    source: PolicySource

    @classmethod
    def from_text(cls, text: str, source: PolicySource | str, kind: PolicyKind = PolicyKind.IDENTITY) -> AppliedPolicy:
        """Parse (cached) and name a policy document; ``source`` may be just its id."""
        named = source if isinstance(source, PolicySource) else PolicySource(source)
        return cls(compile_text(text, kind), named)


Candidate = tuple[PolicyRole, PolicySource, CompiledStatement]
"""A statement covering the action, with the role and name of its policy."""

_MEMO_LIMIT = 4096


@dataclass(frozen=True)
class PolicySet:
    """The policies that apply to a request. ``session`` is ``None`` when the caller's session was created without
    a session policy (an empty tuple means session policies were passed but none applies).

    A policy set remembers, per action, the statements of all its policies that cover it, so a warm evaluation
    visits only those; and, since :func:`~iamledger.domain.policy.combining.combine` is pure, the decision per
    distinct set of facts (action, caller type, same account or not, which statements applied, missing keys).
    """

    identity: tuple[AppliedPolicy, ...] = ()
    boundary: AppliedPolicy | None = None
    session: tuple[AppliedPolicy, ...] | None = None
    resource: AppliedPolicy | None = None
    _memo: dict[str, tuple[Candidate, ...]] = field(default_factory=dict, repr=False, compare=False)
    _decisions: dict[tuple[object, ...], Decision] = field(default_factory=dict, repr=False, compare=False)

    def by_role(self) -> Iterator[tuple[PolicyRole, AppliedPolicy]]:
        """Each policy with its role, the resource policy first."""
        if self.resource is not None:
            yield PolicyRole.RESOURCE, self.resource
        for applied in self.identity:
            yield PolicyRole.IDENTITY, applied
        if self.boundary is not None:
            yield PolicyRole.BOUNDARY, self.boundary
        for applied in self.session or ():
            yield PolicyRole.SESSION, applied

    def candidates(self, action: str) -> tuple[Candidate, ...]:
        """The statements covering ``action`` (lowercased), over all policies, in :meth:`by_role` order."""
        found = self._memo.get(action)
        if found is None:
            found = tuple(
                (role, applied.source, statement)
                for role, applied in self.by_role()
                for statement in applied.policy.statements_for(action)
            )
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[action] = found
        return found


@dataclass(frozen=True)
class Request:
    """One request: who, which action, which resource, in which context.

    ``context`` maps lowercased key names to values (see :mod:`iamledger.domain.policy.context_keys`).
    ``resource_account`` is the account owning the resource; by default the account in the resource ARN, or the
    caller's account when the ARN has none (S3 buckets, ``*``).
    """

    principal: Principal
    action: str
    resource: str = "*"
    context: Mapping[str, ContextValue] = field(default_factory=lambda: MappingProxyType({}))
    resource_account: str | None = None

    def owner(self) -> str | None:
        """The account that owns the resource."""
        if self.resource_account is not None:
            return self.resource_account
        parts = self.resource.split(":", 5)
        if len(parts) > _ACCOUNT_PART and parts[_ACCOUNT_PART].isdigit():
            return parts[_ACCOUNT_PART]
        return self.principal.account


def evaluate(request: Request, policies: PolicySet) -> Decision:
    """Decide ``request`` under ``policies``: ``allowed``, ``explicitDeny`` or ``implicitDeny``, with the deciding
    statements and the context keys the applicable statements needed but did not find.

    A root user, service, identity provider or anonymous caller has no identity-side policies (identity, boundary,
    session); session policies apply only to sessions.
    """
    context = request.context
    resource = request.resource
    principal = request.principal
    kind = principal.type
    identity_side = kind in IAM_PRINCIPAL_TYPES and kind is not PrincipalType.ROOT
    session_side = identity_side and principal.is_session
    action = request.action.lower()
    candidates = policies.candidates(action)
    applied: list[tuple[int, PrincipalMatch]] = []
    missing: dict[str, str] = {}
    has_boundary = policies.boundary is not None
    for position, (role, _source, statement) in enumerate(candidates):
        if role is PolicyRole.RESOURCE:
            if statement.keys or statement.resource_keys:
                _note_missing(statement, resource, context, missing)
            strength = statement_match(statement, principal, resource, context, has_boundary=has_boundary)
        elif identity_side and (session_side or role is not PolicyRole.SESSION):
            if statement.keys or statement.resource_keys:
                _note_missing(statement, resource, context, missing)
            strength = _identity_match(statement, resource, context)
        else:
            continue
        if strength is not PrincipalMatch.NONE:
            applied.append((position, strength))
    owner = request.owner()
    same_account = owner is None or principal.account is None or owner == principal.account
    key = (action, kind, same_account, tuple(applied), tuple(missing.values()))
    decision = policies._decisions.get(key)  # noqa: SLF001 - the policy set's own memo
    if decision is None:
        decision = _decide(policies, candidates, key, identity_side=identity_side)
        if len(policies._decisions) >= _MEMO_LIMIT:  # noqa: SLF001
            policies._decisions.clear()  # noqa: SLF001
        policies._decisions[key] = decision  # noqa: SLF001
    return decision


def _decide(
    policies: PolicySet,
    candidates: tuple[Candidate, ...],
    key: tuple[str, PrincipalType, bool, tuple[tuple[int, PrincipalMatch], ...], tuple[str, ...]],
    *,
    identity_side: bool,
) -> Decision:
    _action, kind, same_account, applied, missing = key
    hits = tuple(Hit(candidates[i][0], candidates[i][2].allow, strength, i) for i, strength in applied)
    resource_policy = policies.resource
    outcome = combine(
        Facts(
            principal_type=kind,
            hits=hits,
            same_account=same_account,
            has_boundary=policies.boundary is not None and identity_side,
            has_session_policy=policies.session is not None,
            has_resource_policy=resource_policy is not None,
            trust_policy=resource_policy is not None and resource_policy.policy.kind is PolicyKind.TRUST,
        )
    )
    return Decision(
        outcome.decision,
        tuple(_matched(*candidates[hit.ref]) for hit in outcome.deciding),
        missing,
        outcome.allowed_by_boundary,
        cross_account=not same_account,
        details=outcome.details,
    )


def _identity_match(statement: CompiledStatement, resource: str, context: Mapping[str, ContextValue]) -> PrincipalMatch:
    """:func:`~iamledger.domain.policy.matching.statement_match` for a statement without a principal element."""
    test = statement.resource
    if test is not None and not test(resource, context):
        return PrincipalMatch.NONE
    if statement.conditions and not all(clause.test(context) for clause in statement.conditions):
        return PrincipalMatch.NONE
    return PrincipalMatch.DIRECT


def _note_missing(
    statement: CompiledStatement, resource: str, context: Mapping[str, ContextValue], missing: dict[str, str]
) -> None:
    """Record the keys a statement covering the action reads but the context lacks: its resource variables always,
    its condition keys when its resource element covers the resource."""
    for lower, written in statement.resource_keys:
        if lower not in context:
            missing.setdefault(lower, written)
    if statement.keys and (statement.resource is None or statement.resource(resource, context)):
        for lower, written in statement.keys:
            if lower not in context:
                missing.setdefault(lower, written)


def _matched(role: PolicyRole, source: PolicySource, statement: CompiledStatement) -> MatchedStatement:
    return MatchedStatement(
        source,
        role,
        statement.index,
        statement.sid,
        Effect.ALLOW if statement.allow else Effect.DENY,
        statement.start,
        statement.end,
    )
