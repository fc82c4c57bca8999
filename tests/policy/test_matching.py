"""Statement matching alone: resource, principal (and how it is named), conditions."""

from __future__ import annotations

import json

from iamledger.domain.policy import PolicyKind, Principal, PrincipalMatch, compile_text, statement_match

A = "111122223333"
ALICE = Principal.user(A, "alice", unique_id="AIDAEXAMPLEALICE0001")
SESSION = Principal.assumed_role(A, "AppRole", "s1", role_path="/team/", role_id="AROAEXAMPLEAPPROLE01")


def statement(**element: object):
    body = {"Effect": element.pop("Effect", "Allow"), "Action": "s3:GetObject", "Resource": "*", **element}
    text = json.dumps({"Version": "2012-10-17", "Statement": [body]})
    kind = PolicyKind.RESOURCE if "Principal" in element or "NotPrincipal" in element else PolicyKind.IDENTITY
    return compile_text(text, kind).statements[0]


def test_statement_without_principal_applies_directly():
    assert PrincipalMatch.DIRECT == statement_match(statement(), ALICE, "arn:aws:s3:::b/k", {})


def test_resource_mismatch_does_not_apply():
    assert PrincipalMatch.NONE == statement_match(statement(Resource="arn:aws:s3:::x/*"), ALICE, "arn:aws:s3:::b/k", {})


def test_principal_strength_depends_on_how_the_caller_is_named():
    cases = {
        "*": PrincipalMatch.DIRECT,
        A: PrincipalMatch.ACCOUNT,
        f"arn:aws:iam::{A}:root": PrincipalMatch.ACCOUNT,
        f"arn:aws:iam::{A}:role/team/AppRole": PrincipalMatch.ROLE,
        "AROAEXAMPLEAPPROLE01": PrincipalMatch.ROLE,
        f"arn:aws:sts::{A}:assumed-role/AppRole/s1": PrincipalMatch.DIRECT,
        f"arn:aws:sts::{A}:assumed-role/AppRole/s2": PrincipalMatch.NONE,
        "444455556666": PrincipalMatch.NONE,
    }
    actual = {name: statement_match(statement(Principal={"AWS": name}), SESSION, "x", {}) for name in cases}
    assert cases == actual


def test_user_named_by_arn_or_unique_id():
    assert [PrincipalMatch.DIRECT, PrincipalMatch.DIRECT, PrincipalMatch.NONE] == [
        statement_match(statement(Principal={"AWS": name}), ALICE, "x", {})
        for name in (f"arn:aws:iam::{A}:user/alice", "AIDAEXAMPLEALICE0001", f"arn:aws:iam::{A}:user/Alice")
    ]


def test_service_principal_matches_only_services():
    element = statement(Principal={"Service": "ec2.amazonaws.com"})
    assert [PrincipalMatch.DIRECT, PrincipalMatch.NONE] == [
        statement_match(element, Principal.service("ec2.amazonaws.com"), "x", {}),
        statement_match(element, ALICE, "x", {}),
    ]


def test_not_principal_exempts_only_a_caller_listed_under_all_its_names():
    listed_all = statement(
        Effect="Deny",
        NotPrincipal={"AWS": [f"arn:aws:sts::{A}:assumed-role/AppRole/s1", f"arn:aws:iam::{A}:role/team/AppRole", A]},
    )
    role_only = statement(Effect="Deny", NotPrincipal={"AWS": [f"arn:aws:iam::{A}:role/team/AppRole"]})
    assert [PrincipalMatch.NONE, PrincipalMatch.DIRECT] == [
        statement_match(listed_all, SESSION, "x", {}),
        statement_match(role_only, SESSION, "x", {}),
    ]


def test_deny_with_not_principal_applies_to_a_caller_with_a_boundary():
    element = statement(Effect="Deny", NotPrincipal={"AWS": [f"arn:aws:iam::{A}:user/alice", A]})
    assert [PrincipalMatch.NONE, PrincipalMatch.DIRECT] == [
        statement_match(element, ALICE, "x", {}),
        statement_match(element, ALICE, "x", {}, has_boundary=True),
    ]


def test_failing_condition_does_not_apply():
    element = statement(Condition={"StringEquals": {"aws:username": "alice"}})
    assert [PrincipalMatch.DIRECT, PrincipalMatch.NONE] == [
        statement_match(element, ALICE, "x", {"aws:username": "alice"}),
        statement_match(element, ALICE, "x", {"aws:username": "bob"}),
    ]
