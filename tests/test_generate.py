"""`iamledger bench generate`: a synthetic organisation and its history, built with the domain aggregates."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from iamledger.domain.errors import EntityAlreadyExistsError, InvalidInputError
from iamledger.generate import GenerateSpec, generate
from iamledger.store import IdentityStore
from tests.clirunner import run

ACCOUNT = "123456789012"


@pytest.fixture
def store(store_url: str) -> Iterator[IdentityStore]:
    opened = IdentityStore.open(store_url)
    yield opened
    opened.close()


def test_the_organisation_reaches_its_populations_and_its_history_its_size(store):
    spec = GenerateSpec(users=120, groups=8, roles=10, events=3000, policies=5)
    result = generate(store, spec)
    assert result.events >= 3000
    assert (result.users, result.groups, result.roles, result.policies) == (120, 8, 10, 5)
    assert result.last_position == store.projector.head()
    with store.acting(ACCOUNT):
        users = store.list_users(MaxItems=1000)["Users"]
        roles = store.list_roles(MaxItems=1000)["Roles"]
        groups = store.list_groups(MaxItems=1000)["Groups"]
        policies = store.list_policies(Scope="Local", MaxItems=1000)["Policies"]
        assert (len(users), len(groups), len(roles), len(policies)) == (120, 8, 10, 5)
        # the history lives: memberships, attachments and role sessions happened
        members = sum(len(store.get_group(GroupName=g["GroupName"])["Users"]) for g in groups)
        assert members > 0
        assert any(p["AttachmentCount"] > 0 for p in policies)
    assert result.role_sessions > 0
    assert result.users_deleted > 0  # people left (and were replaced)
    # the views built from the events agree with a fresh build, and the hash chain covers every event
    assert store.projector.verify_views()["Consistent"]
    assert store.verify_log().verified


def test_an_existing_account_is_refused_and_nothing_is_written(store):
    store.init(ACCOUNT)
    head = store.projector.head()
    with pytest.raises(EntityAlreadyExistsError, match="already exists"):
        generate(store, GenerateSpec(users=5, groups=2, roles=2, events=200))
    assert store.projector.head() == head


def test_too_few_events_for_the_populations_are_refused_before_anything_is_written(store):
    with pytest.raises(InvalidInputError, match="--events must be at least 2,220"):
        generate(store, GenerateSpec(users=1000, groups=50, roles=50, events=500))
    assert not store.is_initialized()


def test_a_new_account_in_an_initialized_store(store):
    store.init(ACCOUNT)
    result = generate(store, GenerateSpec(users=10, groups=2, roles=2, events=300, account_id="210987654321"))
    assert result.users == 10
    assert store.account_ids() == [ACCOUNT, "210987654321"]
    with store.acting(ACCOUNT):
        assert store.list_users()["Users"] == []


def test_the_cli_generates_and_reports(capsys, store_url):
    done = run(
        capsys,
        *("--db", store_url, "bench", "generate", "--users", "30", "--groups", "3", "--roles", "4"),
        *("--events", "800", "--seed", "3"),
    )
    assert done.exit_code == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["AccountId"] == ACCOUNT
    assert report["Users"] == 30 and report["Groups"] == 3 and report["Roles"] == 4
    assert report["Events"] >= 800 and report["EventsPerSecond"] > 0
    assert "projections rebuild" in done.stderr
    listed = run(capsys, "--db", store_url, "iam", "list-users", "--query", "length(Users)")
    assert listed.stdout.strip() == "30"
    again = run(capsys, "--db", store_url, "bench", "generate", "--users", "5", "--events", "400")
    assert again.exit_code == 254
    assert "EntityAlreadyExists" in again.stderr


def test_the_cli_refuses_too_few_events_as_a_usage_error_of_the_store(capsys, store_url):
    done = run(capsys, "--db", store_url, "bench", "generate", "--users", "100", "--events", "10")
    assert done.exit_code == 254
    assert "InvalidInput" in done.stderr and "--events must be at least" in done.stderr
