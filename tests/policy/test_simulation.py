"""simulate_custom_policy returns boto3's SimulateCustomPolicy response shape."""

from __future__ import annotations

import json

import pytest

from iamledger.domain.policy import InvalidInput, MalformedPolicyDocument, simulate_custom_policy

DYNAMO = (
    '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*",'
    '"Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}'
)
CURRENT_TIME = [
    {"ContextKeyName": "aws:CurrentTime", "ContextKeyValues": ["2019-04-25T11:00:00Z"], "ContextKeyType": "date"}
]


def test_the_aws_cli_documentation_example():
    response = simulate_custom_policy(
        PolicyInputList=[DYNAMO], ActionNames=["dynamodb:CreateBackup"], ContextEntries=CURRENT_TIME
    )
    assert {
        "EvaluationResults": [
            {
                "EvalActionName": "dynamodb:CreateBackup",
                "EvalResourceName": "*",
                "EvalDecision": "allowed",
                "MatchedStatements": [
                    {
                        "SourcePolicyId": "PolicyInputList.1",
                        "SourcePolicyType": "IAM Policy",
                        "StartPosition": {"Line": 1, "Column": 38},
                        "EndPosition": {"Line": 1, "Column": 167},
                    }
                ],
                "MissingContextValues": [],
            }
        ],
        "IsTruncated": False,
    } == response


def test_missing_context_values_are_reported():
    result = simulate_custom_policy(PolicyInputList=[DYNAMO], ActionNames=["dynamodb:CreateBackup"])[
        "EvaluationResults"
    ][0]
    assert ("implicitDeny", ["aws:CurrentTime"]) == (result["EvalDecision"], result["MissingContextValues"])


def test_resource_arns_add_resource_specific_results():
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::a/*"}],
        }
    )
    result = simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::a/k", "arn:aws:s3:::b/k"]
    )["EvaluationResults"][0]
    assert ("*", "implicitDeny", {}) == (
        result["EvalResourceName"],
        result["EvalDecision"],
        result["EvalDecisionDetails"],
    )
    assert [("arn:aws:s3:::a/k", "allowed"), ("arn:aws:s3:::b/k", "implicitDeny")] == [
        (r["EvalResourceName"], r["EvalResourceDecision"]) for r in result["ResourceSpecificResults"]
    ]


def test_one_result_per_action():
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}
    )
    response = simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject", "s3:PutObject"])
    assert [("s3:GetObject", "allowed"), ("s3:PutObject", "implicitDeny")] == [
        (r["EvalActionName"], r["EvalDecision"]) for r in response["EvaluationResults"]
    ]


def test_resource_policy_statements_are_reported_as_resource_policy():
    bucket = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Deny",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:DeleteObject",
                    "Resource": "arn:aws:s3:::b/*",
                }
            ],
        }
    )
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    result = simulate_custom_policy(
        PolicyInputList=[allow],
        ActionNames=["s3:DeleteObject"],
        ResourceArns=["arn:aws:s3:::b/k"],
        ResourcePolicy=bucket,
        CallerArn="arn:aws:iam::111122223333:user/alice",
    )["EvaluationResults"][0]
    assert ("explicitDeny", [("ResourcePolicy", "Resource Policy")]) == (
        result["EvalDecision"],
        [(s["SourcePolicyId"], s["SourcePolicyType"]) for s in result["MatchedStatements"]],
    )


def test_boundary_decision_detail():
    allow = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    boundary = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    results = simulate_custom_policy(
        PolicyInputList=[allow],
        PermissionsBoundaryPolicyInputList=[boundary],
        ActionNames=["s3:GetObject", "ec2:RunInstances"],
    )["EvaluationResults"]
    assert [("allowed", True), ("implicitDeny", False)] == [
        (r["EvalDecision"], r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"]) for r in results
    ]


def test_cross_account_resource_policy_reports_each_side():
    bucket = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "111122223333"},
                    "Action": "s3:GetObject",
                    "Resource": "arn:aws:s3:::b/*",
                }
            ],
        }
    )
    result = simulate_custom_policy(
        PolicyInputList=[
            json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        ],
        ActionNames=["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::b/k"],
        ResourcePolicy=bucket,
        CallerArn="arn:aws:iam::111122223333:user/alice",
        ResourceOwner="arn:aws:iam::444455556666:root",
    )["EvaluationResults"][0]
    assert ("allowed", {"IAM Policy": "allowed", "Resource Policy": "allowed"}) == (
        result["EvalDecision"],
        result["EvalDecisionDetails"],
    )


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"PolicyInputList": [DYNAMO], "ActionNames": ["dynamodb:*"]}, InvalidInput),
        ({"PolicyInputList": [DYNAMO], "ActionNames": []}, InvalidInput),
        ({"PolicyInputList": [DYNAMO], "ActionNames": ["s3:GetObject"], "ResourcePolicy": DYNAMO}, InvalidInput),
        (
            {
                "PolicyInputList": [DYNAMO],
                "ActionNames": ["s3:GetObject"],
                "PermissionsBoundaryPolicyInputList": [DYNAMO, DYNAMO],
            },
            InvalidInput,
        ),
        (
            {
                "PolicyInputList": [DYNAMO],
                "ActionNames": ["s3:GetObject"],
                "ContextEntries": [{"ContextKeyName": "aws:x", "ContextKeyValues": ["1"], "ContextKeyType": "float"}],
            },
            InvalidInput,
        ),
        ({"PolicyInputList": ["{"], "ActionNames": ["s3:GetObject"]}, MalformedPolicyDocument),
        (
            {
                "PolicyInputList": [DYNAMO],
                "ActionNames": ["s3:GetObject"],
                "CallerArn": "arn:aws:sts::111122223333:assumed-role/r/s",
                "ResourcePolicy": "{}",
            },
            InvalidInput,
        ),
    ],
    ids=[
        "wildcard action",
        "no actions",
        "resource policy without caller",
        "two boundaries",
        "bad context type",
        "malformed policy",
        "session caller",
    ],
)
def test_invalid_input_raises_aws_errors(kwargs: dict[str, object], error: type[Exception]):
    with pytest.raises(error) as raised:
        simulate_custom_policy(**kwargs)  # type: ignore[arg-type]
    assert raised.value.code in {"InvalidInput", "MalformedPolicyDocument"}  # type: ignore[attr-defined]
