"""The rules a policy document must pass, per :class:`PolicyKind`, checked in the order IAM reports them.

:func:`validate` never raises: it returns the first broken rule as a :class:`PolicyIssue`, checking in the order IAM
checks (JSON grammar, ``Version``, principal rules, "legacy parsing", Sid rules, actions present, resource formats,
action vendors, resources present, trust-policy rules). :func:`iamledger.domain.policy.parser.parse` raises the
first one as :class:`~iamledger.domain.policy.errors.MalformedPolicyDocument`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from iamledger.domain.policy.document import PRINCIPAL_TYPES, VERSION_2008, VERSION_2012
from iamledger.domain.policy.jsontext import JsonNumber, JsonValue
from iamledger.domain.policy.kinds import TRUST_ACTIONS, PolicyKind
from iamledger.domain.policy.operators import Family, split_operator
from iamledger.domain.policy.values import is_legacy_date
from iamledger.domain.policy.wildcards import compile_glob

SYNTAX_ERROR: Final = "Syntax errors in policy."
VERSION_ERROR: Final = "Policy document must be version 2012-10-17 or greater."
PRINCIPAL_REFUSED: Final = "Policy document should not specify a principal."
PRINCIPAL_MISSING: Final = "Missing required field Principal"
LEGACY_PARSING: Final = "The policy failed legacy parsing"
SID_NOT_UNIQUE: Final = "Statement IDs (SID) in a single policy must be unique."
SID_NOT_ALPHANUMERIC: Final = (
    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"
)
ACTIONS_MISSING: Final = "Policy statement must contain actions."
RESOURCES_MISSING: Final = "Policy statement must contain resources."
VENDOR_MISSING: Final = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON: Final = "Actions/Condition can contain only one colon."
RESOURCE_PROHIBITED: Final = "Has prohibited field Resource."
NOT_PRINCIPAL_PROHIBITED: Final = "Has prohibited field NotPrincipal."
TRUST_ACTIONS_ONLY: Final = (
    "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML, and "
    "sts:AssumeRoleWithWebIdentity"
)

TOP_ELEMENTS: Final = frozenset({"Version", "Id", "Statement"})
STATEMENT_ELEMENTS: Final = frozenset(
    {"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}
)
PARTITIONS: Final = frozenset(
    {"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)
IAM_RESOURCE_TYPES: Final = (
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
)
_VENDOR: Final = re.compile(r"[a-zA-Z0-9.\-]+")
_SID: Final = re.compile(r"[0-9A-Za-z]*")
_ACCOUNT_ID: Final = re.compile(r"[0-9]{12}")
_UNIQUE_ID: Final = re.compile(r"A[A-Z]{3}[A-Z0-9]{12,}")
_PRINCIPAL_ARN: Final = re.compile(r"arn:[a-z\-]+:(?:iam|sts)::(?:[0-9]{12}|aws):.+")


@dataclass(frozen=True)
class PolicyIssue:
    """One broken rule: AWS's ``message`` and a JSON ``pointer`` to the element (``/Statement/0/Effect``)."""

    message: str
    pointer: str


