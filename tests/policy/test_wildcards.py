"""Wildcard matching against reference implementations: fnmatch for globs, a per-segment model for ARNs."""

from __future__ import annotations

import fnmatch
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from iamledger.domain.policy.wildcards import compile_arn_pattern, compile_glob

ALPHABET = st.sampled_from(list("ab:/*?-.[]"))
TEXT = st.text(alphabet=st.sampled_from(list("ab:/-.[]")), max_size=8)
PATTERN = st.text(alphabet=ALPHABET, max_size=8)


def reference_glob(pattern: str, value: str) -> bool:
    """fnmatch with its `[...]` classes disabled: IAM globs know only `*` and `?`."""
    escaped = "".join(f"[{char}]" if char in "[]" else char for char in pattern)
    return fnmatch.fnmatchcase(value, escaped)


@settings(max_examples=300, deadline=None)
@given(PATTERN, TEXT)
def test_glob_agrees_with_fnmatch(pattern: str, value: str):
    assert reference_glob(pattern, value) == bool(compile_glob(pattern)(value))


def reference_arn(pattern: str, value: str) -> bool:
    """Match the six colon-separated parts one by one, the last one spanning further colons."""
    if pattern == "*":
        return True
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    if len(patterns) < 6 or len(values) < 6:
        return False
    return all(reference_glob(p, v) for p, v in zip(patterns, values, strict=True))


ARN_PART = st.text(alphabet=st.sampled_from(list("ab*?/")), max_size=3)
ARN_VALUE_PART = st.text(alphabet=st.sampled_from(list("ab/")), max_size=3)


@settings(max_examples=300, deadline=None)
@given(st.lists(ARN_PART, min_size=6, max_size=7), st.lists(ARN_VALUE_PART, min_size=6, max_size=7))
def test_arn_pattern_agrees_with_a_per_segment_reference(pattern_parts: list[str], value_parts: list[str]):
    pattern, value = ":".join(pattern_parts), ":".join(value_parts)
    assert reference_arn(pattern, value) == bool(compile_arn_pattern(pattern)(value))


def test_star_in_the_region_part_does_not_span_the_account_part():
    assert not compile_arn_pattern("arn:aws:sqs:*:q")("arn:aws:sqs:us-east-1:111122223333:q")


def test_star_in_the_resource_part_spans_slashes_and_colons():
    matcher = compile_arn_pattern("arn:aws:logs:*:*:log-group:*")
    assert matcher("arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s")


def test_glob_special_regex_characters_are_literal():
    assert [True, False] == [bool(compile_glob("a.b+(c)")(v)) for v in ("a.b+(c)", "axb+(c)")]


def test_question_mark_is_exactly_one_character():
    matcher = compile_glob("file?.txt")
    assert [True, False, False] == [bool(matcher(v)) for v in ("file1.txt", "file.txt", "file12.txt")]


def test_glob_handles_newlines():
    assert compile_glob("a*b")("a\nb")
    assert re.fullmatch("a.*b", "a\nb", re.DOTALL)
