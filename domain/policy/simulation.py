"""``simulate_custom_policy``: IAM's ``SimulateCustomPolicy`` as a pure function over policy texts.

Parameters and the returned dictionary have exactly boto3's names and shapes (``iam.simulate_custom_policy``).
Following the current API documentation, there is one ``EvaluationResult`` per action: its ``EvalDecision`` is the
most restrictive decision over the requested resources (``explicitDeny`` over ``implicitDeny`` over ``allowed``),
``MatchedStatements`` the union of the statements that decided it, and ``ResourceSpecificResults`` the decision
for each resource. ``EvalResourceName`` is the resource when exactly one was requested, else ``*``. Like AWS's
simulator, only ``ContextEntries`` supply context keys (nothing is derived from ``CallerArn``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from iamledger.domain.policy.decision import Decision, EvalDecision, MatchedStatement, PolicyRole, PolicySource
from iamledger.domain.policy.errors import InvalidInput, ValidationError
from iamledger.domain.policy.evaluation import AppliedPolicy, PolicySet, Request, evaluate
from iamledger.domain.policy.kinds import PolicyKind
from iamledger.domain.policy.principals import Principal, PrincipalType
from iamledger.domain.policy.variables import ContextValue

IDENTITY_SOURCE_TYPE: Final = "IAM Policy"
RESOURCE_SOURCE_TYPE: Final = "Resource Policy"
CONTEXT_KEY_TYPES: Final = frozenset(
    {
        "string",
        "stringList",
        "numeric",
        "numericList",
        "boolean",
        "booleanList",
        "ip",
        "ipList",
        "binary",
        "binaryList",
        "date",
        "dateList",
    }
)
MAX_DOCUMENT_CHARS: Final = 131072
_DOCUMENT_CHARS: Final = re.compile(r"[\u0009\u000A\u000D\u0020-\u00FF]+")
_USER_ARN: Final = re.compile(
    r"arn:(?P<partition>[a-z\-]+):iam::(?P<account>[0-9]{12}):user(?P<path>/(?:.*/)?)(?P<name>[^/]+)"
)
_ROLE_OR_GROUP_ARN: Final = re.compile(r"arn:[a-z\-]+:iam::[0-9]{12}:(?:role|group)/.+")
_ACCOUNT_ARN: Final = re.compile(r"arn:[a-z\-]+:iam::(?P<account>[0-9]{12}):root")
_RESTRICTIVENESS: Final = {EvalDecision.ALLOWED: 0, EvalDecision.IMPLICIT_DENY: 1, EvalDecision.EXPLICIT_DENY: 2}
_ACCOUNT_PART: Final = 4


def _check_documents(name: str, documents: Sequence[str]) -> None:
    for number, document in enumerate(documents, start=1):
        where = f"{name}.{number}.member" if name.endswith("List") else name
        if not isinstance(document, str) or not 1 <= len(document) <= MAX_DOCUMENT_CHARS:
            raise ValidationError(
                f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_DOCUMENT_CHARS}"
            )
        if not _DOCUMENT_CHARS.fullmatch(document):
            raise ValidationError(
                f"1 validation error detected: Value at '{where}' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
            )


def _caller(caller_arn: str | None, *, has_resource_policy: bool) -> Principal:
    if caller_arn is None:
        if has_resource_policy:
            raise InvalidInput("CallerArn must be specified when a ResourcePolicy is included in the simulation.")
        return Principal(PrincipalType.USER, "")
    match = _USER_ARN.fullmatch(caller_arn)
    if match is not None:
        return Principal.user(
            match["account"], match["name"], path=match["path"], partition=match["partition"], unique_id=None
        )
    if _ROLE_OR_GROUP_ARN.fullmatch(caller_arn):
        if has_resource_policy:
            raise InvalidInput("Simulation of resource-based policies isn't supported for IAM roles.")
        return Principal(PrincipalType.USER, "")
    raise InvalidInput(f"Invalid CallerArn: {caller_arn}. CallerArn must be the ARN of an IAM user.")


def _resource_owner(resource_owner: str | None) -> str | None:
    if resource_owner is None:
        return None
    match = _ACCOUNT_ARN.fullmatch(resource_owner)
    if match is None:
        raise InvalidInput(f"Invalid ResourceOwner: {resource_owner}. It must be an account ARN, arn:aws:iam::ID:root.")
    return match["account"]


def simulation_context(entries: Sequence[dict[str, Any]] | None) -> dict[str, ContextValue]:
    """Boto3-shaped ``ContextEntries`` as a request context. List types give multivalued keys; entries without
    values are ignored, as AWS's simulator does."""
    context: dict[str, ContextValue] = {}
    for entry in entries or ():
        name = entry.get("ContextKeyName")
        values = entry.get("ContextKeyValues") or []
        key_type = entry.get("ContextKeyType", "string")
        if not isinstance(name, str) or not 5 <= len(name) <= 256:  # noqa: PLR2004
            raise InvalidInput(f"Invalid ContextKeyName: {name!r}.")
        if key_type not in CONTEXT_KEY_TYPES:
            raise InvalidInput(f"Invalid ContextKeyType {key_type!r} for context key {name}.")
        if not isinstance(values, list | tuple) or not all(isinstance(value, str) for value in values):
            raise InvalidInput(f"Invalid ContextKeyValues for context key {name}.")
        if not values:
            continue
        texts = [value.lower() if key_type.startswith("boolean") else value for value in values]
        context[name.lower()] = tuple(texts) if key_type.endswith("List") or len(texts) > 1 else texts[0]
    return context


