"""The JSON case corpus (tests/policy/cases) run through the library, and the SimulateCustomPolicy-shaped ones
also through ``simulate_custom_policy``, as the CLI runner will."""

from __future__ import annotations

import pytest

from tests.policy.casefile import Case, load_cases, run_case, simulate_case

CASES = load_cases()


def test_the_corpus_has_at_least_200_cases():
    assert len(CASES) >= 200


def test_case_names_are_unique_within_a_file():
    ids = [case.id for case in CASES]
    assert sorted(set(ids)) == sorted(ids)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_case_decision_and_matched_statements(case: Case):
    decision = run_case(case.data)
    expect = case.data["expect"]
    actual = {"decision": decision.decision.value, "matched_sids": sorted(decision.matched_sids, key=str)}
    expected = {"decision": expect["decision"], "matched_sids": sorted(expect["matched_sids"], key=str)}
    if "missing_context_keys" in expect:
        actual["missing_context_keys"] = list(decision.missing_context_keys)
        expected["missing_context_keys"] = expect["missing_context_keys"]
    assert expected == actual


SIMULATED = [case for case in CASES if case.data.get("simulate")]


@pytest.mark.parametrize("case", SIMULATED, ids=lambda case: case.id)
def test_simulatable_case_gives_the_same_decision_through_simulate_custom_policy(case: Case):
    response = simulate_case(case.data)
    assert [case.data["expect"]["decision"]] == [result["EvalDecision"] for result in response["EvaluationResults"]]
