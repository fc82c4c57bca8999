"""Parsing: AWS's MalformedPolicyDocument messages per policy kind, JSON pointers, positions, sizes, rendering."""

from __future__ import annotations

import json

import pytest

from iamledger.domain.policy import (
    MalformedPolicyDocument,
    PolicyKind,
    PolicySizeExceeded,
    Position,
    check_document,
    managed_policy_limit,
    parse,
    policy_size,
    render,
    trust_policy_limit,
    user_inline_limit,
)

V = "2012-10-17"


def _doc(statement: object, version: str | None = V) -> str:
    document: dict[str, object] = {"Statement": statement}
    if version is not None:
        document = {"Version": version, **document}
    return json.dumps(document)


ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}

ERRORS = [
    ("not JSON", "{", PolicyKind.IDENTITY, "Syntax errors in policy.", ""),
    ("trailing comma", '{"Version":"2012-10-17","Statement":[],}', PolicyKind.IDENTITY, "Syntax errors in policy.", ""),
    ("a JSON array", "[]", PolicyKind.IDENTITY, "Syntax errors in policy.", ""),
    (
        "unknown top element",
        json.dumps({"Version": V, "Statement": ALLOW, "Foo": 1}),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Foo",
    ),
    ("unknown version", _doc(ALLOW, "2020-01-01"), PolicyKind.IDENTITY, "Syntax errors in policy.", "/Version"),
    ("empty statement list", _doc([]), PolicyKind.IDENTITY, "Syntax errors in policy.", "/Statement"),
    ("missing Statement", json.dumps({"Version": V}), PolicyKind.IDENTITY, "Syntax errors in policy.", "/Statement"),
    (
        "unknown statement element",
        _doc([{**ALLOW, "Actions": "x:y"}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/Actions",
    ),
    (
        "Action and NotAction",
        _doc([{**ALLOW, "NotAction": "s3:*"}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/NotAction",
    ),
    (
        "missing Effect",
        _doc([{"Action": "s3:*", "Resource": "*"}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/Effect",
    ),
    (
        "Effect not allow/deny",
        _doc([{**ALLOW, "Effect": "Permit"}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/Effect",
    ),
    (
        "Action a number",
        _doc([{**ALLOW, "Action": 3}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/Action",
    ),
    (
        "unknown condition operator",
        _doc([{**ALLOW, "Condition": {"StringEqualz": {"a:b": "c"}}}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/Condition/StringEqualz",
    ),
    (
        "condition value an object",
        _doc([{**ALLOW, "Condition": {"StringEquals": {"a:b": {"c": 1}}}}]),
        PolicyKind.IDENTITY,
        "Syntax errors in policy.",
        "/Statement/0/Condition/StringEquals/a:b",
    ),
    (
        "identity policy without Version",
        _doc(ALLOW, None),
        PolicyKind.IDENTITY,
        "Policy document must be version 2012-10-17 or greater.",
        "/Version",
    ),
    (
        "identity policy with 2008-10-17",
        _doc(ALLOW, "2008-10-17"),
        PolicyKind.IDENTITY,
        "Policy document must be version 2012-10-17 or greater.",
        "/Version",
    ),
    (
        "identity policy with a Principal",
        _doc([{**ALLOW, "Principal": "*"}]),
        PolicyKind.IDENTITY,
        "Policy document should not specify a principal.",
        "/Statement/0/Principal",
    ),
    (
        "identity policy with NotPrincipal",
        _doc([{**ALLOW, "NotPrincipal": {"AWS": "123456789012"}}]),
        PolicyKind.IDENTITY,
        "Policy document should not specify a principal.",
        "/Statement/0/NotPrincipal",
    ),
    (
        "lower-case effect fails legacy parsing",
        _doc([{**ALLOW, "Effect": "allow"}]),
        PolicyKind.IDENTITY,
        "The policy failed legacy parsing",
        "/Statement/0/Effect",
    ),
    (
        "bad date fails legacy parsing",
        _doc([{**ALLOW, "Condition": {"DateLessThan": {"aws:CurrentTime": "2024-13-01"}}}]),
        PolicyKind.IDENTITY,
        "The policy failed legacy parsing",
        "/Statement/0/Condition/DateLessThan/aws:CurrentTime",
    ),
    (
        "duplicate Sid",
        _doc([{**ALLOW, "Sid": "A"}, {**ALLOW, "Sid": "A"}]),
        PolicyKind.IDENTITY,
        "Statement IDs (SID) in a single policy must be unique.",
        "/Statement/1/Sid",
    ),
    (
        "non-alphanumeric Sid",
        _doc([{**ALLOW, "Sid": "my-sid"}]),
        PolicyKind.IDENTITY,
        (
            "Statement IDs (SID) must be alpha-numeric. "
            "Check that your input satisfies the regular expression [0-9A-Za-z]*"
        ),
        "/Statement/0/Sid",
    ),
    (
        "no actions",
        _doc([{"Effect": "Allow", "Resource": "*"}]),
        PolicyKind.IDENTITY,
        "Policy statement must contain actions.",
        "/Statement/0",
    ),
    (
        "empty action list",
        _doc([{**ALLOW, "Action": []}]),
        PolicyKind.IDENTITY,
        "Policy statement must contain actions.",
        "/Statement/0",
    ),
    (
        "resource not an ARN",
        _doc([{**ALLOW, "Resource": "bucket"}]),
        PolicyKind.IDENTITY,
        'Resource bucket must be in ARN format or "*".',
        "/Statement/0/Resource",
    ),
    (
        "IAM resource with a region",
        _doc([{**ALLOW, "Resource": "arn:aws:iam:us-east-1:123456789012:user/x"}]),
        PolicyKind.IDENTITY,
        "IAM resource arn:aws:iam:us-east-1:123456789012:user/x cannot contain region information.",
        "/Statement/0/Resource",
    ),
    (
        "bad partition",
        _doc([{**ALLOW, "Resource": "arn:aws-foo:s3:::b"}]),
        PolicyKind.IDENTITY,
        'Partition "aws-foo" is not valid for resource "arn:aws-foo:s3:::b".',
        "/Statement/0/Resource",
    ),
    (
        "a bad partition is reported rather than legacy parsing of the same resource",
        _doc([{**ALLOW, "Resource": "aws:s3:::example_bucket"}]),
        PolicyKind.IDENTITY,
        'Partition "s3" is not valid for resource "arn:s3:::example_bucket:*".',
        "/Statement/0/Resource",
    ),
    (
        "of several bad resources, the first in sorted order; legacy parsing stops at a format error",
        _doc([{**ALLOW, "Resource": ["arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"]}]),
        PolicyKind.IDENTITY,
        'Partition "error" is not valid for resource "arn:error:s3:::example_bucket".',
        "/Statement/0/Resource",
    ),
    (
        "legacy parsing still fails a resource before any format error",
        _doc([{**ALLOW, "Resource": "arn:aws:s3::b"}, {**ALLOW, "Resource": "arn:aws-foo:s3:::b"}]),
        PolicyKind.IDENTITY,
        "The policy failed legacy parsing",
        "/Statement/0/Resource",
    ),
    (
        "action without vendor",
        _doc([{**ALLOW, "Action": "GetObject"}]),
        PolicyKind.IDENTITY,
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        "/Statement/0/Action",
    ),
    (
        "action with two colons",
        _doc([{**ALLOW, "Action": "s3:Get:Object"}]),
        PolicyKind.IDENTITY,
        "Actions/Condition can contain only one colon.",
        "/Statement/0/Action",
    ),
    (
        "bad vendor",
        _doc([{**ALLOW, "Action": "s_3:GetObject"}]),
        PolicyKind.IDENTITY,
        "Vendor s_3 is not valid",
        "/Statement/0/Action",
    ),
    (
        "no resources",
        _doc([{"Effect": "Allow", "Action": "s3:*"}]),
        PolicyKind.IDENTITY,
        "Policy statement must contain resources.",
        "/Statement/0",
    ),
    (
        "resource policy without Principal",
        _doc([ALLOW]),
        PolicyKind.RESOURCE,
        "Missing required field Principal",
        "/Statement/0",
    ),
    (
        "partial principal wildcard",
        _doc([{**ALLOW, "Principal": {"AWS": "arn:aws:iam::123456789012:user/*"}}]),
        PolicyKind.RESOURCE,
        'Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:user/*"',
        "/Statement/0/Principal/AWS",
    ),
    (
        "unknown principal type",
        _doc([{**ALLOW, "Principal": {"Group": "x"}}]),
        PolicyKind.RESOURCE,
        "Syntax errors in policy.",
        "/Statement/0/Principal/Group",
    ),
    (
        "trust policy with Resource",
        _doc(
            [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"Service": "ec2.amazonaws.com"},
                    "Resource": "*",
                }
            ]
        ),
        PolicyKind.TRUST,
        "Has prohibited field Resource.",
        "/Statement/0/Resource",
    ),
    (
        "trust policy with a non-STS action",
        _doc([{"Effect": "Allow", "Action": "s3:GetObject", "Principal": {"AWS": "123456789012"}}]),
        PolicyKind.TRUST,
        (
            "Trust Policy statement actions can only be sts:AssumeRole, sts:AssumeRoleWithSAML, "
            "and sts:AssumeRoleWithWebIdentity"
        ),
        "/Statement/0/Action",
    ),
    (
        "trust policy with NotPrincipal",
        _doc([{"Effect": "Deny", "Action": "sts:AssumeRole", "NotPrincipal": {"AWS": "123456789012"}}]),
        PolicyKind.TRUST,
        "Has prohibited field NotPrincipal.",
        "/Statement/0/NotPrincipal",
    ),
    (
        "trust policy without Principal",
        _doc([{"Effect": "Allow", "Action": "sts:AssumeRole"}]),
        PolicyKind.TRUST,
        "Missing required field Principal",
        "/Statement/0",
    ),
]


@pytest.mark.parametrize(("text", "kind", "message", "pointer"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_invalid_document_is_refused_with_aws_message_and_pointer(
    text: str, kind: PolicyKind, message: str, pointer: str
):
    with pytest.raises(MalformedPolicyDocument) as raised:
        parse(text, kind)
    assert (message, pointer, "MalformedPolicyDocument") == (
        raised.value.message,
        raised.value.pointer,
        raised.value.code,
    )


@pytest.mark.parametrize(("text", "kind", "message", "pointer"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_checking_a_document_refuses_what_parsing_refuses(text: str, kind: PolicyKind, message: str, pointer: str):
    with pytest.raises(MalformedPolicyDocument) as raised:
        check_document(text, kind)
    assert (raised.value.message, raised.value.pointer) == (message, pointer)


def test_strings_with_and_without_escapes_read_as_json_reads_them():
    value = {"Sid": 'a\\b"c\u00e9\t/', "Plain": "s3:Get*", '\u00e9"': "x"}
    text = json.dumps({"Version": V, "Statement": {**ALLOW, "Sid": "ok"}, "Id": json.dumps(value)})
    assert parse(text).id == json.loads(text)["Id"]
    escaped = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get\\u002a","Resource":"*"}}'
    assert parse(escaped) == parse(_doc(ALLOW).replace("s3:GetObject", "s3:Get*"))


VALID = [
    ("identity", _doc(ALLOW), PolicyKind.IDENTITY),
    ("statement as a list", _doc([ALLOW, {**ALLOW, "Effect": "Deny"}]), PolicyKind.IDENTITY),
    ("resource policy without Version", _doc([{**ALLOW, "Principal": "*"}], None), PolicyKind.RESOURCE),
    (
        "resource policy 2008",
        _doc([{**ALLOW, "Principal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:root"]}}], "2008-10-17"),
        PolicyKind.RESOURCE,
    ),
    (
        "trust policy for services",
        _doc(
            [
                {
                    "Effect": "Allow",
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Principal": {"Service": ["ec2.amazonaws.com", "lambda.amazonaws.com"]},
                }
            ]
        ),
        PolicyKind.TRUST,
    ),
    (
        "trust policy with an STS wildcard",
        _doc([{"Effect": "Allow", "Action": "sts:AssumeRole*", "Principal": {"AWS": "AROADBQP57FF2AEXAMPLE"}}]),
        PolicyKind.TRUST,
    ),
    (
        "condition with a JSON boolean and number",
        _doc([{**ALLOW, "Condition": {"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"s3:max-keys": 10}}}]),
        PolicyKind.IDENTITY,
    ),
    (
        "epoch date",
        _doc([{**ALLOW, "Condition": {"DateLessThan": {"aws:EpochTime": "1700000000"}}}]),
        PolicyKind.IDENTITY,
    ),
    ("Id element", json.dumps({"Version": V, "Id": "my-policy", "Statement": ALLOW}), PolicyKind.IDENTITY),
    (
        "repeated key keeps the last value",
        '{"Version":"2012-10-17","Statement":{"Effect":"Deny","Effect":"Allow","Action":"s3:*","Resource":"*"}}',
        PolicyKind.IDENTITY,
    ),
]


@pytest.mark.parametrize(("text", "kind"), [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_valid_document_parses_and_renders_back_to_an_equal_document(text: str, kind: PolicyKind):
    document = parse(text, kind)
    assert document == parse(render(document), kind)
    assert document == parse(render(document, indent=None), kind)
    check_document(text, kind)


def test_condition_scalars_become_text():
    document = parse(
        _doc(
            [{**ALLOW, "Condition": {"Bool": {"aws:SecureTransport": True}, "NumericLessThan": {"s3:max-keys": 1.50}}}]
        )
    )
    assert [("Bool", ("true",)), ("NumericLessThan", ("1.5",))] == [
        (block.operator, block.entries[0].values) for block in document.statements[0].condition
    ]


# StartPosition/EndPosition as AWS's simulator reports them (AWS CLI docs and published simulator outputs).
POSITIONS = [
    (
        "object-form Statement (aws iam simulate-custom-policy example)",
        (
            '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":'
            '{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
        ),
        PolicyKind.IDENTITY,
        [(Position(1, 38), Position(1, 167))],
    ),
    (
        "json.dumps formatting",
        json.dumps(
            {
                "Version": V,
                "Statement": [
                    {
                        "Sid": "s3",
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:DeleteObject"],
                        "Resource": ["arn:aws:s3:::tims-fancy-bucket/only-here/*"],
                    }
                ],
            }
        ),
        PolicyKind.IDENTITY,
        [(Position(1, 41), Position(1, 180))],
    ),
    (
        "second statement starts where the first ends",
        json.dumps(
            {
                "Version": V,
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "*",
                        "Resource": ["arn:aws:s3:::tims-fancy-bucket/*", "arn:aws:s3:::tims-fancy-bucket"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    },
                    {
                        "Sid": "DenyTimDelete",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:DeleteObject",
                        "Resource": "arn:aws:s3:::tims-fancy-bucket/*",
                        "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::112233445566:role/tims-test-role"}},
                    },
                ],
            },
            separators=(",", ":"),
        ),
        PolicyKind.RESOURCE,
        [(Position(1, 38), Position(1, 248)), (Position(1, 248), Position(1, 470))],
    ),
    (
        "multi-line, two-space indent (AdministratorAccess)",
        (
            '{\n  "Version": "2012-10-17",\n  "Statement": [\n    {\n      "Effect": "Allow",\n      "Action": "*",\n'
            '      "Resource": "*"\n    }\n  ]\n}'
        ),
        PolicyKind.IDENTITY,
        [(Position(3, 17), Position(8, 6))],
    ),
]


@pytest.mark.parametrize(("text", "kind", "expected"), [p[1:] for p in POSITIONS], ids=[p[0] for p in POSITIONS])
def test_statement_positions_match_what_aws_reports(
    text: str, kind: PolicyKind, expected: list[tuple[Position, Position]]
):
    assert expected == [(s.start, s.end) for s in parse(text, kind).statements]


def test_policy_size_does_not_count_whitespace_between_tokens():
    compact = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}'
    spaced = json.dumps(json.loads(compact), indent=8)
    assert (len(compact), len(compact)) == (policy_size(compact), policy_size(spaced))


def test_whitespace_inside_strings_counts_toward_the_size():
    assert policy_size('{"Sid": "a b"}') == len('{"Sid":"a b"}')


def test_managed_policy_over_6144_characters_is_refused():
    actions = [f"s3:Action{i:05d}" for i in range(400)]
    text = _doc([{"Effect": "Allow", "Action": actions, "Resource": "*"}])
    with pytest.raises(PolicySizeExceeded) as raised:
        parse(text, max_size=managed_policy_limit())
    assert ("LimitExceeded", "Cannot exceed quota for PolicySize: 6144") == (raised.value.code, raised.value.message)


def test_size_limit_helpers_give_the_quotas_of_reference_section_6_4():
    assert [2048, 6144, 2048, 4096] == [
        user_inline_limit("bob").chars,
        managed_policy_limit().chars,
        trust_policy_limit().chars,
        trust_policy_limit(4096).chars,
    ]


def test_a_document_within_the_limit_parses():
    assert parse(_doc(ALLOW), max_size=100).statements[0].action == ("s3:GetObject",)
