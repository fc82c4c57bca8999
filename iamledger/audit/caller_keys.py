"""Condition keys a caller chooses when it makes a request, and values of them that satisfy a policy's conditions.

An escalation edge asked with the bare request (the principal's own keys and the time) is refused when a statement
needs a key only the request itself carries: a trust policy that asks for MFA (``aws:MultiFactorAuthPresent``) or an
external id (``sts:ExternalId``), an identity policy limited to a network (``aws:SourceIp``) or a region. The
principal can still take the edge, by signing in with MFA or sending the external id, so the edge exists and is
*conditional* on those keys, as PMapper marks them. This module reads the statements that cover an action and
proposes, one statement at a time, values of such keys that satisfy its conditions; the evaluator then decides the
request with them (so a value proposed here never allows anything by itself).

Keys of the principal (``aws:username``, ``aws:PrincipalTag/...``, ``aws:PrincipalArn``) are not the caller's to
choose: a condition on them that fails stays failed, and the edge stays absent.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from iamledger.domain.policy import AppliedPolicy
from iamledger.domain.policy.document import ConditionBlock
from iamledger.domain.policy.operators import Family, split_operator

# The keys a caller sets by how it makes the request (lowercased). Request tags are by prefix.
CALLER_KEYS: Final = frozenset(
    {
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "sts:externalid",
        "aws:sourceip",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:vpcsourceip",
        "aws:requestedregion",
        "aws:useragent",
        "aws:referer",
        "aws:securetransport",
        "sts:rolesessionname",
        "sts:sourceidentity",
        "aws:tagkeys",
        "sts:transitivetagkeys",
    }
)
CALLER_KEY_PREFIXES: Final = ("aws:requesttag/",)

# Beyond this many alternatives the search stops (a policy rarely has more than a few conditional statements).
_MAX_ALTERNATIVES: Final = 8


def is_caller_key(key: str) -> bool:
    """Whether the caller chooses ``key``'s value by how it makes the request."""
    lowered = key.lower()
    return lowered in CALLER_KEYS or lowered.startswith(CALLER_KEY_PREFIXES)


def caller_contexts(policies: Iterable[AppliedPolicy], action: str) -> list[dict[str, str]]:
    """Alternative sets of caller-chosen keys to ask ``action`` with: for each allowing statement that covers it and
    reads a caller key, values that satisfy that statement's conditions on such keys, together with values that
    lift every deny whose ``Bool`` or ``Null`` condition on a caller key is what applies it (``Deny`` unless MFA).
    Empty when no statement covering the action reads a caller key."""
    lowered = action.lower()
    allows: list[dict[str, str]] = []
    lifting: dict[str, str] = {}
    for applied in policies:
        compiled = applied.policy
        for statement in compiled.statements_for(lowered):
            if not any(is_caller_key(written) for _lower, written in statement.keys):
                continue
            blocks = compiled.document.statements[statement.index].condition
            if statement.allow:
                supplied = _satisfying(blocks)
                if supplied and supplied not in allows:
                    allows.append(supplied)
            else:
                for key, value in _lifting(blocks).items():
                    lifting.setdefault(key, value)
    if not allows and not lifting:
        return []
    found = [{**lifting, **supplied} for supplied in allows] or [lifting]
    return found[:_MAX_ALTERNATIVES]


def _satisfying(blocks: Sequence[ConditionBlock]) -> dict[str, str]:
    """Values of the caller keys that make each of these (AND-ed) clauses hold, where one can be read off."""
    supplied: dict[str, str] = {}
    for block in blocks:
        operator = split_operator(block.operator)
        if operator is None or operator.base.negated:
            continue  # a negated clause holds on a missing key already
        for entry in block.entries:
            if not is_caller_key(entry.key) or not entry.values:
                continue
            value = _value_for(operator.base.family, operator.base.comparison, entry.values[0])
            if value is not None:
                supplied[entry.key] = value
    return supplied


def _lifting(blocks: Sequence[ConditionBlock]) -> dict[str, str]:
    """Values of the caller keys that make a deny's ``Bool``/``Null`` clause fail (``Deny`` when MFA is false or
    absent is lifted by MFA)."""
    supplied: dict[str, str] = {}
    for block in blocks:
        operator = split_operator(block.operator)
        if operator is None:
            continue
        for entry in block.entries:
            if not is_caller_key(entry.key) or not entry.values:
                continue
            wanted = entry.values[0].lower()
            if operator.base.family is Family.BOOL and wanted in ("true", "false"):
                supplied[entry.key] = "false" if wanted == "true" else "true"
            elif operator.base.family is Family.NULL and wanted == "true":
                supplied[entry.key] = _present_value(entry.key)
    return supplied


def _present_value(key: str) -> str:
    lowered = key.lower()
    if lowered == "aws:multifactorauthage":
        return "0"
    if lowered in ("aws:multifactorauthpresent", "aws:securetransport"):
        return "true"
    return "supplied"


def _value_for(family: Family, comparison: str, written: str) -> str | None:
    """A request value the clause's first policy value accepts."""
    for value in _candidates(family, comparison, written):
        return value
    return None


def _candidates(family: Family, comparison: str, written: str) -> Iterator[str]:
    if family in (Family.STRING, Family.STRING_IGNORE_CASE, Family.BOOL):
        yield written
    elif family is Family.STRING_LIKE:
        yield written.replace("*", "x").replace("?", "x")
    elif family is Family.NUMERIC:
        try:
            number = float(written)
        except ValueError:
            return
        step = {"lt": -1, "gt": 1}.get(comparison, 0)
        yield _number(number + step)
    elif family is Family.IP:
        try:
            yield str(ipaddress.ip_network(written, strict=False).network_address)
        except ValueError:
            return


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
