"""Names of condition operators: the base operators, their families, and how a full operator name such as
``ForAnyValue:StringNotLikeIfExists`` splits into set operator, base operator and ``IfExists``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache


class Family(StrEnum):
    """How an operator compares a request value with a policy value."""

    STRING = "String"
    STRING_IGNORE_CASE = "StringIgnoreCase"
    STRING_LIKE = "StringLike"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "Ip"
    ARN = "Arn"
    NULL = "Null"


class SetOperator(StrEnum):
    """The multivalued-key qualifiers."""

    FOR_ALL_VALUES = "ForAllValues"
    FOR_ANY_VALUE = "ForAnyValue"


@dataclass(frozen=True)
class BaseOperator:
    """A base operator: its ``family``, whether it is ``negated`` (NOR over values, true on a missing key) and its
    comparison (``eq``, ``lt``, ``lte``, ``gt``, ``gte`` for numeric and date operators, else ``eq``)."""

    name: str
    family: Family
    negated: bool = False
    comparison: str = "eq"


_BASE = (
    BaseOperator("StringEquals", Family.STRING),
    BaseOperator("StringNotEquals", Family.STRING, negated=True),
    BaseOperator("StringEqualsIgnoreCase", Family.STRING_IGNORE_CASE),
    BaseOperator("StringNotEqualsIgnoreCase", Family.STRING_IGNORE_CASE, negated=True),
    BaseOperator("StringLike", Family.STRING_LIKE),
    BaseOperator("StringNotLike", Family.STRING_LIKE, negated=True),
    BaseOperator("NumericEquals", Family.NUMERIC),
    BaseOperator("NumericNotEquals", Family.NUMERIC, negated=True),
    BaseOperator("NumericLessThan", Family.NUMERIC, comparison="lt"),
    BaseOperator("NumericLessThanEquals", Family.NUMERIC, comparison="lte"),
    BaseOperator("NumericGreaterThan", Family.NUMERIC, comparison="gt"),
    BaseOperator("NumericGreaterThanEquals", Family.NUMERIC, comparison="gte"),
    BaseOperator("DateEquals", Family.DATE),
    BaseOperator("DateNotEquals", Family.DATE, negated=True),
    BaseOperator("DateLessThan", Family.DATE, comparison="lt"),
    BaseOperator("DateLessThanEquals", Family.DATE, comparison="lte"),
    BaseOperator("DateGreaterThan", Family.DATE, comparison="gt"),
    BaseOperator("DateGreaterThanEquals", Family.DATE, comparison="gte"),
    BaseOperator("Bool", Family.BOOL),
    BaseOperator("BinaryEquals", Family.BINARY),
    BaseOperator("IpAddress", Family.IP),
    BaseOperator("NotIpAddress", Family.IP, negated=True),
    BaseOperator("ArnEquals", Family.ARN),
    BaseOperator("ArnLike", Family.ARN),
    BaseOperator("ArnNotEquals", Family.ARN, negated=True),
    BaseOperator("ArnNotLike", Family.ARN, negated=True),
    BaseOperator("Null", Family.NULL),
)
BASE_OPERATORS: dict[str, BaseOperator] = {op.name: op for op in _BASE}
"""Every base operator by its (case-sensitive) name."""

VARIABLE_FAMILIES = frozenset({Family.STRING, Family.STRING_IGNORE_CASE, Family.STRING_LIKE, Family.ARN, Family.BOOL})
"""Families whose policy values may contain ``${...}`` policy variables. (AWS's pages disagree about ``Bool``; the
operators page, which allows them, is followed.)"""


@dataclass(frozen=True)
class Operator:
    """A full operator name, split: ``set_operator`` (or ``None``), ``base`` and ``if_exists``."""

    name: str
    set_operator: SetOperator | None
    base: BaseOperator
    if_exists: bool


@lru_cache(maxsize=256)
def split_operator(name: str) -> Operator | None:
    """Split an operator name (``ForAllValues:StringLikeIfExists``), or ``None`` if it names no known operator.

    Names are case-sensitive, as in AWS's grammar.
    """
    set_operator: SetOperator | None = None
    rest = name
    for candidate in SetOperator:
        prefix = f"{candidate.value}:"
        if rest.startswith(prefix):
            set_operator, rest = candidate, rest[len(prefix) :]
            break
    if_exists = rest.endswith("IfExists")
    if if_exists:
        rest = rest[: -len("IfExists")]
    base = BASE_OPERATORS.get(rest)
    if base is None:
        return None
    return Operator(name, set_operator, base, if_exists)
