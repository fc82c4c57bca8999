"""Hypothesis strategies for valid policy documents and requests over a small vocabulary (so that matches happen)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "s3:Get*",
    "s3:*",
    "iam:CreateUser",
    "iam:*User*",
    "ec2:Describe?nstances",
    "*",
]
REQUEST_ACTIONS = [
    "s3:GetObject",
    "s3:PutObject",
    "iam:CreateUser",
    "iam:DeleteUser",
    "ec2:DescribeInstances",
    "sqs:SendMessage",
]
RESOURCES = [
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:iam::*:user/*",
    "arn:aws:iam::111122223333:user/${aws:username}",
    "arn:aws:*:*:*:*",
]
REQUEST_RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::c/k", "arn:aws:iam::111122223333:user/alice", "*"]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"aws:username": "alice"}},
    {"StringNotEquals": {"aws:PrincipalTag/team": ["red", "blue"]}},
    {"StringLike": {"aws:userid": "AIDA*"}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"NumericLessThan": {"s3:max-keys": "10"}},
    {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
    {"Null": {"aws:TokenIssueTime": "true"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}},
    {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
]
CONTEXTS: list[dict[str, Any]] = [
    {},
    {"aws:username": "alice", "aws:SecureTransport": "true", "aws:SourceIp": "10.1.1.1"},
    {"aws:username": "bob", "aws:PrincipalTag/team": "red", "aws:TagKeys": ["a"], "s3:max-keys": "5"},
    {"aws:CurrentTime": "2024-01-01T00:00:00Z", "aws:MultiFactorAuthPresent": "false", "aws:TagKeys": ["c"]},
    {
        "aws:userid": "AIDAX",
        "aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice",
        "aws:TokenIssueTime": "2024-01-01T00:00:00Z",
    },
]


def one_or_many(values: list[str]) -> st.SearchStrategy[str | list[str]]:
    return st.one_of(st.sampled_from(values), st.lists(st.sampled_from(values), min_size=1, max_size=3))


@st.composite
def statements(draw: st.DrawFn, *, sid: str | None = None, effect: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    if sid:
        statement["Sid"] = sid
    statement["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = draw(one_or_many(ACTIONS))
    statement["NotResource" if draw(st.integers(0, 4)) == 0 else "Resource"] = draw(one_or_many(RESOURCES))
    if draw(st.booleans()):
        condition: dict[str, Any] = {}
        for block in draw(st.lists(st.sampled_from(CONDITIONS), min_size=1, max_size=2)):
            condition.update(block)
        statement["Condition"] = condition
    return statement


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 5))
    return {"Version": "2012-10-17", "Statement": [draw(statements(sid=f"S{index}")) for index in range(count)]}


requests = st.tuples(st.sampled_from(REQUEST_ACTIONS), st.sampled_from(REQUEST_RESOURCES), st.sampled_from(CONTEXTS))