def _statement_json(statement: MatchedStatement) -> dict[str, Any]:
    out: dict[str, Any] = {"SourcePolicyId": statement.source.id, "SourcePolicyType": statement.source.type}
    if statement.start is not None and statement.end is not None:
        out["StartPosition"] = {"Line": statement.start.line, "Column": statement.start.column}
        out["EndPosition"] = {"Line": statement.end.line, "Column": statement.end.column}
    return out


def _reported(decision: Decision) -> list[dict[str, Any]]:
    """The matched statements AWS reports: a boundary's statements only when they deny."""
    return [
        _statement_json(statement)
        for statement in decision.matched_statements
        if statement.role is not PolicyRole.BOUNDARY or decision.decision is EvalDecision.EXPLICIT_DENY
    ]


def _owner(resource: str, default_owner: str | None) -> str | None:
    parts = resource.split(":", 5)
    if len(parts) > _ACCOUNT_PART and parts[_ACCOUNT_PART].isdigit():
        return parts[_ACCOUNT_PART]
    return default_owner


def _union(lists: Sequence[list[Any]]) -> list[Any]:
    out: list[Any] = []
    for items in lists:
        out.extend(item for item in items if item not in out)
    return out


def _action_result(
    action: str,
    resources: Sequence[str],
    decisions: Sequence[Decision],
    *,
    per_resource: bool,
    has_boundary: bool,
) -> dict[str, Any]:
    worst = max((decision.decision for decision in decisions), key=_RESTRICTIVENESS.__getitem__)
    deciding = [decision for decision in decisions if decision.decision is worst]
    result: dict[str, Any] = {
        "EvalActionName": action,
        "EvalResourceName": resources[0] if len(resources) == 1 else "*",
        "EvalDecision": worst.value,
        "MatchedStatements": _union([_reported(decision) for decision in deciding]),
        "MissingContextValues": _union([list(decision.missing_context_keys) for decision in decisions]),
    }
    if has_boundary:
        allowed = all(decision.allowed_by_boundary for decision in decisions)
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
    if per_resource:
        details: dict[str, str] = {}
        for decision in decisions:
            for policy_type, side in decision.details:
                current = details.get(policy_type)
                if current is None or _RESTRICTIVENESS[side] > _RESTRICTIVENESS[EvalDecision(current)]:
                    details[policy_type] = side.value
        result["EvalDecisionDetails"] = details
        result["ResourceSpecificResults"] = [
            _resource_result(resource, decision, has_boundary=has_boundary)
            for resource, decision in zip(resources, decisions, strict=True)
        ]
    return result


def _resource_result(resource: str, decision: Decision, *, has_boundary: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EvalResourceName": resource,
        "EvalResourceDecision": decision.decision.value,
        "MatchedStatements": _reported(decision),
        "MissingContextValues": list(decision.missing_context_keys),
    }
    if decision.details:
        out["EvalDecisionDetails"] = {policy_type: side.value for policy_type, side in decision.details}
    if has_boundary:
        out["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": bool(decision.allowed_by_boundary)}
    return out


def check_simulation_input(
    *,
    ActionNames: Sequence[str],  # noqa: N803
    PolicyInputList: Sequence[str],  # noqa: N803
    PermissionsBoundaryPolicyInputList: Sequence[str] | None,  # noqa: N803
    ResourcePolicy: str | None,  # noqa: N803
    ResourceHandlingOption: str | None,  # noqa: N803
) -> None:
    """The checks both simulator operations make on their parameters, with AWS's errors."""
    if not ActionNames:
        raise InvalidInput("ActionNames must contain at least one action name.")
    for action in ActionNames:
        if not 3 <= len(action) <= 128:  # noqa: PLR2004
            bound = "greater than or equal to 3" if len(action) < 3 else "less than or equal to 128"  # noqa: PLR2004
            raise ValidationError(
                f"1 validation error detected: Value '{action}' at 'actionNames' failed to satisfy constraint: "
                f"Member must have length {bound}"
            )
        if "*" in action or "?" in action:
            raise InvalidInput(f"Action names cannot contain wildcards: {action}")
    boundaries = list(PermissionsBoundaryPolicyInputList or ())
    if len(boundaries) > 1:
        raise InvalidInput("The list of Permissions Boundary policies cannot exceed 1 items.")
    if ResourceHandlingOption is not None and not 1 <= len(ResourceHandlingOption) <= 64:  # noqa: PLR2004
        raise InvalidInput(f"Invalid ResourceHandlingOption: {ResourceHandlingOption}")
    _check_documents("policyInputList", PolicyInputList)
    _check_documents("permissionsBoundaryPolicyInputList", boundaries)
    if ResourcePolicy is not None:
        _check_documents("resourcePolicy", [ResourcePolicy])


