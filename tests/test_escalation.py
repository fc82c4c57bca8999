"""Privilege escalation paths (issue 22): the catalogue, the edges at a moment decided by the real evaluator, all
simple paths shortest first with the events that enabled each hop, who can escalate, as of a past moment, and the
paths equal to a brute-force search over every principal."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from iamledger import IdentityStore
from iamledger.audit.techniques import ACTION, CatalogueError, catalogue, parse_catalogue
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import AccessDeniedError, IdentityStoreError
from tests.clirunner import run
from tests.conftest import ACCOUNT_ID

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"
# PRIVILEGE_ESCALATION_METHODS of cloudsplaining/shared/constants.py, 0.9.1: 59 methods
CLOUDSPLAINING_0_9_1 = (
    "AccessExistingBedrockCodeInterpreterSession",
    "AddUserToGroup",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachRolePolicyThenUpdateAssumeRolePolicy",
    "AttachUserPolicy",
    "AttachUserPolicyThenCreateAccessKey",
    "CreateAccessKey",
    "CreateAndRotateAccessKey",
    "CreateEC2WithExistingIP",
    "CreateLoginProfile",
    "CreateNewPolicyVersion",
    "CreatePolicyVersionThenAssumeRole",
    "CreatePolicyVersionThenUpdateAssumeRolePolicy",
    "CreatePresignedSageMakerNotebookUrl",
    "EC2InstanceConnectSendSSHPublicKey",
    "ECSExecuteCommandOnRunningTask",
    "EditExistingLambdaFunctionWithRole",
    "ExecuteCloudFormationChangeSet",
    "ModifyEC2InstanceUserDataThenRestart",
    "ModifyExistingEC2LaunchTemplate",
    "PassExistingRoleToCloudFormation",
    "PassExistingRoleToNewAppRunnerService",
    "PassExistingRoleToNewBedrockCodeInterpreter",
    "PassExistingRoleToNewCloudFormationStackSet",
    "PassExistingRoleToNewCodeBuildProjectThenBuild",
    "PassExistingRoleToNewCodeBuildProjectThenBuildBatch",
    "PassExistingRoleToNewDataPipeline",
    "PassExistingRoleToNewEC2SpotInstance",
    "PassExistingRoleToNewECSClusterRunTask",
    "PassExistingRoleToNewECSClusterServiceTask",
    "PassExistingRoleToNewECSService",
    "PassExistingRoleToNewECSTaskViaRunTask",
    "PassExistingRoleToNewECSTaskViaStartTask",
    "PassExistingRoleToNewGlueDevEndpoint",
    "PassExistingRoleToNewGlueJobThenRun",
    "PassExistingRoleToNewGlueJobViaTrigger",
    "PassExistingRoleToNewLambdaThenAddPermission",
    "PassExistingRoleToNewLambdaThenInvoke",
    "PassExistingRoleToNewLambdaThenTriggerWithExistingDynamo",
    "PassExistingRoleToNewLambdaThenTriggerWithNewDynamo",
    "PassExistingRoleToNewSageMakerNotebookInstance",
    "PassExistingRoleToNewSageMakerProcessingJob",
    "PassExistingRoleToNewSageMakerTrainingJob",
    "PassExistingRoleToUpdatedGlueJobThenRun",
    "PassExistingRoleToUpdatedGlueJobViaTrigger",
    "PassRoleToUpdateCloudFormationStackSet",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutRolePolicyThenUpdateAssumeRolePolicy",
    "PutUserPolicy",
    "PutUserPolicyThenCreateAccessKey",
    "SetExistingDefaultPolicyVersion",
    "UpdateAndInvokeLambdaFunction",
    "UpdateExistingGlueDevEndpoint",
    "UpdateLambdaFunctionAndAddPermission",
    "UpdateLoginProfile",
    "UpdateRolePolicyToAssumeIt",
    "UpdateSageMakerNotebookLifecycleConfig",
)


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{name}"


def _doc(actions: list[str] | str, resource: str | list[str] = "*", condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _trust(principal: dict[str, Any]) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _texts(answer: dict[str, Any]) -> list[str]:
    return [path["Text"] for path in answer["Paths"]]


# -- the catalogue ------------------------------------------------------------------------------------------------


def test_the_catalogue_is_valid_and_its_actions_well_formed():
    found = catalogue()
    assert found.version == 1
    assert len({t.id for t in found.techniques}) == len(found.techniques) >= 40
    for technique in found.techniques:
        assert technique.family in {"become", "grant", "passrole"}
        for requirement in technique.requires:
            assert ACTION.fullmatch(requirement.action), (technique.id, requirement.action)
        if technique.family == "passrole":
            assert technique.requires[0].action == "iam:PassRole"
            assert all(s.endswith(".amazonaws.com") for s in technique.services)
        assert technique.references, technique.id


def test_every_cloudsplaining_method_is_a_technique_or_said_why_not():
    found = catalogue()
    covered = {m for t in found.techniques for m in t.source.get("cloudsplaining", [])}
    left_out = {entry["cloudsplaining"] for entry in found.not_modelled}
    assert covered | left_out == set(CLOUDSPLAINING_0_9_1)
    assert not covered & left_out


def test_a_bad_catalogue_is_refused():
    entry = {"id": "x", "family": "become", "requires": [{"action": "iam CreateUser", "on": "target"}]}
    with pytest.raises(CatalogueError, match="action"):
        parse_catalogue({"version": 1, "techniques": [{**entry, "yields": "target", "target": "user"}]})
    with pytest.raises(CatalogueError, match="version"):
        parse_catalogue({"version": 2, "techniques": []})


# -- one account per technique -------------------------------------------------------------------------------------

Setup = Callable[[IdentityStore], None]


def _with_policy(actions: list[str] | str, resource: str | list[str] = "*", *, condition: Any = None) -> Setup:
    def setup(store: IdentityStore) -> None:
        store.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc(actions, resource, condition))

    return setup


def _service_role(service: str) -> Setup:
    def setup(store: IdentityStore) -> None:
        store.create_role(RoleName="power", AssumeRolePolicyDocument=_trust({"Service": service}))
        store.attach_role_policy(RoleName="power", PolicyArn=ADMIN_POLICY)

    return setup


def _admin_user(store: IdentityStore) -> None:
    store.create_user(UserName="boss")
    store.attach_user_policy(UserName="boss", PolicyArn=ADMIN_POLICY)


def _admin_role(store: IdentityStore) -> None:
    store.create_role(RoleName="power", AssumeRolePolicyDocument=_trust({"AWS": _arn("user", "mallory")}))
    store.attach_role_policy(RoleName="power", PolicyArn=ADMIN_POLICY)


def _group(store: IdentityStore) -> None:
    store.create_group(GroupName="team")
    store.add_user_to_group(UserName="mallory", GroupName="team")


def _admin_group(store: IdentityStore) -> None:
    store.create_group(GroupName="admins")
    store.attach_group_policy(GroupName="admins", PolicyArn=ADMIN_POLICY)


def _held_policy(store: IdentityStore) -> None:
    store.create_policy(PolicyName="mine", PolicyDocument=_doc("s3:ListAllMyBuckets"))
    store.attach_user_policy(UserName="mallory", PolicyArn=_arn("policy", "mine"))


def _older_broader_version(store: IdentityStore) -> None:
    store.create_policy(PolicyName="mine", PolicyDocument=_doc("*"))
    store.create_policy_version(
        PolicyArn=_arn("policy", "mine"), PolicyDocument=_doc("s3:ListAllMyBuckets"), SetAsDefault=True
    )
    store.attach_user_policy(UserName="mallory", PolicyArn=_arn("policy", "mine"))


def _bounded_admin(store: IdentityStore) -> None:
    store.attach_user_policy(UserName="mallory", PolicyArn=ADMIN_POLICY)
    store.create_policy(PolicyName="fence", PolicyDocument=_doc(["iam:*PermissionsBoundary", "s3:*"]))
    store.put_user_permissions_boundary(UserName="mallory", PermissionsBoundary=_arn("policy", "fence"))


def _login_profile(store: IdentityStore) -> None:
    store.create_login_profile(UserName="boss", Password="An0ther-Passw0rd!")


def _passrole(service: str, actions: list[str]) -> list[Setup]:
    role = _arn("role", "power")
    return [_service_role(service), _with_policy(["iam:PassRole", *actions], ["*", role])]


TECHNIQUES: dict[str, tuple[list[Setup], str]] = {
    "sts-assume-role": (
        [_admin_role, _with_policy("sts:AssumeRole", _arn("role", "power"))],
        "mallory -[sts:AssumeRole]-> power",
    ),
    "iam-create-access-key": (
        [_admin_user, _with_policy("iam:CreateAccessKey", _arn("user", "boss"))],
        "mallory -[iam:CreateAccessKey]-> boss",
    ),
    "iam-create-login-profile": (
        [_admin_user, _with_policy("iam:CreateLoginProfile")],
        "mallory -[iam:CreateLoginProfile]-> boss",
    ),
    "iam-update-login-profile": (
        [_admin_user, _login_profile, _with_policy("iam:UpdateLoginProfile")],
        "mallory -[iam:UpdateLoginProfile]-> boss",
    ),
    "iam-update-assume-role-policy": (
        [_service_role("ec2.amazonaws.com"), _with_policy(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"])],
        "mallory -[iam:UpdateAssumeRolePolicy+sts:AssumeRole]-> power",
    ),
    "iam-put-user-policy": (
        [_with_policy("iam:PutUserPolicy", _arn("user", "mallory"))],
        "mallory -[iam:PutUserPolicy]-> admin",
    ),
    "iam-attach-user-policy": (
        [_with_policy("iam:AttachUserPolicy", _arn("user", "mallory"))],
        "mallory -[iam:AttachUserPolicy]-> admin",
    ),
    "iam-put-group-policy": (
        [_group, _with_policy("iam:PutGroupPolicy", _arn("group", "team"))],
        "mallory -[iam:PutGroupPolicy]-> admin",
    ),
    "iam-attach-group-policy": (
        [_group, _with_policy("iam:AttachGroupPolicy")],
        "mallory -[iam:AttachGroupPolicy]-> admin",
    ),
    "iam-add-user-to-group": (
        [_admin_group, _with_policy("iam:AddUserToGroup", _arn("group", "admins"))],
        "mallory -[iam:AddUserToGroup]-> admin",
    ),
    "iam-create-policy-version": (
        [_held_policy, _with_policy("iam:CreatePolicyVersion")],
        "mallory -[iam:CreatePolicyVersion]-> admin",
    ),
    "iam-set-default-policy-version": (
        [_older_broader_version, _with_policy("iam:SetDefaultPolicyVersion")],
        "mallory -[iam:SetDefaultPolicyVersion]-> admin",
    ),
    "iam-delete-user-permissions-boundary": ([_bounded_admin], "mallory -[iam:DeleteUserPermissionsBoundary]-> admin"),
    "ec2-run-instances": (
        _passrole("ec2.amazonaws.com", ["ec2:RunInstances"]),
        "mallory -[iam:PassRole+ec2:RunInstances]-> power",
    ),
    "lambda-create-function-invoke": (
        _passrole("lambda.amazonaws.com", ["lambda:CreateFunction", "lambda:InvokeFunction"]),
        "mallory -[iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction]-> power",
    ),
    "cloudformation-create-stack": (
        _passrole("cloudformation.amazonaws.com", ["cloudformation:CreateStack"]),
        "mallory -[iam:PassRole+cloudformation:CreateStack]-> power",
    ),
    "codebuild-create-project-build": (
        _passrole("codebuild.amazonaws.com", ["codebuild:CreateProject", "codebuild:StartBuild"]),
        "mallory -[iam:PassRole+codebuild:CreateProject+codebuild:StartBuild]-> power",
    ),
    "ecs-run-task": (
        _passrole("ecs-tasks.amazonaws.com", ["ecs:RegisterTaskDefinition", "ecs:RunTask"]),
        "mallory -[iam:PassRole+ecs:RegisterTaskDefinition+ecs:RunTask]-> power",
    ),
}


def _account(store: IdentityStore, setups: list[Setup]) -> None:
    store.create_user(UserName="mallory")
    for setup in setups:
        setup(store)


@pytest.mark.parametrize("technique", sorted(TECHNIQUES))
def test_one_account_per_technique(iam, technique):
    setups, expected = TECHNIQUES[technique]
    _account(iam, setups)
    answer = iam.escalation_paths(PrincipalArn=_arn("user", "mallory"))
    assert answer["IsAdmin"] is False
    assert expected in _texts(answer), _texts(answer)
    path = next(p for p in answer["Paths"] if p["Text"] == expected)
    hop = path["Hops"][0]
    assert hop["Technique"] == technique
    assert hop["Statements"] and hop["EnabledBy"]
    # the trust policy naming mallory is enough to assume the role in its account; else her policy enables it
    enabling = {"CreateRole"} if technique == "sts-assume-role" else {"PutUserPolicy", "AttachUserPolicy"}
    assert enabling & {e["EventName"] for e in hop["EnabledBy"]}


def test_a_condition_is_reported_and_a_boundary_or_a_passed_to_service_condition_blocks(iam):
    _account(
        iam,
        [_admin_user, _with_policy("iam:CreateAccessKey", condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})],
    )
    mallory = _arn("user", "mallory")
    # mallory can sign in with MFA: the edge exists, conditional on the key the caller supplies
    hop = iam.escalation_paths(PrincipalArn=mallory)["Paths"][0]["Hops"][0]
    assert hop["Conditional"] is True and hop["ConditionKeys"] == ["aws:MultiFactorAuthPresent"]
    # a condition on who she is, which she cannot change, blocks it
    iam.put_user_policy(
        UserName="mallory",
        PolicyName="p",
        PolicyDocument=_doc("iam:CreateAccessKey", condition={"StringEquals": {"aws:username": "someone-else"}}),
    )
    assert _texts(iam.escalation_paths(PrincipalArn=mallory)) == []
    iam.put_user_policy(
        UserName="mallory",
        PolicyName="p",
        PolicyDocument=_doc("iam:CreateAccessKey", condition={"StringEquals": {"aws:username": "mallory"}}),
    )
    hop = iam.escalation_paths(PrincipalArn=mallory)["Paths"][0]["Hops"][0]
    assert hop["Conditional"] is True and hop["ConditionKeys"] == ["aws:username"]
    iam.create_policy(PolicyName="fence", PolicyDocument=_doc("s3:*"))
    iam.put_user_permissions_boundary(UserName="mallory", PermissionsBoundary=_arn("policy", "fence"))
    assert _texts(iam.escalation_paths(PrincipalArn=mallory)) == []
    # PassRole limited to another service than the role trusts
    iam.delete_user_permissions_boundary(UserName="mallory")
    iam.delete_user_policy(UserName="mallory", PolicyName="p")
    _service_role("ec2.amazonaws.com")(iam)
    passed = {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc("iam:PassRole", condition=passed))
    iam.put_user_policy(UserName="mallory", PolicyName="q", PolicyDocument=_doc("ec2:RunInstances"))
    assert _texts(iam.escalation_paths(PrincipalArn=mallory)) == []


def _trust_with(condition: dict[str, Any], *, effect: str = "Allow") -> str:
    admit = {"Effect": "Allow", "Principal": {"AWS": _arn("user", "mallory")}, "Action": "sts:AssumeRole"}
    statements = [admit]
    if effect == "Allow":
        admit["Condition"] = condition
    else:
        statements.append({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Condition": condition})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.mark.parametrize(
    ("trust", "keys"),
    [
        (_trust_with({"Bool": {"aws:MultiFactorAuthPresent": "true"}}), ["aws:MultiFactorAuthPresent"]),
        (_trust_with({"StringEquals": {"sts:ExternalId": "Unguessable-42"}}), ["sts:ExternalId"]),
        (_trust_with({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}), ["aws:MultiFactorAuthAge"]),
        (_trust_with({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), ["aws:SourceIp"]),
        (
            _trust_with({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, effect="Deny"),
            ["aws:MultiFactorAuthPresent"],
        ),
    ],
    ids=["mfa", "external-id", "mfa-age", "source-ip", "deny-without-mfa"],
)
def test_a_trust_policy_asking_for_a_key_the_caller_sends_gives_a_conditional_edge(iam, trust, keys):
    """PMapper marks such edges conditional; a request with MFA, the external id or from that network takes them."""
    iam.create_user(UserName="mallory")
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc("sts:AssumeRole"))
    iam.create_role(RoleName="power", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="power", PolicyArn=ADMIN_POLICY)
    answer = iam.escalation_paths(PrincipalArn=_arn("user", "mallory"))
    assert _texts(answer) == ["mallory -[sts:AssumeRole]-> power"]
    hop = answer["Paths"][0]["Hops"][0]
    assert hop["Conditional"] is True and hop["ConditionKeys"] == keys


def test_a_trust_condition_on_who_the_caller_is_blocks_the_edge(iam):
    iam.create_user(UserName="mallory")
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc("sts:AssumeRole"))
    trust = _trust_with(
        {"StringEquals": {"aws:PrincipalTag/team": "ops"}, "Bool": {"aws:MultiFactorAuthPresent": "true"}}
    )
    iam.create_role(RoleName="power", AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName="power", PolicyArn=ADMIN_POLICY)
    mallory = _arn("user", "mallory")
    assert _texts(iam.escalation_paths(PrincipalArn=mallory)) == []  # MFA alone does not make her of team ops
    iam.tag_user(UserName="mallory", Tags=[{"Key": "team", "Value": "ops"}])
    hop = iam.escalation_paths(PrincipalArn=mallory)["Paths"][0]["Hops"][0]
    assert hop["ConditionKeys"] == ["aws:MultiFactorAuthPresent", "aws:PrincipalTag/team"]


def test_multi_hop_paths_with_a_cycle_all_of_them_shortest_first(iam):
    iam.create_user(UserName="alice")
    iam.create_role(
        RoleName="r1", AssumeRolePolicyDocument=_trust({"AWS": [_arn("user", "alice"), _arn("role", "r2")]})
    )
    iam.create_role(RoleName="r2", AssumeRolePolicyDocument=_trust({"AWS": _arn("role", "r1")}))
    iam.create_role(RoleName="top", AssumeRolePolicyDocument=_trust({"AWS": _arn("role", "r2")}))
    iam.attach_role_policy(RoleName="top", PolicyArn=ADMIN_POLICY)
    for name in ("alice", "r1", "r2"):
        put = iam.put_user_policy if name == "alice" else iam.put_role_policy
        put(
            **{
                "UserName" if name == "alice" else "RoleName": name,
                "PolicyName": "a",
                "PolicyDocument": _doc("sts:AssumeRole"),
            }
        )
    # a second, longer way: alice may also create a key for bob, who may assume r1
    iam.create_user(UserName="bob")
    iam.put_user_policy(UserName="bob", PolicyName="a", PolicyDocument=_doc("sts:AssumeRole", _arn("role", "r1")))
    iam.put_user_policy(
        UserName="alice", PolicyName="k", PolicyDocument=_doc("iam:CreateAccessKey", _arn("user", "bob"))
    )
    iam.update_assume_role_policy(
        RoleName="r1", PolicyDocument=_trust({"AWS": [_arn("user", "alice"), _arn("role", "r2"), _arn("user", "bob")]})
    )
    answer = iam.escalation_paths(PrincipalArn=_arn("user", "alice"))
    assert _texts(answer) == [
        "alice -[sts:AssumeRole]-> r1 -[sts:AssumeRole]-> r2 -[sts:AssumeRole]-> top",
        "alice -[iam:CreateAccessKey]-> bob -[sts:AssumeRole]-> r1 -[sts:AssumeRole]-> r2 -[sts:AssumeRole]-> top",
    ]
    assert _texts(iam.escalation_paths(PrincipalArn=_arn("user", "alice"), MaxDepth=3)) == _texts(answer)[:1]
    trust = answer["Paths"][0]["Hops"][0]["TrustPolicy"]
    assert trust["RoleArn"] == _arn("role", "r1")
    assert trust["Provenance"][0]["EventName"] == "UpdateAssumeRolePolicy"
    to_r2 = iam.escalation_paths(PrincipalArn=_arn("user", "alice"), To=_arn("role", "r2"))
    assert _texts(to_r2)[0] == "alice -[sts:AssumeRole]-> r1 -[sts:AssumeRole]-> r2"
    groups = iam.who_can_escalate()
    by_technique = {g["Technique"]: [p["Arn"] for p in g["Principals"]] for g in groups["Techniques"]}
    assert by_technique["sts-assume-role"] == [
        _arn("role", "r1"),
        _arn("role", "r2"),
        _arn("user", "alice"),
        _arn("user", "bob"),
    ]
    assert by_technique["iam-create-access-key"] == [_arn("user", "alice")]
    assert groups["Admins"] == [_arn("role", "top")]


def test_a_grant_on_a_role_one_can_assume_leads_to_admin_through_it(iam):
    iam.create_user(UserName="alice")
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=_trust({"AWS": _arn("user", "alice")}))
    iam.put_user_policy(
        UserName="alice", PolicyName="a", PolicyDocument=_doc("iam:AttachRolePolicy", _arn("role", "ops"))
    )
    answer = iam.escalation_paths(PrincipalArn=_arn("user", "alice"))
    assert _texts(answer) == ["alice -[sts:AssumeRole]-> ops -[iam:AttachRolePolicy by alice]-> admin"]
    granted = answer["Paths"][0]["Hops"][1]
    assert granted["From"] == _arn("role", "ops") and granted["GrantedBy"] == _arn("user", "alice")
    assert granted["EnabledBy"][0]["EventName"] == "PutUserPolicy"
    # the role cannot use alice's grant on its own: no path starts from it
    assert _texts(iam.escalation_paths(PrincipalArn=_arn("role", "ops"))) == []


def test_a_grant_on_a_group_one_is_not_in_reaches_its_members(iam):
    iam.create_user(UserName="mallory")
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="team")
    iam.add_user_to_group(UserName="bob", GroupName="team")
    iam.put_user_policy(
        UserName="mallory",
        PolicyName="p",
        PolicyDocument=_doc(
            ["iam:PutGroupPolicy", "iam:CreateAccessKey"], [_arn("group", "team"), _arn("user", "bob")]
        ),
    )
    texts = _texts(iam.escalation_paths(PrincipalArn=_arn("user", "mallory")))
    assert texts == ["mallory -[iam:CreateAccessKey]-> bob -[iam:PutGroupPolicy by mallory]-> admin"]
    iam.remove_user_from_group(UserName="bob", GroupName="team")  # a group without members gives no one anything
    assert _texts(iam.escalation_paths(PrincipalArn=_arn("user", "mallory"))) == []


@pytest.mark.parametrize(
    ("actions", "hop"),
    [
        (["iam:AttachUserPolicy"], "-[iam:AttachUserPolicy on mallory]-> admin"),
        (["iam:PutGroupPolicy"], "-[iam:PutGroupPolicy on mallory]-> admin"),
    ],
)
def test_a_role_one_assumes_may_grant_admin_back_to_oneself(iam, actions, hop):
    """mallory assumes ops, and as ops gives mallory (or her group) admin: she holds both credentials."""
    iam.create_user(UserName="mallory")
    iam.create_group(GroupName="team")
    iam.add_user_to_group(UserName="mallory", GroupName="team")
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc("sts:AssumeRole"))
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=_trust({"AWS": _arn("user", "mallory")}))
    iam.put_role_policy(RoleName="ops", PolicyName="p", PolicyDocument=_doc(actions))
    answer = iam.escalation_paths(PrincipalArn=_arn("user", "mallory"))
    assert _texts(answer) == [f"mallory -[sts:AssumeRole]-> ops {hop}"]
    granted = answer["Paths"][0]["Hops"][1]
    assert granted["From"] == _arn("user", "mallory") and granted["GrantedBy"] == _arn("role", "ops")


def test_lifting_anothers_boundary_that_alone_holds_back_admin(iam):
    iam.create_user(UserName="mallory")
    iam.create_user(UserName="bob")
    iam.attach_user_policy(UserName="bob", PolicyArn=ADMIN_POLICY)
    iam.create_policy(PolicyName="fence", PolicyDocument=_doc("s3:*"))
    iam.put_user_permissions_boundary(UserName="bob", PermissionsBoundary=_arn("policy", "fence"))
    iam.put_user_policy(
        UserName="mallory",
        PolicyName="p",
        PolicyDocument=_doc(["iam:DeleteUserPermissionsBoundary", "iam:CreateAccessKey"], _arn("user", "bob")),
    )
    mallory = _arn("user", "mallory")
    expected = "mallory -[iam:CreateAccessKey]-> bob -[iam:DeleteUserPermissionsBoundary by mallory]-> admin"
    assert _texts(iam.escalation_paths(PrincipalArn=mallory)) == [expected]
    iam.detach_user_policy(UserName="bob", PolicyArn=ADMIN_POLICY)  # without the boundary bob is no admin either
    assert _texts(iam.escalation_paths(PrincipalArn=mallory)) == []


def test_a_path_that_opened_later_is_absent_before(iam):
    _account(iam, [_admin_user])
    before = iam.projector.catch_up()
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc("iam:CreateAccessKey"))
    opened = iam.escalation_paths(PrincipalArn=_arn("user", "mallory"))
    assert _texts(opened) == ["mallory -[iam:CreateAccessKey]-> boss"]
    assert opened["Paths"][0]["Hops"][0]["EnabledBy"][0]["Position"] > before
    assert _texts(iam.escalation_paths(PrincipalArn=_arn("user", "mallory"), At=before)) == []
    assert iam.who_can_escalate(At=before)["Techniques"] == []


def test_the_account_root_is_admin_and_a_path_to_it_is_a_path_to_admin(iam):
    _account(iam, [_admin_user])
    iam.put_user_policy(UserName="mallory", PolicyName="p", PolicyDocument=_doc("iam:CreateAccessKey"))
    root = f"arn:aws:iam::{ACCOUNT_ID}:root"
    answer = iam.escalation_paths(PrincipalArn=root)
    assert (answer["IsAdmin"], answer["Paths"]) == (True, [])
    to_root = iam.escalation_paths(PrincipalArn=_arn("user", "mallory"), To=root)
    assert _texts(to_root) == _texts(iam.escalation_paths(PrincipalArn=_arn("user", "mallory")))
    assert _texts(to_root) == ["mallory -[iam:CreateAccessKey]-> boss"]
    assert iam.who_can_escalate(To=root)["Techniques"] == iam.who_can_escalate()["Techniques"]


def test_cross_account_edges_need_both_sides_and_outside_accounts_are_trust_only(iam):
    other, outside = "210987654321", "999988887777"
    iam.create_role(
        RoleName="shared",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other}:root"}, "Action": "sts:AssumeRole"},
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": outside},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
                    },
                ],
            }
        ),
    )
    iam.attach_role_policy(RoleName="shared", PolicyArn=ADMIN_POLICY)
    iam.create_account(other)
    root = AuditContext(actor=f"arn:aws:iam::{other}:root", request_id=AuditContext.new_request_id())
    with bound_audit_context(root):
        iam.create_user(UserName="carol")  # may assume roles anywhere: her account's policies allow it
        iam.put_user_policy(UserName="carol", PolicyName="p", PolicyDocument=_doc("sts:AssumeRole"))
        iam.create_user(UserName="dave")  # no policy: the trust policy alone does not let him in from another account
    carol, dave = f"arn:aws:iam::{other}:user/carol", f"arn:aws:iam::{other}:user/dave"
    paths = iam.escalation_paths(PrincipalArn=carol)
    assert _texts(paths) == ["carol -[sts:AssumeRole]-> shared"]
    hop = paths["Paths"][0]["Hops"][0]
    assert (hop["To"], hop["CrossAccount"], "External" in hop) == (_arn("role", "shared"), True, False)
    assert hop["TrustPolicy"]["RoleArn"] == _arn("role", "shared")
    assert _texts(iam.escalation_paths(PrincipalArn=dave)) == []
    found = iam.who_can_escalate()
    assert found["Admins"] == [_arn("role", "shared")]
    principals = {p["Arn"]: p["ShortestPath"] for t in found["Techniques"] for p in t["Principals"]}
    assert principals[carol] == "carol -[sts:AssumeRole]-> shared"
    assert dave not in principals
    external = f"arn:aws:iam::{outside}:root"
    assert principals[external] == f"{external} -[sts:AssumeRole]-> shared"


def test_bad_input_is_refused(iam):
    _account(iam, [])
    with pytest.raises(IdentityStoreError, match="MaxDepth"):
        iam.escalation_paths(PrincipalArn=_arn("user", "mallory"), MaxDepth=0)
    with pytest.raises(IdentityStoreError, match="To must be"):
        iam.escalation_paths(PrincipalArn=_arn("user", "mallory"), To="root")
    with pytest.raises(IdentityStoreError, match="cannot be found"):
        iam.escalation_paths(PrincipalArn=_arn("user", "nobody"))


def test_only_the_authorized_may_ask(iam):
    _account(iam, [])
    mallory = AuditContext(actor=_arn("user", "mallory"), request_id=AuditContext.new_request_id())
    with bound_audit_context(mallory), pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        iam.who_can_escalate()
    with bound_audit_context(mallory), pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        iam.escalation_paths(PrincipalArn=_arn("user", "mallory"))


def test_the_cli_prints_the_paths_as_json_text_and_through_a_query(iam, store_url, capsys):
    _account(iam, [_admin_user, _with_policy("iam:CreateAccessKey", _arn("user", "boss"))])
    mallory = _arn("user", "mallory")
    answer = run(capsys, "--db", store_url, "audit", "escalation-paths", "--principal-arn", mallory)
    assert answer.exit_code == 0, answer.stderr
    assert _texts(json.loads(answer.stdout)) == ["mallory -[iam:CreateAccessKey]-> boss"]
    text = run(capsys, "--db", store_url, "--output", "text", "audit", "escalation-paths", "--principal-arn", mallory)
    assert "[1] mallory -[iam:CreateAccessKey]-> boss" in text.stdout
    assert "PutUserPolicy" in text.stdout
    query = run(
        capsys, "--db", store_url, "--query", "Techniques[].Technique", "audit", "who-can-escalate", "--to", "admin"
    )
    assert json.loads(query.stdout) == ["iam-create-access-key"]
    table = run(capsys, "--db", store_url, "--output", "table", "audit", "who-can-escalate")
    assert "mallory -[iam:CreateAccessKey]-> boss" in table.stdout
    bad = run(capsys, "--db", store_url, "audit", "escalation-paths", "--principal-arn", mallory, "--max-depth", "11")
    assert bad.exit_code == 254
    assert "MaxDepth must be an integer from 1 to 10" in bad.stderr
