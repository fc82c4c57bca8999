"""The IAM policy language: parse, validate, evaluate and simulate, as pure functions over frozen data.

The pipeline (style.md habit 11): JSON text -> :func:`parse` (AWS's ``MalformedPolicyDocument`` texts, with a JSON
pointer) -> :class:`PolicyDocument` -> :func:`compile_policy` (cached by text in :func:`compile_text`) ->
:func:`evaluate` -> :class:`Decision` (``allowed`` / ``explicitDeny`` / ``implicitDeny``, the deciding statements
and the missing context keys). Statement matching (:mod:`~iamledger.domain.policy.matching`) and the combining
algorithm (:mod:`~iamledger.domain.policy.combining`) are separate. :func:`simulate_custom_policy` gives IAM's
``SimulateCustomPolicy`` response shape. This package imports only the standard library.
"""

from iamledger.domain.policy.combining import Facts, Hit, Outcome, combine
from iamledger.domain.policy.compiler import CompiledPolicy, compile_policy, compile_text
from iamledger.domain.policy.context_keys import normalize_context, principal_keys, request_context
from iamledger.domain.policy.decision import Decision, EvalDecision, MatchedStatement, PolicyRole, PolicySource
from iamledger.domain.policy.document import (
    ConditionBlock,
    ConditionEntry,
    Effect,
    PolicyDocument,
    Position,
    PrincipalElement,
    Statement,
)
from iamledger.domain.policy.errors import (
    InvalidInput,
    MalformedPolicyDocument,
    PolicyError,
    PolicySizeExceeded,
    ValidationError,
)
from iamledger.domain.policy.evaluation import AppliedPolicy, PolicySet, Request, evaluate
from iamledger.domain.policy.kinds import PolicyKind
from iamledger.domain.policy.limits import (
    SizeLimit,
    group_inline_limit,
    managed_policy_limit,
    policy_size,
    role_inline_limit,
    session_policy_limit,
    trust_policy_limit,
    user_inline_limit,
)
from iamledger.domain.policy.matching import PrincipalMatch, statement_match
from iamledger.domain.policy.parser import check_document, parse
from iamledger.domain.policy.principals import Principal, PrincipalType, Session
from iamledger.domain.policy.render import render
from iamledger.domain.policy.simulation import check_simulation_input, simulate_custom_policy, simulate_policies
from iamledger.domain.policy.validation import PolicyIssue, validate

__all__ = [
    "AppliedPolicy",
    "CompiledPolicy",
    "ConditionBlock",
    "ConditionEntry",
    "Decision",
    "Effect",
    "EvalDecision",
    "Facts",
    "Hit",
    "InvalidInput",
    "MalformedPolicyDocument",
    "MatchedStatement",
    "Outcome",
    "PolicyDocument",
    "PolicyError",
    "PolicyIssue",
    "PolicyKind",
    "PolicyRole",
    "PolicySet",
    "PolicySizeExceeded",
    "PolicySource",
    "Position",
    "Principal",
    "PrincipalElement",
    "PrincipalMatch",
    "PrincipalType",
    "Request",
    "Session",
    "SizeLimit",
    "Statement",
    "ValidationError",
    "check_document",
    "check_simulation_input",
    "combine",
    "compile_policy",
    "compile_text",
    "evaluate",
    "group_inline_limit",
    "managed_policy_limit",
    "normalize_context",
    "parse",
    "policy_size",
    "principal_keys",
    "render",
    "request_context",
    "role_inline_limit",
    "session_policy_limit",
    "simulate_custom_policy",
    "simulate_policies",
    "statement_match",
    "trust_policy_limit",
    "user_inline_limit",
    "validate",
]
