"""Tags on users, roles, managed policies and instance profiles: at most 50, keys unique (case-insensitively for
users and roles), keys and values not starting with ``aws:``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from iamledger.domain.errors import InvalidInputError, LimitExceededError

MAX_TAGS: Final = 50
RESERVED_PREFIX: Final = "aws:"

Tag = tuple[str, str]


def parse_tags(tags: Iterable[Mapping[str, str]] | None) -> list[Tag]:
    """``[{"Key": k, "Value": v}, ...]`` as ``[(k, v), ...]``, refusing duplicate and reserved keys."""
    parsed = [(str(t["Key"]), str(t.get("Value", ""))) for t in tags or ()]
    keys = [k.casefold() for k, _ in parsed]
    if len(keys) != len(set(keys)):
        raise InvalidInputError("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
    for key, _ in parsed:
        if key.lower().startswith(RESERVED_PREFIX):
            raise InvalidInputError(f"User-defined tag keys can't start with '{RESERVED_PREFIX}': {key}")
    return parsed


def merge_tags(current: Sequence[Tag], new: Sequence[Tag], *, case_insensitive_keys: bool) -> list[Tag]:
    """``current`` with ``new`` added; a new value replaces the old one of the same key. At most 50 tags."""

    def fold(key: str) -> str:
        return key.casefold() if case_insensitive_keys else key

    merged = {fold(k): (k, v) for k, v in current}
    for key, value in new:
        merged[fold(key)] = (key, value)
    if len(merged) > MAX_TAGS:
        raise LimitExceededError(f"The number of tags has reached the maximum limit of {MAX_TAGS}.")
    return list(merged.values())


def remove_tags(current: Sequence[Tag], keys: Iterable[str], *, case_insensitive_keys: bool) -> list[Tag]:
    """``current`` without the tags of ``keys`` (unknown keys are ignored, as AWS does)."""

    def fold(key: str) -> str:
        return key.casefold() if case_insensitive_keys else key

    gone = {fold(k) for k in keys}
    return [(k, v) for k, v in current if fold(k) not in gone]
