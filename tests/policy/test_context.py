"""Global condition keys per principal type (reference section 4.1)."""

from __future__ import annotations

from datetime import UTC, datetime

from iamledger.domain.policy import Principal, Session, normalize_context, principal_keys, request_context

A = "111122223333"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def test_iam_user_keys():
    keys = principal_keys(Principal.user(A, "alice", path="/dev/", unique_id="AIDAEXAMPLE", tags={"Team": "red"}))
    assert {
        "aws:principaltype": "User",
        "aws:username": "alice",
        "aws:userid": "AIDAEXAMPLE",
        "aws:principalarn": f"arn:aws:iam::{A}:user/dev/alice",
        "aws:principalaccount": A,
        "aws:principalisawsservice": "false",
        "aws:principaltag/team": "red",
    } == keys


def test_role_session_keys_use_the_role_arn_and_role_id():
    session = Session(issued_at=NOW, mfa_authenticated=True, mfa_age_seconds=60, source_identity="alice")
    keys = principal_keys(
        Principal.assumed_role(A, "App", "s1", role_path="/svc/", role_id="AROAEXAMPLE", session=session)
    )
    assert {
        "aws:principaltype": "AssumedRole",
        "aws:userid": "AROAEXAMPLE:s1",
        "aws:principalarn": f"arn:aws:iam::{A}:role/svc/App",
        "aws:principalaccount": A,
        "aws:principalisawsservice": "false",
        "aws:tokenissuetime": "2024-05-01T12:00:00Z",
        "aws:multifactorauthpresent": "true",
        "aws:multifactorauthage": "60",
        "aws:sourceidentity": "alice",
    } == keys


def test_role_session_has_no_username():
    assert "aws:username" not in principal_keys(Principal.assumed_role(A, "App", "s1"))


def test_long_term_credentials_have_no_mfa_or_token_keys():
    keys = principal_keys(Principal.user(A, "alice"))
    assert set() == {"aws:multifactorauthpresent", "aws:tokenissuetime"} & set(keys)


def test_root_and_federated_and_anonymous_ids():
    assert [A, f"{A}:app", "anonymous"] == [
        principal_keys(Principal.root(A))["aws:userid"],
        principal_keys(Principal.federated_user(A, "app"))["aws:userid"],
        principal_keys(Principal.anonymous())["aws:userid"],
    ]
    assert ["Account", "FederatedUser", "Anonymous"] == [
        principal_keys(p)["aws:principaltype"]
        for p in (Principal.root(A), Principal.federated_user(A, "app"), Principal.anonymous())
    ]


def test_request_context_adds_time_transport_and_caller_keys_which_win():
    context = request_context(
        Principal.user(A, "alice"),
        now=NOW,
        source_ip="192.0.2.1",
        extra={"aws:SecureTransport": False, "aws:TagKeys": ["a"]},
    )
    assert ("2024-05-01T12:00:00Z", "1714564800", "false", "192.0.2.1", ("a",)) == (
        context["aws:currenttime"],
        context["aws:epochtime"],
        context["aws:securetransport"],
        context["aws:sourceip"],
        context["aws:tagkeys"],
    )


def test_normalize_context_lowercases_names_but_not_values():
    assert {"aws:resourcetag/project": "Apollo", "n": "3"} == normalize_context(
        {"AWS:ResourceTag/Project": "Apollo", "n": 3}
    )
