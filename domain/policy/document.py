"""The policy AST: frozen dataclasses produced by :func:`iamledger.domain.policy.parser.parse`.

The AST is normalised so that equal meaning gives equal trees where the grammar allows two spellings: a one-element
list and a bare string are both a one-element tuple, JSON numbers and booleans in conditions are their text
(``"10"``, ``"true"``). Source positions are kept for reporting but take no part in equality, so
``parse(render(doc)) == doc`` holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

VERSION_2012 = "2012-10-17"
"""The current policy language version; the only one under which policy variables are substituted."""
VERSION_2008 = "2008-10-17"
"""The old policy language version."""
PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
"""The keys a ``Principal``/``NotPrincipal`` object may have."""


class Effect(StrEnum):
    """A statement's ``Effect`` (case-sensitive in the grammar)."""

    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the policy text as AWS's simulator reports it: 1-based ``line`` and ``column``."""

    line: int
    column: int


@dataclass(frozen=True)
class PrincipalElement:
    """A ``Principal`` or ``NotPrincipal`` element: either the bare ``"*"`` (``wildcard``) or typed ``entries``
    such as ``(("AWS", ("111122223333",)), ("Service", ("ec2.amazonaws.com",)))`` in document order."""

    wildcard: bool = False
    entries: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class ConditionEntry:
    """One condition key under an operator with its values (OR-ed; NOR-ed for negated operators)."""

    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ConditionBlock:
    """One operator of a ``Condition`` element (``"StringEquals"``, ``"ForAnyValue:StringLikeIfExists"``) and its
    keys, AND-ed."""

    operator: str
    entries: tuple[ConditionEntry, ...]


@dataclass(frozen=True)
class Statement:
    """One statement. Exactly one of ``action``/``not_action`` is set in a valid document; ``resource`` and
    ``not_resource`` are both ``None`` only in trust policies. ``start``/``end`` are AWS-style positions of the
    statement in its source text (see :mod:`iamledger.domain.policy.positions`)."""

    effect: Effect
    sid: str | None = None
    principal: PrincipalElement | None = None
    not_principal: PrincipalElement | None = None
    action: tuple[str, ...] | None = None
    not_action: tuple[str, ...] | None = None
    resource: tuple[str, ...] | None = None
    not_resource: tuple[str, ...] | None = None
    condition: tuple[ConditionBlock, ...] = ()
    start: Position | None = field(default=None, compare=False)
    end: Position | None = field(default=None, compare=False)

    def condition_keys(self) -> tuple[str, ...]:
        """The condition keys this statement tests, in document order, without repeats (case-insensitively)."""
        seen: dict[str, str] = {}
        for block in self.condition:
            for entry in block.entries:
                seen.setdefault(entry.key.lower(), entry.key)
        return tuple(seen.values())


@dataclass(frozen=True)
class PolicyDocument:
    """A whole policy. ``version`` is ``None`` when the document has no ``Version`` element, in which case (as under
    ``2008-10-17``) policy variables are literal text. ``statement_is_list`` records whether ``Statement`` was an
    array so that rendering keeps the shape; it takes no part in equality."""

    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    statement_is_list: bool = field(default=True, compare=False)

    @property
    def variables_enabled(self) -> bool:
        """Whether ``${...}`` policy variables are substituted (only under ``Version: 2012-10-17``)."""
        return self.version == VERSION_2012
