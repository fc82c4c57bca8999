"""Wildcard matching: ``*`` matches any run of characters (also empty), ``?`` exactly one character.

Two flavours: a plain glob (``StringLike``, action names) and an ARN pattern (``Resource``, ``ArnLike``) whose six
colon-separated parts are matched separately, so a wildcard in the first five parts never spans a ``:`` while
one in the last part (the resource) spans ``/`` and ``:``. Matchers are compiled once and cached; each is a plain
callable returning a truthy value on a match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

Matcher = Callable[[str], object]
"""A compiled pattern: called with a value, returns something truthy when the value matches."""

ARN_PARTS = 6


def glob_regex(pattern: str, *, any_char: str = ".") -> str:
    """The regular expression text of a glob, where ``*``/``?`` match ``any_char`` (``.`` or ``[^:]``)."""
    out: list[str] = []
    for char in pattern:
        if char == "*":
            out.append(f"{any_char}*")
        elif char == "?":
            out.append(any_char)
        else:
            out.append(re.escape(char))
    return "".join(out)


def _always(_value: str) -> bool:
    return True


def _never(_value: str) -> bool:
    return False


@lru_cache(maxsize=8192)
def compile_glob(pattern: str) -> Matcher:
    """A case-sensitive matcher for a glob (lowercase both sides first for case-insensitive matching)."""
    if pattern == "*":
        return _always
    if "*" not in pattern and "?" not in pattern:
        return pattern.__eq__
    body = pattern[:-1]
    if pattern.endswith("*") and "*" not in body and "?" not in body:
        return lambda value: value.startswith(body)
    return re.compile(glob_regex(pattern), re.DOTALL).fullmatch


def split_arn(value: str) -> list[str]:
    """The parts of an ARN: ``arn``, partition, service, region, account and the resource (which may hold ``:``)."""
    return value.split(":", ARN_PARTS - 1)


def arn_regex(pattern: str) -> str | None:
    """The regular expression text of an ARN pattern, or ``None`` if it has fewer than six parts."""
    parts = split_arn(pattern)
    if len(parts) < ARN_PARTS:
        return None
    head = [glob_regex(part, any_char="[^:]") for part in parts[:-1]]
    return ":".join([*head, glob_regex(parts[-1])])


@lru_cache(maxsize=8192)
def compile_arn_pattern(pattern: str) -> Matcher:
    """A case-sensitive matcher for an ARN pattern. ``"*"`` matches everything; a pattern with fewer than six
    colon-separated parts matches nothing."""
    if pattern == "*":
        return _always
    regex = arn_regex(pattern)
    if regex is None:
        return _never
    if "*" not in pattern and "?" not in pattern:
        return pattern.__eq__
    return re.compile(regex, re.DOTALL).fullmatch
