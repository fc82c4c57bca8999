"""Tamper evidence: edit, delete, swap and move rows of the events table by hand, and `iamledger audit verify` names
the first position where the log no longer matches its hash chain, with a non-zero exit status."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import delete, text

from iamledger import IdentityStore
from iamledger.projections.log import chain_links, ledger
from iamledger.projections.log.ledger import EventLogCorruptedError
from iamledger.projections.views.tables import POSITIONS
from tests.clirunner import Result, run


def _column(store: IdentityStore) -> str:
    return "rowid" if store.store_url.backend == "sqlite" else "notification_id"


def _sql(store: IdentityStore, statement: str, **params: Any) -> list[Any]:
    """Run ``statement`` on the store's database, ``{events}`` and ``{id}`` naming the events table and its
    notification id column, as someone editing the database file by hand would."""
    query = statement.format(events=store.events_table(), id=_column(store))
    with store.engine.begin() as conn:
        result = conn.execute(text(query), params)
        return list(result) if result.returns_rows else []


def _position_of(store: IdentityStore, topic_suffix: str, nth: int = 0) -> int:
    rows = _sql(store, "SELECT {id} FROM {events} WHERE topic LIKE :t ORDER BY {id}", t=f"%{topic_suffix}")
    return int(rows[nth][0])


def _history(iam: IdentityStore) -> None:
    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.list_users()  # a read: the views and the chain catch up
    iam.add_user_to_group(GroupName="devs", UserName="bob")
    iam.projector.index()  # what a writer does after saving: the chain covers every event


def _verify(capsys: pytest.CaptureFixture[str], store_url: str, *args: str) -> tuple[Result, dict[str, Any]]:
    result = run(capsys, "--db", store_url, "audit", "verify", *args)
    return result, json.loads(result.stdout)


def _edit_state(store: IdentityStore, position: int) -> None:
    """Append a space to the stored JSON: the event still decodes, with the same meaning."""
    if store.store_url.backend == "sqlite":
        _sql(store, "UPDATE {events} SET state = CAST(state || x'20' AS BLOB) WHERE {id} = :p", p=position)
    else:
        _sql(store, "UPDATE {events} SET state = state || '\\x20'::bytea WHERE {id} = :p", p=position)


def _swap(store: IdentityStore, first: int, second: int) -> None:
    """Swap two stored events' places (their notification ids)."""
    _sql(store, "UPDATE {events} SET {id} = :tmp WHERE {id} = :a", tmp=10**9, a=first)
    _sql(store, "UPDATE {events} SET {id} = :a WHERE {id} = :b", a=first, b=second)
    _sql(store, "UPDATE {events} SET {id} = :b WHERE {id} = :tmp", b=second, tmp=10**9)


def test_an_intact_log_verifies_and_prints_its_head(iam: IdentityStore, store_url: str, capsys):
    _history(iam)

    result, report = _verify(capsys, store_url)

    assert 0 == result.exit_code, result.stderr
    with iam.engine.connect() as conn:
        position, _, head = ledger.head(conn)
    assert position == iam.projector.head()
    assert {"Verified": True, "Position": position, "Head": head, "FirstBadPosition": None} == {
        k: report[k] for k in ("Verified", "Position", "Head", "FirstBadPosition")
    }
    assert report["Checked"] == position
    assert result.stderr.startswith("Intact:")


