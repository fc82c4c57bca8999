"""Accounts and `init`, on every backend."""

from __future__ import annotations

import pytest

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.accounts import Account
from iamledger.domain.errors import (
    EntityAlreadyExistsError,
    NoSuchEntityError,
    StoreAlreadyInitializedError,
    StoreNotInitializedError,
    ValidationError,
)


def _all_events(store: IdentityStore) -> list:
    return list(store.recorder.select_notifications(start=1, limit=10_000))


def test_init_creates_the_first_account_with_a_root_access_key(store: IdentityStore):
    result = store.init("123456789012")

    assert result["Account"]["AccountId"] == "123456789012"
    assert result["Account"]["Arn"] == "arn:aws:iam::123456789012:root"
    key = result["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA")
    assert len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active"
    assert store.account_ids() == ["123456789012"]
    assert store.default_account_id() == "123456789012"


def test_init_without_an_account_id_picks_a_random_twelve_digit_id(store: IdentityStore):
    account_id = store.init()["Account"]["AccountId"]
    assert len(account_id) == 12
    assert account_id.isdigit()


def test_init_on_an_initialized_store_is_refused_and_records_nothing(store: IdentityStore):
    store.init("123456789012")
    before = _all_events(store)

    with pytest.raises(StoreAlreadyInitializedError, match="already initialized"):
        store.init("210987654321")

    assert len(before) == len(_all_events(store))
    assert store.account_ids() == ["123456789012"]


def test_the_root_secret_is_readable_only_through_the_vault(store: IdentityStore):
    key = store.init("123456789012")["AccessKey"]
    assert key["SecretAccessKey"] == store.vault.get_secret(key["AccessKeyId"])


def test_a_store_holds_several_accounts_and_the_first_stays_default(store: IdentityStore):
    store.init("111111111111")
    second = store.create_account("222222222222")

    assert second["Account"]["AccountId"] == "222222222222"
    assert second["AccessKey"]["AccessKeyId"] != store.list_accounts()["Accounts"][0]["AccountId"]
    assert [a["AccountId"] for a in store.list_accounts()["Accounts"]] == ["111111111111", "222222222222"]
    assert store.default_account_id() == "111111111111"
    assert store.resolve_account_id("222222222222") == "222222222222"


def test_creating_an_existing_account_is_refused(store: IdentityStore):
    store.init("111111111111")
    with pytest.raises(EntityAlreadyExistsError):
        store.create_account("111111111111")


@pytest.mark.parametrize("bad", ["12", "1234567890123", "12345678901a", ""])
def test_account_ids_must_be_twelve_digits(store: IdentityStore, bad: str):
    with pytest.raises(ValidationError, match="12 digits"):
        store.init(bad)
    assert not store.is_initialized()


def test_commands_on_an_uninitialized_store_say_to_run_init(store: IdentityStore):
    with pytest.raises(StoreNotInitializedError, match="iamledger init"):
        store.create_account("111111111111")
    with pytest.raises(StoreNotInitializedError):
        store.default_account_id()


def test_an_unknown_account_is_no_such_entity(store: IdentityStore):
    store.init("111111111111")
    with pytest.raises(NoSuchEntityError):
        store.resolve_account_id("999999999999")


def test_every_event_carries_the_bound_audit_context(store: IdentityStore):
    ctx = AuditContext(
        actor="arn:aws:iam::111111111111:root",
        request_id="7a62c49f-347e-4fc4-9331-6e8eEXAMPLE",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        source_ip="192.0.2.10",
        user_agent="aws-cli/2.15.0",
    )
    with bound_audit_context(ctx):
        store.init("111111111111")

    events = [store.mapper.to_domain_event(n) for n in _all_events(store)]
    assert events
    for event in events:
        assert ctx.actor == event.actor
        assert ctx.request_id == event.request_id
        assert ctx.access_key_id == event.access_key_id
        assert ctx.source_ip == event.source_ip
        assert ctx.user_agent == event.user_agent


def test_a_library_call_without_a_context_acts_as_the_account_root(store: IdentityStore):
    store.init("111111111111")
    store.create_account("222222222222")
    created = [e for e in map(store.mapper.to_domain_event, _all_events(store)) if isinstance(e, Account.Created)]
    assert [e.actor for e in created] == ["arn:aws:iam::111111111111:root", "arn:aws:iam::222222222222:root"]
    assert created[0].request_id != created[1].request_id


def test_events_survive_reopening_the_store(store_url: str):
    with IdentityStore.open(store_url) as first:
        first.init("111111111111")
    with IdentityStore.open(store_url) as second:
        assert second.account_ids() == ["111111111111"]
        assert second.get_account()["Account"]["AccountId"] == "111111111111"


def test_get_caller_identity_of_the_root(store: IdentityStore):
    store.init("111111111111")
    assert store.get_caller_identity() == {
        "UserId": "111111111111",
        "Account": "111111111111",
        "Arn": "arn:aws:iam::111111111111:root",
    }
