"""Compiling a statement's ``Condition`` element into tests over a request context (reference section 3).

Every (operator, key) pair becomes one :class:`CompiledClause`; a statement's conditions hold when all clauses do
(AND across operators and keys). Within a clause the policy values are OR-ed, or NOR-ed for negated operators.
A missing key makes a plain operator false and a negated one true; ``...IfExists`` makes it true; ``Null`` tests
presence. ``ForAllValues`` is true for a missing or empty key, ``ForAnyValue`` false. A multivalued request value
tested without a set operator never matches (AWS leaves this undocumented; the reference's recommendation).
Key names are case-insensitive; whether values are depends on the operator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeAlias

from iamledger.domain.policy.document import ConditionBlock
from iamledger.domain.policy.operators import VARIABLE_FAMILIES, Family, Operator, SetOperator, split_operator
from iamledger.domain.policy.values import (
    decode_binary,
    parse_address,
    parse_date,
    parse_network,
    parse_number,
)
from iamledger.domain.policy.variables import (
    Context,
    Literal,
    Template,
    compiled,
    has_references,
    parse_template,
    resolve,
    to_arn_regex,
    to_glob_regex,
    to_text,
    variable_keys,
)
from iamledger.domain.policy.wildcards import compile_arn_pattern, compile_glob

ValueTest: TypeAlias = Callable[[str, Context], bool]
"""Whether one request value matches any of a clause's policy values."""
ClauseTest: TypeAlias = Callable[[Context], bool]


@dataclass(frozen=True, slots=True)
class CompiledClause:
    """One compiled ``operator: {key: values}`` entry; ``test(context)`` tells whether it holds. ``keys`` are the
    context keys it reads (the condition key and any policy variables), as written in the policy."""

    operator: str
    key: str
    keys: tuple[str, ...]
    test: ClauseTest


def compile_conditions(blocks: Sequence[ConditionBlock], *, variables: bool) -> tuple[CompiledClause, ...]:
    """Compile a statement's condition blocks. ``variables`` says whether policy variables are substituted."""
    clauses: list[CompiledClause] = []
    for block in blocks:
        operator = split_operator(block.operator)
        for entry in block.entries:
            if operator is None:
                clauses.append(CompiledClause(block.operator, entry.key, (entry.key,), _false))
                continue
            clauses.append(compile_clause(operator, entry.key, entry.values, variables=variables))
    return tuple(clauses)


def _false(_context: Context) -> bool:
    return False


def compile_clause(operator: Operator, key: str, values: Sequence[str], *, variables: bool) -> CompiledClause:
    """Compile one clause: ``operator`` applied to context ``key`` against the policy ``values``."""
    family = operator.base.family
    substitute = variables and family in VARIABLE_FAMILIES
    templates = tuple(parse_template(value, arn=family is Family.ARN) for value in values) if substitute else ()
    keys = (key, *(name for template in templates for name in variable_keys(template)))
    if family is Family.NULL:
        return CompiledClause(operator.name, key, keys, _null_test(key.lower(), values))
    if templates and any(has_references(template) for template in templates):
        match_any = _variable_test(family, templates)
    else:
        match_any = _static_test(operator, values)
    return CompiledClause(operator.name, key, keys, _clause_test(operator, key.lower(), match_any))


def _null_test(key: str, values: Sequence[str]) -> ClauseTest:
    wanted = frozenset(value.lower() for value in values)

    def test(context: Context) -> bool:
        value = context.get(key)
        absent = value is None or value in ("", ())
        return ("true" if absent else "false") in wanted

    return test


def _clause_test(operator: Operator, key: str, match_any: ValueTest) -> ClauseTest:
    negated = operator.base.negated
    if_exists = operator.if_exists
    if operator.set_operator is None:
        missing = if_exists or negated

        def single(context: Context) -> bool:
            value = context.get(key)
            if value is None:
                return missing
            if isinstance(value, tuple):
                return False
            return (not match_any(value, context)) if negated else match_any(value, context)

        return single
    for_all = operator.set_operator is SetOperator.FOR_ALL_VALUES
    empty = for_all or if_exists

    def multi(context: Context) -> bool:
        value = context.get(key)
        if value is None or value in ("", ()):
            return empty
        items = value if isinstance(value, tuple) else (value,)
        if negated:
            results = (not match_any(item, context) for item in items)
        else:
            results = (match_any(item, context) for item in items)
        return all(results) if for_all else any(results)

    return multi


def _static_test(operator: Operator, values: Sequence[str]) -> ValueTest:  # noqa: PLR0911
    family = operator.base.family
    if family is Family.STRING:
        exact = frozenset(values)
        return lambda value, _context: value in exact
    if family is Family.STRING_IGNORE_CASE:
        folded = frozenset(value.lower() for value in values)
        return lambda value, _context: value.lower() in folded
    if family is Family.STRING_LIKE:
        globs = tuple(compile_glob(value) for value in values)
        return lambda value, _context: any(glob(value) for glob in globs)
    if family is Family.ARN:
        arns = tuple(compile_arn_pattern(value) for value in values)
        return lambda value, _context: any(arn(value) for arn in arns)
    if family is Family.BOOL:
        booleans = frozenset(value.lower() for value in values)
        return lambda value, _context: value.lower() in booleans
    if family is Family.BINARY:
        blobs = frozenset(decode_binary(value) for value in values)
        return lambda value, _context: decode_binary(value) in blobs
    if family is Family.IP:
        networks = tuple(network for network in map(parse_network, values) if network is not None)

        def in_network(value: str, _context: Context) -> bool:
            address = parse_address(value)
            return address is not None and any(address in network for network in networks)

        return in_network
    reader = parse_number if family is Family.NUMERIC else parse_date
    return _ordered_test(operator.base.comparison, reader, values)


_COMPARISONS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "eq": lambda request, policy: request == policy,
    "lt": lambda request, policy: request < policy,
    "lte": lambda request, policy: request <= policy,
    "gt": lambda request, policy: request > policy,
    "gte": lambda request, policy: request >= policy,
}


def _ordered_test(comparison: str, reader: Callable[[str], Decimal | None], values: Sequence[str]) -> ValueTest:
    compare = _COMPARISONS[comparison]
    bounds = tuple(bound for bound in map(reader, values) if bound is not None)

    def test(value: str, _context: Context) -> bool:
        number = reader(value)
        return number is not None and any(compare(number, bound) for bound in bounds)

    return test


def _variable_test(family: Family, templates: tuple[Template, ...]) -> ValueTest:
    def resolved(context: Context) -> list[tuple[str | Literal, ...]]:
        return [parts for parts in (resolve(template, context) for template in templates) if parts is not None]

    if family is Family.STRING:
        return lambda value, context: any(to_text(parts) == value for parts in resolved(context))
    if family in {Family.STRING_IGNORE_CASE, Family.BOOL}:
        return lambda value, context: any(to_text(parts).lower() == value.lower() for parts in resolved(context))
    if family is Family.STRING_LIKE:
        return lambda value, context: any(
            compiled(to_glob_regex(parts)).fullmatch(value) for parts in resolved(context)
        )

    def arn_test(value: str, context: Context) -> bool:
        for parts in resolved(context):
            regex = to_arn_regex(parts)
            if regex is not None and compiled(regex).fullmatch(value):
                return True
        return False

    return arn_test
