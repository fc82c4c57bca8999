"""A principal's change points are the positions at which a row its permissions depend on changed *while* it
depended on it: a managed policy's new version while the policy was attached to a group the user was not in is not
one. Answers over time decided at these points equal those decided at every position any of those rows ever changed
(what `change_points` read before), on a generated account; and decided from the principal's rows read over the
history once (`PrincipalHistory`) they equal those decided from the views read at each position."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, select

from iamledger import IdentityStore
from iamledger.audit.decisions import _decision_at
from iamledger.generate import GenerateSpec, generate
from iamledger.projections.access import analysis
from iamledger.projections.access.change_points import change_points
from iamledger.projections.access.history import PrincipalHistory
from iamledger.projections.engine.timeindex import Moment, time_of
from iamledger.projections.views.principals import PRINCIPAL_TABLES
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUP_MEMBERS,
    INLINE_POLICIES,
    POLICIES,
    POLICY_VERSIONS,
    TAGS,
)

ACCOUNT = "123456789012"
# the module, not the function of the same name the package exports
exposure_module = importlib.import_module("iamledger.audit.exposure")


def _every_change(conn: Connection, kind: str, entity: str) -> list[int]:
    """Every position a row of the principal, of a group it was ever in, or of a managed policy ever attached to
    either (or its boundary) began or ended, whether or not it applied then."""
    groups = {
        str(g) for (g,) in conn.execute(select(GROUP_MEMBERS.c.group_uuid).where(GROUP_MEMBERS.c.user_uuid == entity))
    }
    holders = [entity, *groups]
    arns = {
        str(a)
        for (a,) in conn.execute(select(ATTACHMENTS.c.policy_arn).where(ATTACHMENTS.c.principal_uuid.in_(holders)))
    }
    table = PRINCIPAL_TABLES[kind]
    arns |= {str(b) for (b,) in conn.execute(select(table.c.boundary_arn).where(table.c.entity_uuid == entity)) if b}
    uuids = [str(u) for (u,) in conn.execute(select(POLICIES.c.entity_uuid).where(POLICIES.c.arn.in_(arns)))]
    points = analysis._bounds(conn, table, table.c.entity_uuid == entity)
    points |= analysis._bounds(conn, TAGS, TAGS.c.resource_uuid == entity)
    points |= analysis._bounds(conn, GROUP_MEMBERS, GROUP_MEMBERS.c.user_uuid == entity)
    points |= analysis._bounds(conn, INLINE_POLICIES, INLINE_POLICIES.c.principal_uuid.in_(holders))
    points |= analysis._bounds(conn, ATTACHMENTS, ATTACHMENTS.c.principal_uuid.in_(holders))
    points |= analysis._bounds(conn, POLICIES, POLICIES.c.arn.in_(arns))
    points |= analysis._bounds(conn, POLICY_VERSIONS, POLICY_VERSIONS.c.policy_uuid.in_(uuids))
    return sorted(points)


def _doc(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def test_a_policy_changing_while_it_does_not_apply_is_no_change_point(iam):
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="team")
    arn = iam.create_policy(PolicyName="p", PolicyDocument=_doc("s3:GetObject"))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="team", PolicyArn=arn)
    head = iam.projector.catch_up
    before = head()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:PutObject"), SetAsDefault=True)  # not applying
    while_out = head()
    iam.add_user_to_group(UserName="alice", GroupName="team")
    joined = head()
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:*"), SetAsDefault=True)  # applying
    while_in = head()
    with iam.engine.connect() as conn:
        alice = analysis.principals_named(conn, "user", ACCOUNT, [f"arn:aws:iam::{ACCOUNT}:user/alice"]).pop()
        points = change_points(conn, "user", alice)
        every = _every_change(conn, "user", alice)
    assert before < while_out < joined < while_in
    assert while_in in points and any(while_out < p <= joined for p in points)  # joining, and what joining brought
    assert while_out not in points and while_out in every


@pytest.fixture
def generated(store: IdentityStore) -> Iterator[IdentityStore]:
    generate(store, GenerateSpec(users=40, groups=6, roles=8, events=1500, seed=13))
    store.projector.catch_up()
    with store.acting(ACCOUNT):
        yield store


def test_exposure_at_the_change_points_equals_exposure_at_every_change_and_read_at_each(generated, monkeypatch):
    principals = [u["Arn"] for u in generated.list_users()["Users"][:8]]
    principals += [r["Arn"] for r in generated.list_roles()["Roles"][:3]]
    questions = [
        (arn, action) for arn in principals for action in ("s3:GetObject", "iam:CreateUser", "ec2:RunInstances")
    ]

    def ask(arn: str, action: str) -> dict[str, object]:
        answer = generated.exposure(PrincipalArn=arn, ActionName=action)
        del answer["AsOf"]  # now, as the clock reads it
        return answer

    answers = [ask(*q) for q in questions]
    assert sum(len(a["Windows"]) for a in answers) > 5  # the questions do see windows open and close
    monkeypatch.setattr(exposure_module, "change_points", _every_change)
    for question, answer in zip(questions, answers, strict=True):
        assert ask(*question) == answer, question
    # and the decisions from the principal's rows and each policy's documents read over the history once equal
    # those read at each position (every view read bound to it)
    monkeypatch.setattr(exposure_module, "DecisionsOverTime", _ReadAtEachPosition)
    for question, answer in zip(questions, answers, strict=True):
        assert ask(*question) == answer, question


class _ReadAtEachPosition:
    """The decisions :class:`DecisionsOverTime` answers, read the way a single decision is: the principal's row,
    tags, groups, policies and documents read from the views at each position (``_decision_at``)."""

    def __init__(self, conn: Connection, history: PrincipalHistory) -> None:
        self._conn, self._kind, self._entity = conn, history.kind, history.entity

    def decision(self, position: int, end: Moment, action: str, resource: str, entries: object) -> str:
        moment = Moment(position, time_of(self._conn, position) or end.time)
        found = _decision_at(None, self._conn, self._kind, self._entity, moment, [action], [resource], entries)
        return found[(action, resource)]


def _statement(effect: str, action: str, condition: dict[str, object] | None = None) -> dict[str, object]:
    statement: dict[str, object] = {"Effect": effect, "Action": action, "Resource": "*"}
    return statement | ({"Condition": condition} if condition else {})


def _policy(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def test_exposure_from_the_history_read_once_equals_reads_at_each_position_with_conditions(iam, monkeypatch):
    """Tags read by a condition, the time, a request's context, a group joined and left, a managed policy's new
    default version, a boundary set and removed: the windows decided from the rows read once are those decided from
    the views read at each position."""
    red = {"StringEquals": {"aws:PrincipalTag/team": "red"}}
    iam.create_user(UserName="carol")
    iam.tag_user(UserName="carol", Tags=[{"Key": "team", "Value": "red"}])
    iam.put_user_policy(
        UserName="carol", PolicyName="by-tag", PolicyDocument=_policy(_statement("Allow", "s3:Get*", red))
    )
    iam.tag_user(UserName="carol", Tags=[{"Key": "team", "Value": "blue"}])
    since = {"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}}
    from_office = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    iam.put_user_policy(
        UserName="carol",
        PolicyName="timed",
        PolicyDocument=_policy(
            _statement("Allow", "s3:PutObject", since), _statement("Allow", "s3:List*", from_office)
        ),
    )
    iam.create_group(GroupName="readers")
    arn = iam.create_policy(PolicyName="read", PolicyDocument=_doc("s3:*"))["Policy"]["Arn"]
    iam.attach_group_policy(GroupName="readers", PolicyArn=arn)
    iam.add_user_to_group(UserName="carol", GroupName="readers")
    fence = iam.create_policy(PolicyName="fence", PolicyDocument=_doc("s3:Get*"))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="carol", PermissionsBoundary=fence)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=_doc("s3:ListBucket"), SetAsDefault=True)
    iam.tag_user(UserName="carol", Tags=[{"Key": "team", "Value": "red"}])
    iam.delete_user_permissions_boundary(UserName="carol")
    iam.remove_user_from_group(UserName="carol", GroupName="readers")
    iam.add_user_to_group(UserName="carol", GroupName="readers")
    iam.projector.catch_up()
    carol = f"arn:aws:iam::{ACCOUNT}:user/carol"
    office = [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"}]
    questions = [(a, None) for a in ("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject")]
    questions.append(("s3:ListAllMyBuckets", office))

    def ask(action: str, entries: list[dict[str, object]] | None) -> dict[str, object]:
        answer = iam.exposure(PrincipalArn=carol, ActionName=action, ContextEntries=entries)
        del answer["AsOf"]
        return answer

    answers = [ask(*q) for q in questions]
    assert [len(a["Windows"]) for a in answers] == [3, 2, 3, 1, 2], answers
    monkeypatch.setattr(exposure_module, "DecisionsOverTime", _ReadAtEachPosition)
    assert [ask(*q) for q in questions] == answers
