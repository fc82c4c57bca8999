"""Policy variables (``${aws:username}``) in ``Resource`` values and String/ARN condition values.

A value is split once into a template of raw text, :class:`Variable` references and :class:`Literal` text. The
escapes ``${*}``, ``${?}`` and ``${$}`` are literal characters, never wildcards, and so are substituted values.
``${key, 'default'}`` gives a default for a missing key. A variable whose key is missing (with no default) or
multivalued cannot be resolved, and the value holding it then matches nothing. Variables are substituted only
under ``Version: 2012-10-17``; otherwise the caller keeps the value as plain text.
In ARNs, only the resource part (after the fifth ``:``) may hold variables; elsewhere they are literal text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, TypeAlias

from iamledger.domain.policy.wildcards import ARN_PARTS, glob_regex

ContextValue: TypeAlias = str | tuple[str, ...]
"""A request-context value: a string for a single-valued key, a tuple for a multivalued key."""
Context: TypeAlias = Mapping[str, ContextValue]
"""A request context: lowercased key name to value."""

_REFERENCE: Final = re.compile(r"\$\{([^}]*)\}")
_KEY_WITH_DEFAULT: Final = re.compile(r"\s*([^\s,'{}]+)\s*(?:,\s*'([^']*)'\s*)?")
_ESCAPES: Final = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Variable:
    """A reference to a context key (``lower`` is its lookup name) with an optional default."""

    key: str
    lower: str
    default: str | None


@dataclass(frozen=True, slots=True)
class Literal:
    """Text that is matched literally even where the surrounding value is a wildcard pattern."""

    text: str


Part: TypeAlias = str | Variable | Literal
Template: TypeAlias = tuple[Part, ...]


def _reference(inside: str, whole: str) -> Part:
    if inside in _ESCAPES:
        return Literal(_ESCAPES[inside])
    match = _KEY_WITH_DEFAULT.fullmatch(inside)
    if match is None:
        return whole
    return Variable(match.group(1), match.group(1).lower(), match.group(2))


@lru_cache(maxsize=8192)
def parse_template(text: str, *, arn: bool = False) -> Template:
    """Split ``text`` into raw text, variables and literals. With ``arn``, references before the fifth raw ``:``
    stay literal text."""
    parts: list[Part] = []
    position = 0
    colons = 0
    for match in _REFERENCE.finditer(text):
        raw = text[position : match.start()]
        colons += raw.count(":")
        if raw:
            parts.append(raw)
        part = _reference(match.group(1), match.group(0))
        if arn and colons < ARN_PARTS - 1 and isinstance(part, Variable):
            part = Literal(match.group(0))
        parts.append(part)
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return tuple(parts)


def has_references(template: Template) -> bool:
    """Whether the template holds anything but raw text."""
    return any(not isinstance(part, str) for part in template)


def variable_keys(template: Template) -> tuple[str, ...]:
    """The context keys the template's variables read."""
    return tuple(part.key for part in template if isinstance(part, Variable))


def resolve(template: Template, context: Context) -> tuple[str | Literal, ...] | None:
    """The template with every variable replaced by a :class:`Literal` of its value, or ``None`` if a variable
    cannot be resolved."""
    resolved: list[str | Literal] = []
    for part in template:
        if isinstance(part, Variable):
            value = context.get(part.lower)
            if isinstance(value, str):
                resolved.append(Literal(value))
            elif part.default is not None:
                resolved.append(Literal(part.default))
            else:
                return None
        else:
            resolved.append(part)
    return tuple(resolved)


def to_text(parts: tuple[str | Literal, ...]) -> str:
    """Resolved parts as plain text (for exact comparisons)."""
    return "".join(part.text if isinstance(part, Literal) else part for part in parts)


def to_glob_regex(parts: tuple[str | Literal, ...]) -> str:
    """Resolved parts as a regular expression where only raw text may hold wildcards."""
    return "".join(re.escape(part.text) if isinstance(part, Literal) else glob_regex(part) for part in parts)


def to_arn_regex(parts: tuple[str | Literal, ...]) -> str | None:
    """Resolved parts of an ARN pattern as a regular expression (wildcards in the first five parts do not span
    ``:``), or ``None`` if the raw text has fewer than five ``:``. A bare ``*`` is every ARN, as it is where no
    entry holds a variable (:func:`~iamledger.domain.policy.wildcards.compile_arn_pattern`): a policy that lists
    ``"*"`` beside a variable ARN (``NotResource``, ``ArnLike``) means every ARN with or without the variable."""
    if parts == ("*",):
        return ".*"
    out: list[str] = []
    colons = 0
    for part in parts:
        if isinstance(part, Literal):
            out.append(re.escape(part.text))
            continue
        for char in part:
            head = colons < ARN_PARTS - 1
            if char == ":" and head:
                colons += 1
                out.append(":")
            elif char == "*":
                out.append("[^:]*" if head else ".*")
            elif char == "?":
                out.append("[^:]" if head else ".")
            else:
                out.append(re.escape(char))
    return "".join(out) if colons == ARN_PARTS - 1 else None


@lru_cache(maxsize=8192)
def compiled(regex: str) -> re.Pattern[str]:
    """A cached compiled ``regex`` (``DOTALL``)."""
    return re.compile(regex, re.DOTALL)
