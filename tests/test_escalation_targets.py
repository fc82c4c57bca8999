"""The escalation graph asks the evaluator only about the users, roles and groups a principal's statements (and
boundary) can name, and the whole-account questions leave out what lies beyond admin-equivalent principals: the
edges and answers are those of the graph that asks about every one (issue 22)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from iamledger.audit.escalation import _goals, path_text, simple_paths
from iamledger.audit.escalation_edges import ADMIN
from iamledger.audit.escalation_graph import EscalationGraph
from iamledger.audit.escalation_timeline import edge_key
from iamledger.audit.moments import _reading
from iamledger.audit.subjects import Subject
from iamledger.audit.techniques import Technique
from tests.conftest import ACCOUNT_ID

ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


class _EveryRow(EscalationGraph):
    """The graph as it was: every user, role and group asked about for every candidate."""

    def rows_for(
        self,
        technique: Technique,
        subject: Subject,
        kind: str,
        varying: tuple[str, ...] = ("target",),
        extra: Any = None,
    ) -> Sequence[dict[str, Any]]:
        return self._rows[kind]


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: str | list[str], resource: str | list[str] = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource, **more}


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{name}"


def _account(iam: Any) -> None:
    for path, name in [("/team1/", "ann"), ("/team1/", "abe"), ("/team2/", "bea"), ("/", "carl"), ("/", "dora")]:
        iam.create_user(UserName=name, Path=path)
    iam.attach_user_policy(UserName="abe", PolicyArn=ADMIN_POLICY)  # an admin in team1
    iam.attach_user_policy(UserName="bea", PolicyArn=ADMIN_POLICY)  # an admin in team2
    # self-service: its own keys and password only
    own = _allow(["iam:CreateAccessKey", "iam:CreateLoginProfile"], "arn:aws:iam::*:user/${aws:username}")
    iam.put_user_policy(UserName="carl", PolicyName="own", PolicyDocument=_doc(own))
    # a team1 manager: every IAM action on team1's users, and a NotResource grant of UpdateLoginProfile
    team1 = _allow("iam:*", f"arn:aws:iam::{ACCOUNT_ID}:user/team1/*")
    iam.put_user_policy(UserName="ann", PolicyName="team", PolicyDocument=_doc(team1))
    other = {"Effect": "Allow", "Action": "iam:UpdateLoginProfile", "NotResource": _arn("user", "carl")}
    iam.put_user_policy(UserName="ann", PolicyName="other", PolicyDocument=_doc(other))
    # everything on every resource, fenced by a boundary naming team2's users and a wildcard name
    iam.put_user_policy(UserName="dora", PolicyName="all", PolicyDocument=_doc(_allow("iam:*")))
    fence = _allow(
        ["iam:CreateAccessKey", "iam:PassRole", "ec2:RunInstances"], [_arn("user", "team2/*"), "arn:aws:iam::*:role/r*"]
    )
    iam.create_policy(PolicyName="fence", PolicyDocument=_doc(fence))
    iam.put_user_permissions_boundary(UserName="dora", PermissionsBoundary=_arn("policy", "fence"))
    ec2 = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    for path, name in [("/svc/", "runner"), ("/", "other")]:
        iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=_doc(ec2))
    iam.attach_role_policy(RoleName="runner", PolicyArn=ADMIN_POLICY)
    iam.attach_role_policy(RoleName="other", PolicyArn=ADMIN_POLICY)
    passing = _doc(_allow("iam:PassRole", _arn("role", "svc/*")), _allow("ec2:RunInstances"))
    iam.create_group(GroupName="passers", Path="/ops/")
    iam.put_group_policy(GroupName="passers", PolicyName="pass", PolicyDocument=passing)
    iam.add_user_to_group(GroupName="passers", UserName="carl")
    groups = _allow(["iam:PutGroupPolicy", "iam:AddUserToGroup"], _arn("group", "ops/*"))
    iam.put_user_policy(UserName="carl", PolicyName="groups", PolicyDocument=_doc(groups))


def test_the_graph_asks_only_about_what_statements_can_name_and_finds_the_same_edges(iam):
    _account(iam)
    with _reading(iam, None) as (conn, moment):
        every = _EveryRow(conn, ACCOUNT_ID, moment).build()
        narrowed = EscalationGraph(conn, ACCOUNT_ID, moment).build()
        assert narrowed.admins == every.admins
        assert sorted(map(edge_key, narrowed.edges)) == sorted(map(edge_key, every.edges))
        found = {(e.source.rsplit("/", 1)[-1], e.technique.id, e.target.rsplit("/", 1)[-1]) for e in narrowed.edges}
    assert ("ann", "iam-create-access-key", "abe") in found  # team1/* names abe
    assert ("ann", "iam-create-access-key", "bea") not in found
    assert ("dora", "iam-create-access-key", "bea") in found  # the boundary names team2/*
    assert ("dora", "iam-create-access-key", "abe") not in found
    assert ("carl", "iam-create-access-key", "abe") not in found  # ${aws:username}: its own only
    assert ("carl", "ec2-run-instances", "runner") in found  # role/svc/*
    assert ("carl", "ec2-run-instances", "other") not in found
    assert ("carl", "iam-put-group-policy", ADMIN) in found  # a group of ops/* it is in


def test_who_can_escalate_answers_as_the_whole_graph_does(iam):
    _account(iam)
    for goal in (ADMIN, _arn("user", "team2/bea"), _arn("role", "svc/runner")):
        answer = iam.who_can_escalate(To=goal)
        with _reading(iam, None) as (conn, moment):
            graph = _EveryRow(conn, ACCOUNT_ID, moment).build()
            goals = _goals(graph, goal)
            expected: dict[str, dict[str, str]] = {}
            for source in sorted({e.source for e in graph.edges} - (graph.admins if goal == ADMIN else set())):
                for path in simple_paths(graph, source, goals, 5):
                    expected.setdefault(path[0].technique.id, {}).setdefault(source, path_text(path))
        got = {t["Technique"]: {p["Arn"]: p["ShortestPath"] for p in t["Principals"]} for t in answer["Techniques"]}
        assert got == expected, goal
        assert got, goal
