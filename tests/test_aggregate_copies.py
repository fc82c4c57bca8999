"""The copies the repository hands out of its cached aggregates (``AuditedAggregate.__deepcopy__``): values nothing can
change are shared, containers are the copy's own, so a command's changes never reach the cached original."""

from __future__ import annotations

import copy

from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.users import User

DOCUMENT = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
CONTEXT = AuditContext(actor="arn:aws:iam::123456789012:root", request_id="copies")


def test_a_user_copy_shares_tag_pairs_but_not_its_tag_list():
    with bound_audit_context(CONTEXT):
        user = User(
            account_id="123456789012",
            user_id="AIDAEXAMPLE",
            user_name="ann",
            path="/",
            permissions_boundary=None,
            tags=[{"Key": "team", "Value": "blue"}],
        )
        clone = copy.deepcopy(user)
        assert clone.tags == user.tags
        assert clone.tags is not user.tags
        assert clone.tags[0] is user.tags[0]  # an immutable (key, value) pair is shared
        clone.tag([("env", "prod")])
    assert user.tags == [("team", "blue")]
    assert clone.tags == [("team", "blue"), ("env", "prod")]


def test_a_policy_copy_shares_its_versions_but_not_their_dict():
    with bound_audit_context(CONTEXT):
        policy = ManagedPolicy(
            account_id="123456789012",
            policy_id="ANPAEXAMPLE",
            policy_name="p",
            path="/",
            description=None,
            document=DOCUMENT,
            tags=[],
        )
        clone = copy.deepcopy(policy)
        assert clone.versions is not policy.versions
        assert clone.versions["v1"] is policy.versions["v1"]  # a frozen PolicyVersion is shared
        clone.create_version(DOCUMENT.replace("s3:*", "ec2:*"), set_as_default=True)
    assert list(policy.versions) == ["v1"]
    assert list(clone.versions) == ["v1", "v2"]
