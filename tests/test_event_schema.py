"""Event classes are a stored schema: events recorded by earlier versions must still load."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from iamledger import IdentityStore
from iamledger.domain.accounts import Account, AccountRegistry

FIXTURE = Path(__file__).parent / "fixtures" / "stored-events-v1.json"


def _stored_events() -> list[StoredEvent]:
    return [
        StoredEvent(
            originator_id=uuid.UUID(raw["originator_id"]),
            originator_version=raw["originator_version"],
            topic=raw["topic"],
            state=raw["state"].encode("utf-8"),
        )
        for raw in json.loads(FIXTURE.read_text(encoding="utf-8"))
    ]


def test_frozen_v1_events_reconstruct_the_account_and_registry(store: IdentityStore):
    """If an event class is renamed, moved or changes its fields without an upcaster, this test fails."""
    events = [store.mapper.to_domain_event(stored) for stored in _stored_events()]

    registry = None
    account = None
    for event in events:
        if event.originator_id == AccountRegistry.create_id():
            registry = event.mutate(registry)
        else:
            account = event.mutate(account)

    assert isinstance(registry, AccountRegistry)
    assert registry.account_ids == ["111111111111"]
    assert isinstance(account, Account)
    assert account.account_id == "111111111111"
    assert list(account.root_access_keys) == ["AKIAMPZHX3Q5HMXX25LN"]
    assert all(e.request_id == "0f0e6a6c-3b9c-4a42-9f4b-5d7c0c2f1a10" for e in events)


def test_frozen_v1_events_load_into_a_store_and_serve_reads(store: IdentityStore):
    store.recorder.insert_events(_stored_events())
    assert store.account_ids() == ["111111111111"]
    assert store.get_account()["Account"]["Arn"] == "arn:aws:iam::111111111111:root"
