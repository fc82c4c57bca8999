"""The context keys a policy document refers to, as ``GetContextKeysForCustomPolicy`` lists them: the keys its
``Condition`` elements test and the keys its policy variables (``${aws:username}``) read, in ``Resource``,
``NotResource`` and condition values.

AWS's documented example (the aws CLI's ``get-context-keys-for-custom-policy``) lists a variable of ``Resource``
before a condition key of the same statement and keeps each key's spelling (``aws:CurrentTime``); keys are compared
without case, as the evaluator compares them, and each is listed once, as first spelled. Variables count only under
``Version: 2012-10-17``, where they are variables at all.
"""

from __future__ import annotations

from collections.abc import Iterable

from iamledger.domain.policy.document import PolicyDocument, Statement
from iamledger.domain.policy.variables import parse_template, variable_keys


def _variables(values: Iterable[str], *, arn: bool) -> list[str]:
    found: list[str] = []
    for value in values:
        found.extend(variable_keys(parse_template(value, arn=arn)))
    return found


def _statement_keys(statement: Statement, *, variables: bool) -> list[str]:
    keys: list[str] = []
    if variables:
        keys += _variables(statement.resource or (), arn=True)
        keys += _variables(statement.not_resource or (), arn=True)
    keys += list(statement.condition_keys())
    if variables:
        for block in statement.condition:
            for entry in block.entries:
                keys += _variables(entry.values, arn=False)
    return keys


def context_key_names(documents: Iterable[PolicyDocument]) -> list[str]:
    """Every context key the documents refer to, each once (compared without case, first spelling kept), in the
    order of the documents and of their statements."""
    seen: dict[str, str] = {}
    for document in documents:
        for statement in document.statements:
            for key in _statement_keys(statement, variables=document.variables_enabled):
                seen.setdefault(key.lower(), key)
    return list(seen.values())
