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


IDENTITY_FIXTURE = Path(__file__).parent / "fixtures" / "stored-identity-events-v1.json"


def test_frozen_v1_identity_events_load_and_build_the_views(store: IdentityStore):
    """Users, groups, policies, roles, instance profiles and aliases recorded by v1 must keep loading."""
    raw = json.loads(IDENTITY_FIXTURE.read_text(encoding="utf-8"))
    store.recorder.insert_events(
        [
            StoredEvent(uuid.UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"].encode())
            for r in raw
        ]
    )
    user = store.get_user(UserName="alice2")["User"]
    assert "/eng/" == user["Path"]
    assert [{"Key": "team", "Value": "core"}] == user["Tags"]
    assert ["alice2"] == [u["UserName"] for u in store.get_group(GroupName="devs")["Users"]]
    policy = store.get_policy(PolicyArn="arn:aws:iam::111111111111:policy/reader")["Policy"]
    assert "v2" == policy["DefaultVersionId"]
    assert 1 == policy["AttachmentCount"]
    role = store.get_role(RoleName="app")["Role"]
    assert "arn:aws:iam::aws:policy/PowerUserAccess" == role["PermissionsBoundary"]["PermissionsBoundaryArn"]
    profile = store.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
    assert ["app"] == [r["RoleName"] for r in profile["Roles"]]
    assert ["example-corp"] == store.list_account_aliases()["AccountAliases"]
    # The commands work on the loaded aggregates too.
    store.remove_user_from_group(GroupName="devs", UserName="alice2")
    assert [] == store.get_group(GroupName="devs")["Users"]


def test_events_are_encoded_by_eventsourcings_own_json_transcoder(iam: IdentityStore):
    """The store encodes events with eventsourcing's JSON transcoder (its public API: ``construct_transcoder``,
    ``register_transcodings``), UTF-8 text as it is rather than ASCII escapes; the hash chain covers those bytes, and
    the store's own encoder of earlier releases (``OneShotJSONTranscoder``) wrote the same bytes."""
    from eventsourcing.persistence import JSONTranscoder

    iam.create_user(UserName="zoe", Path="/team/", Tags=[{"Key": "note", "Value": "zoë: café = ünïcode"}])
    transcoder = iam.mapper.transcoder
    assert type(transcoder) is JSONTranscoder
    stored = [n.state for n in iam.recorder.select_notifications(start=1, limit=1000)]
    assert any("zoë: café = ünïcode".encode() in state for state in stored)
    extra = {
        "n": 1.5,
        "inf": float("inf"),
        "text": 'quotes " and \\ and \u2028, zoë',
        "empty": [],
        "nested": {"id": uuid.uuid4(), "list": [None, True]},
    }
    assert transcoder.decode(transcoder.encode(extra)) == extra
