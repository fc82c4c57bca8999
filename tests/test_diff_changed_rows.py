"""``audit diff`` reads only the rows that began or ended between its two moments: on a generated account (renames,
deletions and replacements, memberships, versions, keys, sessions), its changes between many pairs of moments equal
those found by reading every row of the account at both moments."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from iamledger import IdentityStore
from iamledger.audit import changes
from iamledger.generate import GenerateSpec, generate


@pytest.fixture
def generated(store: IdentityStore) -> Iterator[IdentityStore]:
    generate(store, GenerateSpec(users=40, groups=6, roles=8, events=1500, seed=11))
    store.projector.catch_up()
    with store.acting("123456789012"):
        yield store


def test_the_changes_between_two_moments_equal_those_of_reading_the_whole_account(generated, monkeypatch):
    head = generated.recorder.max_notification_id() or 0
    picks = random.Random(5)
    pairs = [(0, head), (head - 1, head), *(tuple(sorted(picks.sample(range(head + 1), 2))) for _ in range(12))]
    users = [u["Arn"] for u in generated.list_users()["Users"][:3]]
    questions = [(a, b, arn) for a, b in pairs for arn in (None, *users)]

    def ask(a: int, b: int, arn: str | None) -> dict[str, object]:
        scoped = {} if arn is None else {"PrincipalArn": arn}
        return generated.audit_diff(From=f"position:{a}", To=f"position:{b}", **scoped)

    answers = [ask(*question) for question in questions]
    assert sum(len(a["Changes"]) for a in answers) > 100  # the pairs do see changes
    monkeypatch.setattr(changes, "_both_sides", changes._whole_sides)
    for question, answer in zip(questions, answers, strict=True):
        assert ask(*question) == answer, question
