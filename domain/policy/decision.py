"""The outcome of an evaluation and its reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from iamledger.domain.policy.document import Effect, Position


class EvalDecision(StrEnum):
    """The three outcomes, spelled as IAM's simulator reports them."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicitDeny"
    IMPLICIT_DENY = "implicitDeny"


class PolicyRole(StrEnum):
    """The part a policy plays in a request."""

    IDENTITY = "identity"
    BOUNDARY = "boundary"
    SESSION = "session"
    RESOURCE = "resource"


@dataclass(frozen=True)
class PolicySource:
    """How a policy is named in results: ``id`` (an ARN, ``user/alice inline MyPolicy``, ``PolicyInputList.1``)
    and ``type`` (AWS's ``SourcePolicyType``, e.g. ``IAM Policy``, ``Resource Policy``, ``user``, ``aws-managed``)."""

    id: str
    type: str = "IAM Policy"


@dataclass(frozen=True)
class MatchedStatement:
    """A statement that decided the outcome: its policy, role, 0-based index, Sid, effect and AWS-style source
    positions."""

    source: PolicySource
    role: PolicyRole
    index: int
    sid: str | None
    effect: Effect
    start: Position | None
    end: Position | None


@dataclass(frozen=True)
class Decision:
    """The decision for one request, with its reasons.

    ``matched_statements`` are the deciding statements: every applicable ``Deny`` for an explicit deny, the
    applicable ``Allow`` statements of the policies that granted access otherwise, none for an implicit deny.
    ``missing_context_keys`` are keys read by statements covering the action and resource but absent from the
    context. ``allowed_by_boundary`` is ``None`` without a permissions boundary. ``details`` gives, for a
    cross-account request, the decision of each side (``IAM Policy``, ``Resource Policy``).
    """

    decision: EvalDecision
    matched_statements: tuple[MatchedStatement, ...] = ()
    missing_context_keys: tuple[str, ...] = ()
    allowed_by_boundary: bool | None = None
    cross_account: bool = False
    details: tuple[tuple[str, EvalDecision], ...] = ()

    @property
    def allowed(self) -> bool:
        """Whether the request is allowed."""
        return self.decision is EvalDecision.ALLOWED

    @property
    def matched_sids(self) -> tuple[str | None, ...]:
        """The Sids of the matched statements, in order."""
        return tuple(statement.sid for statement in self.matched_statements)
