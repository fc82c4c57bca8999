"""Inline and attached managed policies of users and groups; on every backend."""

from __future__ import annotations

import json

import pytest

from iamledger import IdentityStore
from iamledger.domain.errors import IdentityStoreError, NoSuchEntityError
from tests.shapes import assert_output_shape

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.mark.parametrize("kind", ["user", "group"])
def test_inline_policies_put_get_list_replace_and_delete(iam: IdentityStore, kind: str):
    name_param = {"user": "UserName", "group": "GroupName"}[kind]
    getattr(iam, f"create_{kind}")(**{name_param: "p1"})
    put = getattr(iam, f"put_{kind}_policy")
    put(**{name_param: "p1", "PolicyName": "s3", "PolicyDocument": json.dumps(DOC)})
    put(**{name_param: "p1", "PolicyName": "again", "PolicyDocument": json.dumps(DOC)})

    got = getattr(iam, f"get_{kind}_policy")(**{name_param: "p1", "PolicyName": "s3"})
    assert_output_shape("iam", f"Get{kind.capitalize()}Policy", got)
    assert DOC == got["PolicyDocument"]
    listed = getattr(iam, f"list_{kind}_policies")(**{name_param: "p1"})
    assert_output_shape("iam", f"List{kind.capitalize()}Policies", listed)
    assert ["again", "s3"] == listed["PolicyNames"]

    replaced = {**DOC, "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    put(**{name_param: "p1", "PolicyName": "s3", "PolicyDocument": json.dumps(replaced)})
    assert replaced == getattr(iam, f"get_{kind}_policy")(**{name_param: "p1", "PolicyName": "s3"})["PolicyDocument"]

    getattr(iam, f"delete_{kind}_policy")(**{name_param: "p1", "PolicyName": "s3"})
    assert ["again"] == getattr(iam, f"list_{kind}_policies")(**{name_param: "p1"})["PolicyNames"]
    with pytest.raises(NoSuchEntityError, match=f"The {kind} policy with name s3 cannot be found."):
        getattr(iam, f"get_{kind}_policy")(**{name_param: "p1", "PolicyName": "s3"})


def test_a_malformed_inline_policy_is_refused_and_changes_nothing(iam: IdentityStore):
    iam.create_user(UserName="u")
    with pytest.raises(IdentityStoreError) as caught:
        iam.put_user_policy(UserName="u", PolicyName="bad", PolicyDocument='{"Version": "2012-10-17"')
    assert "MalformedPolicyDocument" == caught.value.code
    assert [] == iam.list_user_policies(UserName="u")["PolicyNames"]


def test_an_identity_policy_may_not_name_a_principal(iam: IdentityStore):
    iam.create_user(UserName="u")
    statement = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    doc = {"Version": "2012-10-17", "Statement": [statement]}
    with pytest.raises(IdentityStoreError) as caught:
        iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps(doc))
    assert "MalformedPolicyDocument" == caught.value.code


def test_inline_policies_of_a_user_share_a_2048_character_quota(iam: IdentityStore):
    iam.create_user(UserName="u")
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::" + "b" * 900}
    doc = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    iam.put_user_policy(UserName="u", PolicyName="one", PolicyDocument=doc)
    iam.put_user_policy(UserName="u", PolicyName="one", PolicyDocument=doc)  # replacing does not double-count
    iam.put_user_policy(UserName="u", PolicyName="two", PolicyDocument=doc)
    with pytest.raises(IdentityStoreError) as caught:
        iam.put_user_policy(UserName="u", PolicyName="three", PolicyDocument=doc)
    assert "LimitExceeded" == caught.value.code
    assert ["one", "two"] == iam.list_user_policies(UserName="u")["PolicyNames"]


def test_attach_list_and_detach_managed_policies(iam: IdentityStore):
    iam.create_user(UserName="u")
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    iam.attach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    result = iam.list_attached_user_policies(UserName="u")
    assert_output_shape("iam", "ListAttachedUserPolicies", result)
    assert [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY}] == result["AttachedPolicies"]
    iam.detach_user_policy(UserName="u", PolicyArn=READ_ONLY)
    assert [] == iam.list_attached_user_policies(UserName="u")["AttachedPolicies"]
    with pytest.raises(NoSuchEntityError):
        iam.detach_user_policy(UserName="u", PolicyArn=READ_ONLY)


def test_attaching_an_unknown_policy_is_no_such_entity(iam: IdentityStore):
    iam.create_user(UserName="u")
    with pytest.raises(NoSuchEntityError):
        iam.attach_user_policy(UserName="u", PolicyArn="arn:aws:iam::aws:policy/DoesNotExist")
    with pytest.raises(NoSuchEntityError):
        iam.attach_user_policy(UserName="u", PolicyArn="arn:aws:iam::123456789012:policy/nope")


def test_at_most_ten_managed_policies_per_group(iam: IdentityStore):
    from iamledger.projections.views.catalogue import aws_managed_policies

    iam.create_group(GroupName="g")
    arns = sorted(aws_managed_policies())[:11]
    for arn in arns[:10]:
        iam.attach_group_policy(GroupName="g", PolicyArn=arn)
    with pytest.raises(IdentityStoreError) as caught:
        iam.attach_group_policy(GroupName="g", PolicyArn=arns[10])
    assert "LimitExceeded" == caught.value.code
    assert 10 == len(iam.list_attached_group_policies(GroupName="g")["AttachedPolicies"])
