"""Arbitrary input to parse raises nothing but MalformedPolicyDocument (and never hangs)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iamledger.domain.policy import MalformedPolicyDocument, PolicyKind, parse

KEYS = st.sampled_from(
    [
        "Version",
        "Statement",
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
        "AWS",
        "Service",
        "StringEquals",
        "DateLessThan",
        "ForAnyValue:StringLike",
        "Null",
        "Id",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from(
        [
            "2012-10-17",
            "2008-10-17",
            "Allow",
            "Deny",
            "allow",
            "*",
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            "arn:aws:iam::1:user/x",
            "2024-01-01T00:00:00Z",
            "abc",
            "",
            "sts:AssumeRole",
            "123456789012",
        ]
    ),
    st.text(max_size=10),
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)),
    max_leaves=25,
)


def _parse_all_kinds(text: str) -> None:
    for kind in PolicyKind:
        with contextlib.suppress(MalformedPolicyDocument):
            parse(text, kind)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_arbitrary_json_values_raise_only_malformed_policy_document(value: Any):
    _parse_all_kinds(json.dumps(value))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_raises_only_malformed_policy_document(text: str):
    _parse_all_kinds(text)


def test_deep_nesting_is_a_syntax_error_not_a_recursion_error():
    text = "[" * 100000 + "]" * 100000
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse(text)
    assert raised.value.message == "Syntax errors in policy."
