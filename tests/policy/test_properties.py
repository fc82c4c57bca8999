"""Properties of the whole pipeline (style.md habit 12), with Hypothesis."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from iamledger.domain.policy import (
    AppliedPolicy,
    Decision,
    EvalDecision,
    PolicySet,
    PolicySource,
    Principal,
    Request,
    evaluate,
    normalize_context,
    parse,
    render,
)
from tests.policy.strategies import documents, requests, statements

ALICE = Principal.user("111122223333", "alice", unique_id="AIDAEXAMPLEALICE0001")
SETTINGS = settings(max_examples=120, deadline=None)


def decide(docs: list[dict[str, Any]], request: tuple[str, str, dict[str, Any]]) -> Decision:
    action, resource, context = request
    policies = PolicySet(
        identity=tuple(AppliedPolicy.from_text(json.dumps(doc), PolicySource(f"P{n}")) for n, doc in enumerate(docs))
    )
    return evaluate(Request(ALICE, action, resource, normalize_context(context)), policies)


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), requests)
def test_an_applicable_deny_beats_any_allow(docs: list[dict[str, Any]], request: tuple[str, str, dict[str, Any]]):
    action, resource, _ = request
    deny_all = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "DenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}],
    }
    assert EvalDecision.EXPLICIT_DENY == decide([*docs, deny_all], request).decision
    del action, resource


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), requests, st.randoms(use_true_random=False))
def test_statement_and_policy_order_never_change_the_decision(
    docs: list[dict[str, Any]], request: tuple[str, str, dict[str, Any]], rng: Any
):
    shuffled = [{**doc, "Statement": rng.sample(doc["Statement"], len(doc["Statement"]))} for doc in docs]
    rng.shuffle(shuffled)
    first, second = decide(docs, request), decide(shuffled, request)
    assert (first.decision, sorted(first.matched_sids)) == (second.decision, sorted(second.matched_sids))


@SETTINGS
@given(st.lists(st.lists(statements(effect="Deny"), min_size=1, max_size=3), min_size=0, max_size=2), requests)
def test_without_any_allow_statement_the_decision_is_never_allowed(
    deny_lists: list[list[dict[str, Any]]], request: tuple[str, str, dict[str, Any]]
):
    docs = [{"Version": "2012-10-17", "Statement": statements_} for statements_ in deny_lists]
    assert EvalDecision.ALLOWED != decide(docs, request).decision


@SETTINGS
@given(st.lists(documents(), min_size=1, max_size=3), requests)
def test_decision_is_allowed_exactly_when_an_allow_matches_and_no_deny_does(
    docs: list[dict[str, Any]], request: tuple[str, str, dict[str, Any]]
):
    decision = decide(docs, request)
    effects = {statement.effect.value for statement in decision.matched_statements}
    expected = {
        EvalDecision.ALLOWED: {"Allow"},
        EvalDecision.EXPLICIT_DENY: {"Deny"},
        EvalDecision.IMPLICIT_DENY: set(),
    }
    assert expected[decision.decision] == effects


@SETTINGS
@given(documents())
def test_parse_render_round_trip(doc: dict[str, Any]):
    parsed = parse(json.dumps(doc))
    assert parsed == parse(render(parsed))


@SETTINGS
@given(
    documents(),
    requests,
    st.sampled_from(
        [
            Principal.root("111122223333"),
            Principal.assumed_role("111122223333", "R", "s"),
            Principal.federated_user("111122223333", "f"),
            Principal.service("ec2.amazonaws.com"),
            Principal.anonymous(),
        ]
    ),
)
def test_a_document_that_validates_never_raises_during_evaluation(
    doc: dict[str, Any], request: tuple[str, str, dict[str, Any]], principal: Principal
):
    action, resource, context = request
    policies = PolicySet(identity=(AppliedPolicy.from_text(json.dumps(doc), "P"),), session=())
    assert isinstance(evaluate(Request(principal, action, resource, normalize_context(context)), policies), Decision)