def test_an_edited_event_is_named_even_when_it_still_decodes(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    position = _position_of(iam, "User.Created", nth=1)
    _edit_state(iam, position)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (False, position, "changed") == (report["Verified"], report["FirstBadPosition"], report["Problem"])
    assert f"position {position} was changed" in result.stderr


def test_a_changed_topic_is_named(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    position = _position_of(iam, "Group.Created")
    _sql(iam, "UPDATE {events} SET topic = :t WHERE {id} = :p", t="iamledger.domain.groups:Group.Deleted", p=position)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (position, "changed") == (report["FirstBadPosition"], report["Problem"])


def test_a_deleted_event_is_named(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    position = _position_of(iam, "User.AddedToGroup")
    _sql(iam, "DELETE FROM {events} WHERE {id} = :p", p=position)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (position, "removed") == (report["FirstBadPosition"], report["Problem"])
    assert f"position {position} was removed" in result.stderr


def test_deleting_the_newest_event_is_noticed(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    head = iam.projector.head()
    _sql(iam, "DELETE FROM {events} WHERE {id} = :p", p=head)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (head, "removed") == (report["FirstBadPosition"], report["Problem"])


def test_two_swapped_events_are_named_as_reordered(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    first = _position_of(iam, "User.Created", nth=0)
    second = _position_of(iam, "User.Created", nth=1)
    _swap(iam, first, second)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (first, "reordered") == (report["FirstBadPosition"], report["Problem"])
    assert {first, second} == {p["Position"] for p in report["Problems"]}
    assert f"recorded at position {second}" in result.stderr


def test_swapped_contents_of_two_rows_are_named(iam: IdentityStore, store_url: str, capsys):
    """The rows keep their ids; their stored bytes are exchanged (through a third, free version number)."""
    _history(iam)
    first = _position_of(iam, "User.AddedToGroup", nth=0)
    second = _position_of(iam, "User.AddedToGroup", nth=1)
    columns = "originator_id, originator_version, topic, state"
    a = _sql(iam, f"SELECT {columns} FROM {{events}} WHERE {{id}} = :p", p=first)[0]
    b = _sql(iam, f"SELECT {columns} FROM {{events}} WHERE {{id}} = :p", p=second)[0]
    update = "UPDATE {events} SET originator_id = :o, originator_version = :v, topic = :t, state = :s WHERE {id} = :p"
    _sql(iam, update, o=b[0], v=-1, t=b[2], s=b[3], p=first)
    _sql(iam, update, o=a[0], v=a[1], t=a[2], s=a[3], p=second)
    _sql(iam, "UPDATE {events} SET originator_version = :v WHERE {id} = :p", v=b[1], p=first)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (first, "reordered") == (report["FirstBadPosition"], report["Problem"])


def test_an_edited_checkpoint_is_told_apart_from_an_edited_event(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    with iam.engine.begin() as conn:
        conn.execute(POSITIONS.update().where(POSITIONS.c.position == 3).values(link="f" * 64))

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (3, "checkpoint-changed") == (report["FirstBadPosition"], report["Problem"])


def test_events_recorded_after_the_last_checkpoint_are_covered_or_reported(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    indexed = iam.projector.head()
    iam.create_user(UserName="carol")  # recorded, not yet indexed (no read since)
    with iam.engine.begin() as conn:
        conn.execute(delete(POSITIONS).where(POSITIONS.c.position > indexed))

    result, report = _verify(capsys, store_url, "--no-extend")
    assert 0 == result.exit_code
    assert (indexed, iam.projector.head() - indexed) == (report["Position"], report["UnverifiedTail"])

    result, report = _verify(capsys, store_url)
    assert 0 == result.exit_code
    assert (iam.projector.head(), 0) == (report["Position"], report["UnverifiedTail"])
    assert report["Extended"] == iam.projector.head() - indexed


def test_an_expected_head_detects_a_rewritten_chain(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    _, anchored = _verify(capsys, store_url)
    head, position = anchored["Head"], anchored["Position"]
    iam.create_user(UserName="carol")
    iam.projector.index()

    assert 0 == _verify(capsys, store_url, "--expect-head", head)[0].exit_code
    assert 0 == _verify(capsys, store_url, "--expect-head", f"{position}:{head}")[0].exit_code

    # An attacker edits an event and writes the checkpoints again from there on.
    target = _position_of(iam, "User.Created", nth=0)
    _edit_state(iam, target)
    with iam.engine.begin() as conn:
        conn.execute(delete(POSITIONS).where(POSITIONS.c.position >= target))
    iam.projector.index()
    assert 0 == _verify(capsys, store_url)[0].exit_code

    result, report = _verify(capsys, store_url, "--expect-head", head)
    assert 1 == result.exit_code
    assert (False, "head-mismatch") == (report["Verified"], report["Problem"])
    assert {"Head": head, "Position": None, "Found": False} == report["ExpectedHead"]


def test_a_malformed_expected_head_is_a_validation_error(iam: IdentityStore, store_url: str, capsys):
    result = run(capsys, "--db", store_url, "audit", "verify", "--expect-head", "not-a-hash")
    assert 254 == result.exit_code
    assert "(ValidationError)" in result.stderr


def test_an_undecodable_event_stops_the_projector_with_its_position(iam: IdentityStore, store_url: str, capsys):
    iam.create_user(UserName="alice")
    iam.list_users()
    iam.create_user(UserName="bob")
    position = _position_of(iam, "User.Created", nth=1)
    _sql(iam, "UPDATE {events} SET state = :s WHERE {id} = :p", s=b"\x00 not json", p=position)

    with pytest.raises(EventLogCorruptedError) as raised:
        iam.projector.catch_up()
    assert position == raised.value.position
    assert f"position {position} cannot be decoded" in raised.value.message

    listed = run(capsys, "--db", store_url, "iam", "list-users")
    assert 254 == listed.exit_code
    assert "(EventLogCorrupted)" in listed.stderr
    assert "Traceback" not in listed.stderr

    # The event was checkpointed when it was saved, so verify knows it was changed (not merely unreadable).
    result, report = _verify(capsys, store_url)
    assert 1 == result.exit_code
    assert (position, "changed") == (report["FirstBadPosition"], report["Problem"])


def test_a_tampered_event_is_reported_by_verify_before_any_catch_up_decodes_it(
    iam: IdentityStore, store_url: str, capsys
):
    _history(iam)
    position = _position_of(iam, "User.Created", nth=0)
    _sql(iam, "UPDATE {events} SET state = :s WHERE {id} = :p", s=b"garbage", p=position)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (position, "changed") == (report["FirstBadPosition"], report["Problem"])


def test_events_checkpointed_at_save_time_are_checked_before_any_read(store_url: str, capsys):
    with IdentityStore.open(store_url) as store:
        store.init("123456789012")
        store.create_user(UserName="alice")
        store.create_user(UserName="bob")  # written, never read: the views are still at 0
        assert 0 == store.projector.position()
        with store.engine.connect() as conn:
            assert store.projector.head() == ledger.head(conn)[0]
        assert 0 == _verify(capsys, store_url)[0].exit_code
        position = _position_of(store, "User.Created", nth=1)
        _edit_state(store, position)

    result, report = _verify(capsys, store_url)

    assert 1 == result.exit_code
    assert (position, "changed") == (report["FirstBadPosition"], report["Problem"])


def test_the_batched_links_are_the_links_one_at_a_time():
    """``append`` computes a batch's links inline; they must be :func:`chain_links.link` chained, whatever the types."""
    import os
    import random
    import uuid

    rng = random.Random(5)
    events: list[tuple[Any, ...]] = []
    for i in range(300):
        originator: Any = uuid.uuid4() if i % 3 else uuid.uuid4().hex
        state: Any = os.urandom(rng.randint(0, 200))
        if i % 5 == 0:
            state = memoryview(state)
        topic = "iamledger.domain.users:User.Cr\u00e9\udcff" if i % 7 == 0 else "iamledger.domain.users:User.Created"
        events.append((rng.randint(1, 10**12), originator, rng.randint(1, 10**6), topic, state))
    for previous in (chain_links.GENESIS, "ab" * 32, "not a hex link"):
        expected, current = [], previous
        for event in events:
            current = chain_links.link(current, *event)
            expected.append(current)
        assert ledger._links(previous, events) == expected


def test_the_sqlite_time_format_is_the_bind_processors():
    """The index's SQLite insert formats its time columns itself: exactly as the columns' bind processors do."""
    import random
    from datetime import UTC, datetime, timedelta, timezone

    import sqlalchemy

    compiled = ledger._SQLITE_INSERT.compile(
        dialect=sqlalchemy.create_engine("sqlite://").dialect,
        column_keys=ledger._COLUMNS,
    )
    rng = random.Random(9)
    moments = [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
    for _ in range(2000):
        zone = timezone(timedelta(minutes=rng.randint(-900, 900)))
        micro = rng.choice([0, rng.randint(0, 999_999)])
        moments.append(datetime(rng.randint(2, 9998), 6, 15, rng.randint(0, 23), 30, 0, micro, tzinfo=zone))
    for column in ledger._TIMES:
        process = compiled._bind_processors[column]
        assert [ledger.sqlite_time(m) for m in moments] == [process(m) for m in moments]
