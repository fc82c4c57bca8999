"""The simulate cases of the corpus again, through `iamledger iam simulate-custom-policy` as a user types it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.clirunner import run
from tests.policy.casefile import load_cases, simulate_case

SIMULATE_CASES = [case for case in load_cases() if case.data.get("simulate")]


def _cli_args(data: dict[str, Any]) -> list[str]:
    """The command line for a case: the same parameters the library call gets, as aws CLI options."""
    principal = data["principal"]
    request = data["request"]
    policies = data.get("policies", [])
    args = ["iam", "simulate-custom-policy", "--action-names", request["action"]]
    identity = [json.dumps(p["document"]) for p in policies if p["role"] == "identity"]
    args += ["--policy-input-list", *(identity or ["[]"])]  # an empty list only JSON can say
    args += ["--resource-arns", request["resource"]]
    boundary = [json.dumps(p["document"]) for p in policies if p["role"] == "boundary"]
    if boundary:
        args += ["--permissions-boundary-policy-input-list", *boundary]
    resource = [json.dumps(p["document"]) for p in policies if p["role"] == "resource"]
    if resource:
        caller = f"arn:aws:iam::{principal['account']}:user{principal.get('path', '/')}{principal['name']}"
        args += ["--resource-policy", resource[0], "--caller-arn", caller]
    if request.get("resource_account"):
        args += ["--resource-owner", f"arn:aws:iam::{request['resource_account']}:root"]
    types = request.get("context_types", {})
    entries = [
        {
            "ContextKeyName": key,
            "ContextKeyValues": value if isinstance(value, list) else [value],
            "ContextKeyType": types.get(key, "stringList" if isinstance(value, list) else "string"),
        }
        for key, value in request.get("context", {}).items()
    ]
    if entries:
        args += ["--context-entries", json.dumps(entries)]
    return args


@pytest.mark.parametrize("case", SIMULATE_CASES, ids=[c.id for c in SIMULATE_CASES])
def test_the_cli_gives_the_decision_of_the_case(capsys, case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no store anywhere: the simulator needs none
    result = run(capsys, *_cli_args(case.data))
    assert 0 == result.exit_code, result.stderr
    printed = json.loads(result.stdout)
    (evaluation,) = printed["EvaluationResults"]
    assert case.data["expect"]["decision"] == evaluation["EvalDecision"]
    library = json.loads(json.dumps(simulate_case(case.data), default=str))
    del library["IsTruncated"]  # the aws CLI pages through and drops the paging fields
    assert library == printed


def test_context_entries_in_the_aws_cli_shorthand(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NeedsMfa",
                "Effect": "Allow",
                "Action": "ec2:StopInstances",
                "Resource": "*",
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            }
        ],
    }
    base = ["iam", "simulate-custom-policy", "--policy-input-list", json.dumps(policy)]
    base += ["--action-names", "ec2:StopInstances"]
    with_mfa = run(
        capsys,
        *base,
        "--context-entries",
        "ContextKeyName=aws:MultiFactorAuthPresent,ContextKeyValues=true,ContextKeyType=boolean",
    )
    without = run(capsys, *base)
    assert "allowed" == json.loads(with_mfa.stdout)["EvaluationResults"][0]["EvalDecision"]
    evaluation = json.loads(without.stdout)["EvaluationResults"][0]
    assert "implicitDeny" == evaluation["EvalDecision"]
    assert ["aws:MultiFactorAuthPresent"] == evaluation["MissingContextValues"]


def test_a_malformed_policy_is_reported_as_aws_does(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(capsys, "iam", "simulate-custom-policy", "--policy-input-list", "{", "--action-names", "s3:GetObject")
    assert 254 == result.exit_code
    assert "An error occurred (MalformedPolicyDocument) when calling the SimulateCustomPolicy operation:" in (
        result.stderr
    )
