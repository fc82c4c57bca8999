"""The request context: the condition keys a request carries (reference section 4).

:func:`principal_keys` derives the global keys that describe the caller, per principal type (``aws:username`` only
for IAM users; ``aws:TokenIssueTime`` and ``aws:MultiFactorAuthPresent`` only for temporary credentials; for a role
session ``aws:PrincipalArn`` is the role ARN and ``aws:userid`` is ``<role-id>:<session>``). :func:`request_context`
adds the environment keys and merges the caller's own keys over them. Keys are stored lowercased, because key
names are case-insensitive; values keep their case. A single-valued key holds a string, a multivalued key a tuple.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from iamledger.domain.policy.principals import Principal, PrincipalType, Session
from iamledger.domain.policy.variables import ContextValue


def context_value(value: Any) -> ContextValue:
    """A caller's value as a context value: booleans as ``"true"``/``"false"``, numbers as text, dates in ISO 8601
    (UTC, ``Z``), lists and tuples as tuples (multivalued)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_time(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(str(context_value(item)) for item in value)
    return str(value)


def normalize_context(entries: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> dict[str, ContextValue]:
    """Caller-supplied keys as a context: key names lowercased, values converted by :func:`context_value`."""
    items = entries.items() if isinstance(entries, Mapping) else entries
    return {key.lower(): context_value(value) for key, value in items}


def iso_time(moment: datetime) -> str:
    """``moment`` as AWS writes ``aws:CurrentTime``: ``2024-05-01T12:00:00Z`` (naive datetimes are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _identity_keys(principal: Principal) -> dict[str, ContextValue]:
    kind = principal.type
    if kind is PrincipalType.ROOT:
        return {"aws:userid": principal.account or "", "aws:principalarn": principal.arn}
    if kind is PrincipalType.USER:
        return {
            "aws:username": principal.name or "",
            "aws:userid": principal.unique_id or principal.name or "",
            "aws:principalarn": principal.arn,
        }
    if kind is PrincipalType.ASSUMED_ROLE:
        role_id = principal.role_id or principal.name
        return {
            "aws:userid": principal.unique_id or f"{role_id}:{principal.session_name}",
            "aws:principalarn": principal.role_arn or principal.arn,
        }
    if kind is PrincipalType.FEDERATED_USER:
        return {
            "aws:userid": principal.unique_id or f"{principal.account}:{principal.name}",
            "aws:principalarn": principal.arn,
        }
    return {}


def _session_keys(session: Session | None) -> dict[str, ContextValue]:
    if session is None:
        return {}
    keys: dict[str, ContextValue] = {
        "aws:tokenissuetime": iso_time(session.issued_at),
        "aws:multifactorauthpresent": "true" if session.mfa_authenticated else "false",
    }
    if session.mfa_authenticated and session.mfa_age_seconds is not None:
        keys["aws:multifactorauthage"] = str(session.mfa_age_seconds)
    if session.source_identity is not None:
        keys["aws:sourceidentity"] = session.source_identity
    return keys


def principal_keys(principal: Principal) -> dict[str, ContextValue]:
    """The global condition keys describing ``principal`` (lowercased names)."""
    keys: dict[str, ContextValue] = {"aws:principaltype": principal.type.value}
    if principal.type is PrincipalType.ANONYMOUS:
        keys["aws:userid"] = "anonymous"
        keys["aws:principalaccount"] = "anonymous"
        return keys
    keys.update(_identity_keys(principal))
    if principal.account is not None:
        keys["aws:principalaccount"] = principal.account
    is_service = principal.type is PrincipalType.SERVICE
    keys["aws:principalisawsservice"] = "true" if is_service else "false"
    if is_service:
        keys["aws:principalservicename"] = principal.arn
    for tag, value in principal.tags.items():
        keys[f"aws:principaltag/{tag.lower()}"] = value
    keys.update(_session_keys(principal.session))
    return keys


def request_context(
    principal: Principal,
    *,
    now: datetime | None = None,
    secure_transport: bool = True,
    source_ip: str | None = None,
    user_agent: str | None = None,
    requested_region: str | None = None,
    resource_account: str | None = None,
    via_aws_service: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, ContextValue]:
    """The full request context of a call by ``principal`` at ``now`` (default: the current time): the principal
    keys, ``aws:CurrentTime``, ``aws:EpochTime``, ``aws:SecureTransport``, ``aws:ViaAWSService`` and, when given,
    ``aws:SourceIp``, ``aws:UserAgent``, ``aws:RequestedRegion``, ``aws:ResourceAccount``; then ``extra`` (the
    caller's keys, e.g. ``aws:ResourceTag/x``, ``sts:ExternalId``) overrides any of them."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    keys = principal_keys(principal)
    keys["aws:currenttime"] = iso_time(moment)
    keys["aws:epochtime"] = str(int(moment.timestamp()))
    keys["aws:securetransport"] = "true" if secure_transport else "false"
    keys["aws:viaawsservice"] = "true" if via_aws_service else "false"
    optional = {
        "aws:sourceip": source_ip,
        "aws:useragent": user_agent,
        "aws:requestedregion": requested_region,
        "aws:resourceaccount": resource_account,
    }
    keys.update({key: value for key, value in optional.items() if value is not None})
    if extra:
        keys.update(normalize_context(extra))
    return keys