def simulate_custom_policy(
    *,
    PolicyInputList: Sequence[str],  # noqa: N803
    ActionNames: Sequence[str],  # noqa: N803
    PermissionsBoundaryPolicyInputList: Sequence[str] | None = None,  # noqa: N803
    ResourceArns: Sequence[str] | None = None,  # noqa: N803
    ResourcePolicy: str | None = None,  # noqa: N803
    ResourceOwner: str | None = None,  # noqa: N803
    CallerArn: str | None = None,  # noqa: N803
    ContextEntries: Sequence[dict[str, Any]] | None = None,  # noqa: N803
    ResourceHandlingOption: str | None = None,  # noqa: N803
) -> dict[str, Any]:
    """Simulate identity policies (``PolicyInputList``), an optional permissions boundary and an optional
    resource-based policy for each action on each resource (default ``*``), as ``iam.simulate_custom_policy``.

    Raises :class:`~iamledger.domain.policy.errors.MalformedPolicyDocument` for an invalid policy,
    :class:`~iamledger.domain.policy.errors.InvalidInput` for invalid parameters (wildcards in action names, more
    than one boundary, a resource policy without an IAM user ``CallerArn``...) and
    :class:`~iamledger.domain.policy.errors.ValidationError` for documents breaking the parameter constraints.
    """
    check_simulation_input(
        ActionNames=ActionNames,
        PolicyInputList=PolicyInputList,
        PermissionsBoundaryPolicyInputList=PermissionsBoundaryPolicyInputList,
        ResourcePolicy=ResourcePolicy,
        ResourceHandlingOption=ResourceHandlingOption,
    )
    boundaries = list(PermissionsBoundaryPolicyInputList or ())
    identity = tuple(
        AppliedPolicy.from_text(text, PolicySource(f"PolicyInputList.{number}", IDENTITY_SOURCE_TYPE))
        for number, text in enumerate(PolicyInputList, start=1)
    )
    boundary = (
        AppliedPolicy.from_text(
            boundaries[0], PolicySource("PermissionsBoundaryPolicyInputList.1", IDENTITY_SOURCE_TYPE)
        )
        if boundaries
        else None
    )
    return simulate_policies(
        identity=identity,
        boundary=boundary,
        ActionNames=ActionNames,
        ResourceArns=ResourceArns,
        ResourcePolicy=ResourcePolicy,
        ResourceOwner=ResourceOwner,
        CallerArn=CallerArn,
        ContextEntries=ContextEntries,
    )


def simulate_policies(
    *,
    identity: Sequence[AppliedPolicy],
    boundary: AppliedPolicy | None,
    ActionNames: Sequence[str],  # noqa: N803
    ResourceArns: Sequence[str] | None = None,  # noqa: N803
    ResourcePolicy: str | None = None,  # noqa: N803
    ResourceOwner: str | None = None,  # noqa: N803
    CallerArn: str | None = None,  # noqa: N803
    ContextEntries: Sequence[dict[str, Any]] | None = None,  # noqa: N803
    caller: Principal | None = None,
) -> dict[str, Any]:
    """The simulation of already named policies (``identity``, ``boundary``) for each action on each resource:
    the core of ``SimulateCustomPolicy`` and of ``SimulatePrincipalPolicy`` (whose policies come from the store).
    ``caller``, when given, is the simulated principal; otherwise it is derived from ``CallerArn``."""
    if caller is None or CallerArn is not None:
        caller = _caller(CallerArn, has_resource_policy=ResourcePolicy is not None)
    default_owner = _resource_owner(ResourceOwner) or caller.account
    resource_policy = (
        AppliedPolicy.from_text(
            ResourcePolicy, PolicySource("ResourcePolicy", RESOURCE_SOURCE_TYPE), PolicyKind.RESOURCE
        )
        if ResourcePolicy is not None
        else None
    )
    context = simulation_context(ContextEntries)
    resources = list(ResourceArns) if ResourceArns else ["*"]
    per_resource = resources != ["*"]
    policies = PolicySet(identity=tuple(identity), boundary=boundary, resource=resource_policy)
    results = []
    for action in ActionNames:
        decisions = [
            evaluate(Request(caller, action, resource, context, _owner(resource, default_owner)), policies)
            for resource in resources
        ]
        results.append(
            _action_result(action, resources, decisions, per_resource=per_resource, has_boundary=boundary is not None)
        )
    return {"EvaluationResults": results, "IsTruncated": False}
