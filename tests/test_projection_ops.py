"""`iamledger projections status|rebuild|verify|follow`: where the views stand, rebuilding them beside the live ones
and switching over, checking them against a fresh build, and keeping them current from a separate process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

from sqlalchemy import select, text

from iamledger import IdentityStore
from iamledger.projections.log import ledger
from iamledger.projections.views.tables import POSITIONS, TRACKING, USERS, metadata
from tests.clirunner import run

ACCOUNT_ID = "123456789012"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _snapshot(store: IdentityStore) -> dict[str, list[tuple[str, ...]]]:
    """Every view row, without the surrogate key, sorted."""
    tables = {}
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table is TRACKING:
                continue
            columns = [c for c in table.c if c.name != "row_id"]
            tables[table.name] = sorted(tuple(str(v) for v in row) for row in conn.execute(select(*columns)))
    return tables


def _positions(store: IdentityStore) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(POSITIONS).order_by(POSITIONS.c.position))]


def _history(iam: IdentityStore) -> None:
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "a"}])
    iam.create_user(UserName="bob")
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.list_users()  # the views catch up part-way
    iam.add_user_to_group(GroupName="devs", UserName="bob")
    iam.attach_group_policy(GroupName="devs", PolicyArn=READ_ONLY)
    iam.remove_user_from_group(GroupName="devs", UserName="alice")
    iam.update_user(UserName="bob", NewUserName="robert")


def _cli(capsys: Any, store_url: str, *args: str) -> tuple[int, Any, str]:
    result = run(capsys, "--db", store_url, "projections", *args)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


def test_status_reports_the_views_position_the_lag_and_the_chain(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    head = iam.projector.head()

    code, before, _ = _cli(capsys, store_url, "status")
    assert 0 == code
    assert head == before["LogHead"]
    assert before["Position"] < head, "writes since the last read are not applied yet"
    assert head - before["Position"] == before["Lag"]

    iam.projector.catch_up()
    code, after, _ = _cli(capsys, store_url, "status")
    with iam.engine.connect() as conn:
        _, recorded_at, link = ledger.head(conn)
    assert {
        "Position": head,
        "LogHead": head,
        "Lag": 0,
        "Indexed": head,
        "IndexedHead": head,
        "HeadLink": link,
        "HeadRecordedAt": recorded_at.isoformat(),
    } == {k: v for k, v in after.items() if k not in {"Views", "Trail"}}
    users = next(v for v in after["Views"] if v["Table"] == "iamledger_users")
    assert {"Table": "iamledger_users", "Rows": 3, "CurrentRows": 2} == users  # bob was renamed: one row closed

    # the audit trail follows the logs on its own: caught up by a lookup (or by `projections follow`)
    assert after["Trail"]["Position"] < head
    iam.lookup_events(MaxResults=1)
    code, caught_up, _ = _cli(capsys, store_url, "status")
    assert caught_up["Trail"]["Position"] == head
    assert caught_up["Trail"]["Records"] == len(_all_events(iam))


def test_a_rebuild_gives_identical_views_and_keeps_time_travel(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    iam.projector.catch_up()
    views, positions = _snapshot(iam), _positions(iam)
    middle = iam.projector.head() // 2 + 2
    then = iam.at(middle).list_groups_for_user(UserName="alice")
    now = iam.get_account_authorization_details()

    code, result, stderr = _cli(capsys, store_url, "rebuild")

    assert 0 == code, stderr
    assert iam.projector.head() == result["Position"] == iam.projector.position()
    assert views == _snapshot(iam)
    assert positions == _positions(iam), "the time index and the chain are not rebuilt"
    assert then == iam.at(middle).list_groups_for_user(UserName="alice")
    assert now == iam.get_account_authorization_details()
    assert 0 == run(capsys, "--db", store_url, "audit", "verify").exit_code


def test_a_rebuild_catches_up_with_views_that_moved_on_while_it_ran(iam: IdentityStore):
    _history(iam)
    iam.projector.catch_up()
    written: list[int] = []

    def meanwhile(_position: int, _total: int) -> None:
        if not written:  # another process writes and reads during the build
            iam.create_user(UserName="carol")
            written.append(iam.projector.catch_up())

    position = iam.projector.rebuild(meanwhile)

    assert written == [position] == [iam.projector.position()]
    with iam.engine.connect() as conn:
        names = {r[0] for r in conn.execute(select(USERS.c.user_name).where(USERS.c.valid_to.is_(None)))}
    assert {"carol", "robert", "alice"} == names


def test_verify_finds_a_hand_edited_view_row(iam: IdentityStore, store_url: str, capsys):
    _history(iam)
    iam.projector.catch_up()
    code, report, _ = _cli(capsys, store_url, "verify")
    assert 0 == code
    assert (True, 0, iam.projector.position()) == (report["Consistent"], report["Differences"], report["Position"])

    with iam.engine.begin() as conn:
        conn.execute(text("UPDATE iamledger_users SET path = '/evil/' WHERE user_name = 'alice'"))
    code, report, stderr = _cli(capsys, store_url, "verify")

    assert 1 == code
    assert (False, 2) == (report["Consistent"], report["Differences"])
    (users,) = [t for t in report["Tables"] if t["Missing"] or t["Unexpected"]]
    assert ("iamledger_users", 1, 1) == (users["Table"], users["Missing"], users["Unexpected"])
    assert "/evil/" == users["UnexpectedExamples"][0]["path"]
    assert "/" == users["MissingExamples"][0]["path"]
    assert "iamledger_users" in stderr

    assert 0 == _cli(capsys, store_url, "rebuild")[0]
    assert 0 == _cli(capsys, store_url, "verify")[0]


def test_follow_until_idle_catches_up_and_stops(iam: IdentityStore, store_url: str, capsys):
    _history(iam)

    code, result, _ = _cli(capsys, store_url, "follow", "--until-idle", "--interval", "0.05")

    assert 0 == code
    assert iam.projector.head() == result["Position"] == result["LogHead"] == iam.projector.position()


def test_follow_keeps_the_views_current_for_another_process_writing(iam: IdentityStore, store_url: str):
    iam.projector.catch_up()
    follower = subprocess.Popen(
        [sys.executable, "-m", "iamledger", "--db", store_url, "projections", "follow", "--interval", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        for name in ("alice", "bob", "carol"):
            iam.create_user(UserName=name)  # a write does not apply itself to the views
        head = iam.projector.head()
        deadline = time.monotonic() + 60
        while iam.projector.position() < head and time.monotonic() < deadline:
            assert follower.poll() is None, follower.communicate()
            time.sleep(0.05)
        assert head == iam.projector.position()
    finally:
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=60)
    assert 0 == follower.returncode, err
    assert head == json.loads(out)["Position"]


def test_a_pooled_sqlite_connection_commits_durably_again_after_derived_data(tmp_path):
    # The views and checkpoints commit without an fsync (PRAGMA synchronous = NORMAL, a per-connection setting);
    # the pool restores FULL when it gets the connection back, so the vault's next commit on it is durable.
    with IdentityStore.open(f"sqlite:///{tmp_path / 'durable.db'}") as store:
        store.init("123456789012")
        store.create_user(UserName="ann")
        store.projector.catch_up()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL


def _all_events(store: IdentityStore) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    page = store.lookup_events()
    events += page["Events"]
    while page.get("NextToken"):
        page = store.lookup_events(NextToken=page["NextToken"])
        events += page["Events"]
    return events