class _Stage(Exception):
    """Raised inside a stage check to stop at the first issue of that stage."""

    def __init__(self, issue: PolicyIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def _fail(message: str, *parts: str | int) -> None:
    raise _Stage(PolicyIssue(message, _pointer(*parts)))


def _statements(document: dict[str, JsonValue]) -> list[tuple[tuple[str | int, ...], dict[str, JsonValue]]]:
    raw = document["Statement"]
    if isinstance(raw, dict):
        return [(("Statement",), raw)]
    assert isinstance(raw, list)  # noqa: S101 - guaranteed by the syntax stage
    return [(("Statement", index), item) for index, item in enumerate(raw) if isinstance(item, dict)]


def _strings(value: JsonValue) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


# --- stage 1: grammar -------------------------------------------------------------------------------------------


def _check_syntax(document: JsonValue) -> None:
    if not isinstance(document, dict):
        _fail(SYNTAX_ERROR)
        return
    for key in document:
        if key not in TOP_ELEMENTS:
            _fail(SYNTAX_ERROR, key)
    version = document.get("Version", VERSION_2012)
    if not isinstance(version, str) or version not in {VERSION_2008, VERSION_2012}:
        _fail(SYNTAX_ERROR, "Version")
    if "Id" in document and not isinstance(document["Id"], str):
        _fail(SYNTAX_ERROR, "Id")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        _check_statement_syntax(statements, ("Statement",))
    elif isinstance(statements, list) and statements:
        for index, statement in enumerate(statements):
            _check_statement_syntax(statement, ("Statement", index))
    else:
        _fail(SYNTAX_ERROR, "Statement")


def _check_statement_syntax(statement: JsonValue, path: tuple[str | int, ...]) -> None:
    if not isinstance(statement, dict):
        _fail(SYNTAX_ERROR, *path)
        return
    for key in statement:
        if key not in STATEMENT_ELEMENTS:
            _fail(SYNTAX_ERROR, *path, key)
    for first, second in (("Action", "NotAction"), ("Resource", "NotResource"), ("Principal", "NotPrincipal")):
        if first in statement and second in statement:
            _fail(SYNTAX_ERROR, *path, second)
    _check_element_types(statement, path)
    for element in ("Principal", "NotPrincipal"):
        if element in statement:
            _check_principal_syntax(statement[element], (*path, element))
    if "Condition" in statement:
        _check_condition_syntax(statement["Condition"], (*path, "Condition"))


def _check_element_types(statement: dict[str, JsonValue], path: tuple[str | int, ...]) -> None:
    effect = statement.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in {"allow", "deny"}:
        _fail(SYNTAX_ERROR, *path, "Effect")
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        _fail(SYNTAX_ERROR, *path, "Sid")
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        if element in statement and not _is_string_or_strings(statement[element]):
            _fail(SYNTAX_ERROR, *path, element)


def _is_string_or_strings(value: JsonValue) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _check_principal_syntax(value: JsonValue, path: tuple[str | int, ...]) -> None:
    if value == "*":
        return
    if not isinstance(value, dict) or not value:
        _fail(SYNTAX_ERROR, *path)
        return
    for key, entry in value.items():
        if key not in PRINCIPAL_TYPES or not _is_string_or_strings(entry) or entry == []:
            _fail(SYNTAX_ERROR, *path, key)


def _check_condition_syntax(value: JsonValue, path: tuple[str | int, ...]) -> None:
    if not isinstance(value, dict):
        _fail(SYNTAX_ERROR, *path)
        return
    for operator, block in value.items():
        if not isinstance(block, dict):
            _fail(SYNTAX_ERROR, *path, operator)
            return
        if split_operator(operator) is None and block:
            _fail(SYNTAX_ERROR, *path, operator)
        for key, values in block.items():
            items = values if isinstance(values, list) else [values]
            if not all(isinstance(item, str | bool | JsonNumber) for item in items):
                _fail(SYNTAX_ERROR, *path, operator, key)


# --- later stages -----------------------------------------------------------------------------------------------


def _check_version(document: dict[str, JsonValue], kind: PolicyKind) -> None:
    if kind is PolicyKind.IDENTITY and document.get("Version") != VERSION_2012:
        _fail(VERSION_ERROR, "Version")


def _check_principals(document: dict[str, JsonValue], kind: PolicyKind) -> None:
    for path, statement in _statements(document):
        if kind is PolicyKind.IDENTITY:
            for element in ("Principal", "NotPrincipal"):
                if element in statement:
                    _fail(PRINCIPAL_REFUSED, *path, element)
            continue
        if kind is PolicyKind.TRUST and "NotPrincipal" in statement:
            _fail(NOT_PRINCIPAL_PROHIBITED, *path, "NotPrincipal")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            _fail(PRINCIPAL_MISSING, *path)
        for element in ("Principal", "NotPrincipal"):
            _check_principal_values(statement.get(element), (*path, element))


def _check_principal_values(value: JsonValue, path: tuple[str | int, ...]) -> None:
    if not isinstance(value, dict):
        return
    for entry in _strings(value.get("AWS")):
        if not _is_aws_principal(entry):
            _fail(f'Invalid principal in policy: "AWS":"{entry}"', *path, "AWS")


def _is_aws_principal(value: str) -> bool:
    if value == "*":
        return True
    if "*" in value or "?" in value:
        return False
    return bool(_ACCOUNT_ID.fullmatch(value) or _UNIQUE_ID.fullmatch(value) or _PRINCIPAL_ARN.fullmatch(value))


def _check_legacy_parsing(document: dict[str, JsonValue]) -> None:
    for path, statement in _statements(document):
        if statement.get("Effect") not in {"Allow", "Deny"}:
            _fail(LEGACY_PARSING, *path, "Effect")
        condition = statement.get("Condition")
        if isinstance(condition, dict):
            for operator, block in condition.items():
                _check_legacy_dates(operator, block, (*path, "Condition", operator))
    # Resources are legacy-parsed only until a resource has a format error: that error is reported later instead
    # (IAM answers `Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".` for the resource
    # `aws:s3:::example_bucket`, not "legacy parsing").
    for element in ("Resource", "NotResource"):
        for path, statement in _statements(document):
            resources = _strings(statement.get(element))
            if any(resource_format_error(resource) for resource in resources):
                return
            if any(_legacy_bad_resource(resource) for resource in resources):
                _fail(LEGACY_PARSING, *path, element)


def _check_legacy_dates(operator: str, block: JsonValue, path: tuple[str | int, ...]) -> None:
    parsed = split_operator(operator)
    if parsed is None or parsed.base.family is not Family.DATE or not isinstance(block, dict):
        return
    for key, values in block.items():
        for item in values if isinstance(values, list) else [values]:
            text = item.text if isinstance(item, JsonNumber) else item
            if not isinstance(text, str) or not is_legacy_date(text):
                _fail(LEGACY_PARSING, *path, key)


def _legacy_bad_resource(resource: str) -> bool:
    if resource == "*":
        return False
    colons = resource.count(":")
    return (colons < 5 and "::" in resource) or (colons >= 2 and resource.split(":")[2] == "")  # noqa: PLR2004


def _check_sids(document: dict[str, JsonValue], kind: PolicyKind) -> None:
    seen: set[str] = set()
    for path, statement in _statements(document):
        sid = statement.get("Sid")
        if not isinstance(sid, str) or not sid:
            continue
        if sid in seen:
            _fail(SID_NOT_UNIQUE, *path, "Sid")
        seen.add(sid)
    if kind is PolicyKind.RESOURCE:
        return
    for path, statement in _statements(document):
        sid = statement.get("Sid")
        if isinstance(sid, str) and not _SID.fullmatch(sid):
            _fail(SID_NOT_ALPHANUMERIC, *path, "Sid")


def _check_actions_present(document: dict[str, JsonValue]) -> None:
    for path, statement in _statements(document):
        element = "Action" if "Action" in statement else "NotAction"
        if not _strings(statement.get(element)):
            _fail(ACTIONS_MISSING, *path)


def _check_resource_formats(document: dict[str, JsonValue]) -> None:
    # Every statement's Resource, then every statement's NotResource; within one, the resources in sorted order
    # (of `["arn:error:s3:::b", "arn:error:s3::b"]` IAM names the first).
    for element in ("Resource", "NotResource"):
        for path, statement in _statements(document):
            for resource in sorted(_strings(statement.get(element))):
                message = resource_format_error(resource)
                if message:
                    _fail(message, *path, element)


def resource_format_error(resource: str) -> str | None:
    """IAM's complaint about a ``Resource`` value that is not an ARN pattern or ``"*"``, or ``None``."""
    if resource == "*":
        return None
    _head, colon, rest = resource.partition(":")
    if not colon:
        return f'Resource {resource} must be in ARN format or "*".'
    partition, colon, rest = rest.partition(":")
    if partition != "*" and partition not in PARTITIONS:
        return _partition_error(partition, rest)
    if not colon:
        return "Resource vendor must be fully qualified and cannot contain regexes."
    service, _, after_service = rest.partition(":")
    region, _, after_region = after_service.partition(":")
    _account, _, resource_id = after_region.partition(":")
    return _service_error(resource, service, region, resource_id)


def _partition_error(partition: str, rest: str) -> str:
    parts = rest.split(":")
    service = parts[0] if parts[0] or len(parts) > 1 else "*"
    region = parts[1] if len(parts) > 1 else "*"
    account = parts[2] if len(parts) > 2 else "*"  # noqa: PLR2004
    tail = ":".join(parts[3:]) if len(parts) > 3 else "*"  # noqa: PLR2004
    arn = f"arn:{partition}:{service}:{region}:{account}:{tail}"
    return f'Partition "{partition}" is not valid for resource "{arn}".'


def _service_error(resource: str, service: str, region: str, resource_id: str) -> str | None:
    if service == "iam" and region:
        return f"IAM resource {resource} cannot contain region information."
    if service == "s3" and region and not resource_id.startswith("accesspoint/"):
        return f"Resource {resource} can not contain region information."
    if service == "iam" and not resource_id.startswith(IAM_RESOURCE_TYPES):
        return f'IAM resource path must either be "*" or start with {", ".join(IAM_RESOURCE_TYPES)}.'
    return None


def _check_action_vendors(document: dict[str, JsonValue]) -> None:
    for path, statement in _statements(document):
        for element in ("Action", "NotAction"):
            for action in _strings(statement.get(element)):
                message = action_format_error(action)
                if message:
                    _fail(message, *path, element)


def action_format_error(action: str) -> str | None:
    """IAM's complaint about an action name that is not ``vendor:name`` or ``"*"``, or ``None``."""
    parts = action.split(":")
    if len(parts) == 1 and parts[0] != "*":
        return VENDOR_MISSING
    if len(parts) > 2:  # noqa: PLR2004
        return ONE_COLON
    if parts[0] != "*" and not _VENDOR.fullmatch(parts[0]):
        return f"Vendor {parts[0]} is not valid"
    return None


def _check_resources_present(document: dict[str, JsonValue], kind: PolicyKind) -> None:
    if kind is PolicyKind.TRUST:
        return
    for path, statement in _statements(document):
        element = "Resource" if "Resource" in statement else "NotResource"
        if not _strings(statement.get(element)):
            _fail(RESOURCES_MISSING, *path)


_TRUST_MATCHERS: Final = tuple(action.lower() for action in TRUST_ACTIONS)


def _check_trust_rules(document: dict[str, JsonValue], kind: PolicyKind) -> None:
    if kind is not PolicyKind.TRUST:
        return
    for path, statement in _statements(document):
        for action in _strings(statement.get("Action", statement.get("NotAction"))):
            matcher = compile_glob(action.lower())
            if not any(matcher(allowed) for allowed in _TRUST_MATCHERS):
                _fail(TRUST_ACTIONS_ONLY, *path, "Action" if "Action" in statement else "NotAction")
    for path, statement in _statements(document):
        for element in ("Resource", "NotResource"):
            if element in statement:
                _fail(RESOURCE_PROHIBITED, *path, element)


def _stages(document: dict[str, JsonValue], kind: PolicyKind) -> Iterator[Callable[[], None]]:
    yield lambda: _check_version(document, kind)
    yield lambda: _check_principals(document, kind)
    yield lambda: _check_legacy_parsing(document)
    yield lambda: _check_sids(document, kind)
    yield lambda: _check_actions_present(document)
    yield lambda: _check_resource_formats(document)
    yield lambda: _check_action_vendors(document)
    yield lambda: _check_resources_present(document, kind)
    yield lambda: _check_trust_rules(document, kind)


def validate(document: JsonValue, kind: PolicyKind = PolicyKind.IDENTITY) -> tuple[PolicyIssue, ...]:
    """The issues of a decoded JSON policy ``document`` used as ``kind``, as IAM reports them: the first broken
    rule, in IAM's order of checks (an empty tuple means the document is valid). Never raises."""
    try:
        _check_syntax(document)
    except _Stage as stop:
        return (stop.issue,)
    assert isinstance(document, dict)  # noqa: S101 - the syntax stage guarantees it
    for stage in _stages(document, kind):
        try:
            stage()
        except _Stage as stop:
            return (stop.issue,)
    return ()
