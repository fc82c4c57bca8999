"""``render``: a :class:`~iamledger.domain.policy.document.PolicyDocument` back to JSON text.

Elements are written in the conventional order (``Version``, ``Id``, ``Statement``; ``Sid``, ``Effect``,
``Principal``... ``Condition``); one-element lists are written as bare strings. ``parse(render(doc)) == doc``.
"""

from __future__ import annotations

import json
from typing import Any

from iamledger.domain.policy.document import PolicyDocument, PrincipalElement, Statement


def _list_or_scalar(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _principal(element: PrincipalElement) -> Any:
    if element.wildcard:
        return "*"
    return {key: _list_or_scalar(values) for key, values in element.entries}


def statement_json(statement: Statement) -> dict[str, Any]:
    """The JSON object (as Python data) of one statement."""
    out: dict[str, Any] = {}
    if statement.sid is not None:
        out["Sid"] = statement.sid
    out["Effect"] = statement.effect.value
    for name, principal in (("Principal", statement.principal), ("NotPrincipal", statement.not_principal)):
        if principal is not None:
            out[name] = _principal(principal)
    for name, values in (
        ("Action", statement.action),
        ("NotAction", statement.not_action),
        ("Resource", statement.resource),
        ("NotResource", statement.not_resource),
    ):
        if values is not None:
            out[name] = _list_or_scalar(values)
    if statement.condition:
        out["Condition"] = {
            block.operator: {entry.key: _list_or_scalar(entry.values) for entry in block.entries}
            for block in statement.condition
        }
    return out


def document_json(document: PolicyDocument) -> dict[str, Any]:
    """The JSON object (as Python data) of a whole document."""
    out: dict[str, Any] = {}
    if document.version is not None:
        out["Version"] = document.version
    if document.id is not None:
        out["Id"] = document.id
    statements = [statement_json(statement) for statement in document.statements]
    out["Statement"] = statements if document.statement_is_list or len(statements) != 1 else statements[0]
    return out


def render(document: PolicyDocument, *, indent: int | None = 4) -> str:
    """The document as JSON text (``indent=None`` for the compact form)."""
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(document_json(document), indent=indent, separators=separators, ensure_ascii=False)
