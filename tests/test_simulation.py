"""The policy simulator over stored principals: effective policies and SimulatePrincipalPolicy."""

from __future__ import annotations

import json

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import IdentityStoreError, NoSuchEntityError
from tests.clirunner import run
from tests.shapes import assert_output_shape

ACCOUNT = "123456789012"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"


def _doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str, resource: str = "*", sid: str | None = None) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    return statement | ({"Sid": sid} if sid else {})


def _decisions(result: dict) -> dict[str, str]:
    return {r["EvalActionName"]: r["EvalDecision"] for r in result["EvaluationResults"]}


@pytest.fixture
def alice(iam: IdentityStore) -> IdentityStore:
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="own", PolicyDocument=_doc(_allow("s3:GetObject", sid="Own")))
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.put_group_policy(GroupName="devs", PolicyName="grp", PolicyDocument=_doc(_allow("ec2:Describe*", sid="Grp")))
    iam.attach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    return iam


def test_effective_policies_of_a_user_include_its_groups(alice: IdentityStore):
    found = alice.effective_policies(PolicySourceArn=USER_ARN)
    assert [
        ("identity", "own", "user", None),
        ("identity", "grp", "group", "devs"),
        ("identity", "IAMReadOnlyAccess", "aws-managed", "devs"),
    ] == [(p.role, p.source_id, p.source_type, p.via) for p in found]


def test_simulate_principal_policy_sees_user_and_group_policies(alice: IdentityStore):
    result = alice.simulate_principal_policy(
        PolicySourceArn=USER_ARN,
        ActionNames=["s3:GetObject", "ec2:DescribeInstances", "iam:GetUser", "iam:CreateUser", "s3:PutObject"],
    )
    assert_output_shape("iam", "SimulatePrincipalPolicy", result)
    assert {
        "s3:GetObject": "allowed",
        "ec2:DescribeInstances": "allowed",
        "iam:GetUser": "allowed",
        "iam:CreateUser": "implicitDeny",
        "s3:PutObject": "implicitDeny",
    } == _decisions(result)
    (get,) = [r for r in result["EvaluationResults"] if r["EvalActionName"] == "s3:GetObject"]
    assert [("own", "user")] == [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in get["MatchedStatements"]]


def test_a_boundary_caps_what_the_simulation_allows(alice: IdentityStore):
    alice.put_user_permissions_boundary(
        UserName="alice", PermissionsBoundary="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )
    result = alice.simulate_principal_policy(PolicySourceArn=USER_ARN, ActionNames=["s3:GetObject", "iam:GetUser"])
    assert {"s3:GetObject": "implicitDeny", "iam:GetUser": "allowed"} == _decisions(result)
    denied = result["EvaluationResults"][0]
    assert {"AllowedByPermissionsBoundary": False} == denied["PermissionsBoundaryDecisionDetail"]


def test_an_explicit_deny_from_a_group_wins(alice: IdentityStore):
    deny = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Sid": "NoS3"}
    alice.put_group_policy(GroupName="devs", PolicyName="deny", PolicyDocument=_doc(deny))
    result = alice.simulate_principal_policy(PolicySourceArn=USER_ARN, ActionNames=["s3:GetObject"])
    assert {"s3:GetObject": "explicitDeny"} == _decisions(result)


def test_extra_policies_and_a_replacement_boundary_join_the_simulation(alice: IdentityStore):
    result = alice.simulate_principal_policy(
        PolicySourceArn=USER_ARN,
        ActionNames=["sqs:SendMessage", "s3:GetObject"],
        PolicyInputList=[_doc(_allow("sqs:*"))],
        PermissionsBoundaryPolicyInputList=[_doc(_allow("sqs:*"))],
    )
    assert {"sqs:SendMessage": "allowed", "s3:GetObject": "implicitDeny"} == _decisions(result)


def test_detaching_a_policy_changes_the_next_simulation(alice: IdentityStore):
    before = alice.simulate_principal_policy(PolicySourceArn=USER_ARN, ActionNames=["iam:GetUser"])
    alice.detach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    after = alice.simulate_principal_policy(PolicySourceArn=USER_ARN, ActionNames=["iam:GetUser"])
    assert ("allowed", "implicitDeny") == (_decisions(before)["iam:GetUser"], _decisions(after)["iam:GetUser"])


def test_simulating_a_group_uses_its_policies(alice: IdentityStore):
    result = alice.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:group/devs", ActionNames=["ec2:DescribeVpcs", "s3:GetObject"]
    )
    assert {"ec2:DescribeVpcs": "allowed", "s3:GetObject": "implicitDeny"} == _decisions(result)


def test_unknown_and_malformed_sources_are_refused(alice: IdentityStore):
    with pytest.raises(NoSuchEntityError, match="The user with name bob cannot be found."):
        alice.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/bob", ActionNames=["s3:Get"])
    with pytest.raises(IdentityStoreError) as caught:
        alice.simulate_principal_policy(PolicySourceArn=f"arn:aws:s3:::{ACCOUNT}-bucket", ActionNames=["s3:Get"])
    assert "InvalidInput" == caught.value.code


def test_simulate_principal_policy_on_the_command_line(capsys, store_url):
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", ACCOUNT).exit_code
    run(capsys, "--db", store_url, "iam", "create-user", "--user-name", "alice")
    policy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    run(capsys, "--db", store_url, "iam", "attach-user-policy", "--user-name", "alice", "--policy-arn", policy)
    result = run(
        capsys,
        "--db",
        store_url,
        "iam",
        "simulate-principal-policy",
        "--policy-source-arn",
        USER_ARN,
        "--action-names",
        "s3:ListBucket",
        "s3:PutObject",
    )
    assert 0 == result.exit_code, result.stderr
    printed = json.loads(result.stdout)
    assert {"s3:ListBucket": "allowed", "s3:PutObject": "implicitDeny"} == _decisions(printed)
