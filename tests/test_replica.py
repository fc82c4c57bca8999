"""Audit and as-of reads on a real PostgreSQL hot standby while writes go to the primary.

``.ci/run`` starts the standby (a second cluster from ``pg_basebackup -R``, streaming from the primary) and sets
``IAMLEDGER_TEST_POSTGRES_REPLICA_URL``; without it the tests that need it are skipped with the reason. The store
lives in a fresh schema of the primary, which the standby receives as it receives everything (a physical copy). A
follower (``iamledger projections follow``, a subprocess on the primary) keeps the views and the trail current
there; the standby only ever reads them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from iamledger import IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import (
    AccessDeniedError,
    ConfigurationError,
    DatabaseUnavailableError,
    ReplicaBehindError,
)
from iamledger.standby import StandbyStore
from tests.clirunner import run
from tests.conftest import POSTGRES_ENV, postgres_base_url

REPLICA_ENV = "IAMLEDGER_TEST_POSTGRES_REPLICA_URL"
ACCOUNT = "123456789012"
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
WAIT = 60.0  # generous: replication and the follower take milliseconds, a loaded CI machine longer


@pytest.fixture
def replica_base() -> str:
    url = os.environ.get(REPLICA_ENV)
    if not url or postgres_base_url() is None:
        pytest.skip(
            f"No PostgreSQL hot standby configured: set {POSTGRES_ENV} and {REPLICA_ENV} (bash .ci/run starts a "
            "primary and a streaming replica and sets both)"
        )
    return url


@pytest.fixture
def primary_url(replica_base: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A store in a fresh schema of the primary; the standby sees it too."""
    del replica_base
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    base = postgres_base_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:20]}"
    yield f"{base}?schema={schema}"
    engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def primary(primary_url: str) -> Iterator[IdentityStore]:
    """The writer: a store on the primary alone (its reads catch up there, as without a replica)."""
    store = IdentityStore.open(primary_url)
    store.init(ACCOUNT)
    store.create_group(GroupName="dev")
    store.attach_group_policy(GroupName="dev", PolicyArn=READ_ONLY)
    store.create_user(UserName="alice")
    store.add_user_to_group(GroupName="dev", UserName="alice")
    store.create_role(RoleName="admin", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{ACCOUNT}:user/alice"))
    store.attach_role_policy(RoleName="admin", PolicyArn=ADMIN)
    yield store
    store.close()


@pytest.fixture
def auditor(primary_url: str, replica_base: str) -> Iterator[IdentityStore]:
    """The same store opened with the standby for its audit and as-of reads."""
    store = IdentityStore.open(primary_url, read_url=replica_base, read_timeout=WAIT)
    yield store
    store.close()


class Follower:
    """``iamledger projections follow`` against the primary, as a deployment runs it."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "iamledger", "--db", url, "projections", "follow", "--interval", "0.05"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        _, err = self.process.communicate(timeout=60)
        assert 0 == self.process.returncode, err


@pytest.fixture
def follower(primary_url: str, primary: IdentityStore) -> Iterator[Follower]:
    following = Follower(primary_url)
    head = primary.projector.head()  # the fixture's writes, which nothing has projected yet
    _until(lambda: primary.projector.position() == head, "the follower to start")  # and to take its signals
    yield following
    if following.process.poll() is None:
        following.stop()


def _trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
    )


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _standby(store: IdentityStore) -> StandbyStore:
    reader = store.reader()
    assert isinstance(reader, StandbyStore)
    return reader


def _in_recovery(reader: StandbyStore) -> bool:
    with reader.engine.connect() as conn:
        return bool(conn.execute(sqlalchemy.text("SELECT pg_is_in_recovery()")).scalar())


def _simulate(source: Any) -> dict[str, Any]:
    return source.simulate_principal_policy(
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/alice", ActionNames=["iam:CreateUser", "iam:ListUsers"]
    )


def test_lookups_who_can_and_simulations_on_the_replica_equal_the_primary_s_while_writes_go_on(
    primary: IdentityStore, auditor: IdentityStore, follower: Follower
):
    reader = _standby(auditor)
    assert _in_recovery(reader)  # a hot standby: any write there would raise, so none may be attempted
    assert reader.store_url.port != primary.store_url.port
    for n in range(5):
        primary.create_user(UserName=f"user{n}")  # written on the primary while the replica serves reads
        if n % 2:
            primary.attach_user_policy(UserName=f"user{n}", PolicyArn=ADMIN)
        else:
            primary.add_user_to_group(GroupName="dev", UserName=f"user{n}")
        head = primary.projector.head()

        past = auditor.at(head)  # waits until the replica's views have reached the write
        assert head == past.position
        assert _simulate(primary.at(head)) == _simulate(past)

        on_replica = auditor.who_can(ActionName="iam:CreateUser", At=f"position:{head}")
        on_primary = primary.who_can(ActionName="iam:CreateUser", At=f"position:{head}")
        assert {"Position": head, "Time": past.time} == on_replica["AsOf"]
        assert on_primary == on_replica
        allowed = {p["Arn"] for p in on_replica["Principals"]}
        assert (f"arn:aws:iam::{ACCOUNT}:user/user{n}" in allowed) == (n % 2 == 1)  # the odd ones hold admin

        audited = auditor.audit_simulate_principal_policy(
            At=head, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/user{n}", ActionNames=["iam:DeleteRole"]
        )
        assert audited == primary.audit_simulate_principal_policy(
            At=head, PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/user{n}", ActionNames=["iam:DeleteRole"]
        )
        assert head == audited["AsOf"]["Position"]

        _until(lambda at=head: reader.trail.positions()[0] == at, "the trail to replicate")  # lookups take no position
        looked_up = auditor.lookup_events(MaxResults=50)
        assert {"Position": head, "SecurityPosition": 0} == looked_up["AsOf"]
        assert primary.lookup_events(MaxResults=50) == looked_up
        assert f"user{n}" in {r["ResourceName"] for e in looked_up["Events"] for r in e["Resources"]}

    alice = f"arn:aws:iam::{ACCOUNT}:user/alice"
    assert primary.what_can(PrincipalArn=alice, At=head) == auditor.what_can(PrincipalArn=alice, At=head)
    diff = auditor.audit_diff(From="position:1", To=head, ActionNames=["iam:CreateUser"])
    assert diff == primary.audit_diff(From="position:1", To=head, ActionNames=["iam:CreateUser"])
    assert (1, head) == (diff["From"]["Position"], diff["To"]["Position"])

    assert 6 == [e["EventName"] for e in looked_up["Events"]].count("CreateUser")  # alice's and the loop's
    assert [r.record for r in auditor.entity_history("user", "user1")] == [
        r.record for r in primary.entity_history("user", "user1")
    ]
    assert _in_recovery(reader)


def test_a_replica_read_answers_where_its_views_are_and_waits_for_a_later_position(
    primary: IdentityStore, auditor: IdentityStore
):
    primary.projector.catch_up()  # no follower here: the test moves the primary's views itself
    primary.trail.catch_up()
    reader = _standby(auditor)
    projected = primary.projector.position()
    _until(lambda: reader.projector.position() == projected, "the views to replicate")
    primary.create_user(UserName="late")  # recorded; nothing projects it while the follower is stopped
    head = primary.projector.head()
    assert projected < head

    now = auditor.who_can(ActionName="iam:CreateUser")
    assert projected == now["AsOf"]["Position"]  # not caught up: the replica reads its views as they are
    assert "late" not in {u["UserName"] for u in auditor.at(projected).list_users()["Users"]}

    def project_later() -> None:
        time.sleep(0.5)
        with IdentityStore.open(primary.store_url.url) as writer:
            writer.projector.catch_up()  # on the primary, as a follower would

    later = threading.Thread(target=project_later)
    later.start()
    started = time.monotonic()
    past = auditor.at(f"position:{head}")
    waited = time.monotonic() - started
    later.join()
    assert head == past.position
    assert waited >= 0.4  # it waited for the primary to project and the standby to replay
    assert "late" in {u["UserName"] for u in past.list_users()["Users"]}
    assert _in_recovery(reader)


def test_a_position_beyond_the_log_s_head_times_out_with_a_clear_error(
    primary_url: str, replica_base: str, primary: IdentityStore, follower: Follower
):
    head = primary.projector.head()
    with IdentityStore.open(primary_url, read_url=replica_base, read_timeout=0.3) as auditor:
        started = time.monotonic()
        with pytest.raises(ReplicaBehindError) as raised:
            auditor.at(head + 10)
        assert time.monotonic() - started >= 0.3
        assert "ReplicaBehind" == raised.value.code
        assert f"behind position {head + 10}" in raised.value.message
        assert f"the log ends at position {head} on the primary" in raised.value.message
        with pytest.raises(ReplicaBehindError):
            auditor.who_can(ActionName="iam:CreateUser", At=head + 10)
        _until(lambda: auditor.reader().projector.position() == head, "the views to replicate")
        assert head == auditor.who_can(ActionName="iam:CreateUser", At=head)["AsOf"]["Position"]


def test_the_cli_sends_audit_and_at_reads_to_read_db(
    primary_url: str, replica_base: str, primary: IdentityStore, follower: Follower, capsys
):
    head = primary.projector.head()
    on_primary = json.loads(
        run(
            capsys, "--db", primary_url, "audit", "who-can", "--action-name", "iam:CreateUser", "--at", f"#{head}"
        ).stdout
    )
    replica = ("--db", primary_url, "--read-db", replica_base)
    who = run(capsys, *replica, "audit", "who-can", "--action-name", "iam:CreateUser", "--at", f"position:{head}")
    assert 0 == who.exit_code, who.stderr
    assert on_primary == json.loads(who.stdout)
    listed = run(capsys, *replica, "iam", "list-users", "--at", f"position:{head}")
    assert 0 == listed.exit_code, listed.stderr
    assert {"alice"} == {u["UserName"] for u in json.loads(listed.stdout)["Users"]}
    assert f"As of position {head}" in listed.stderr
    follower.stop()
    assert primary.reader() is primary  # the writer's own store has no replica
    positions = primary.trail.catch_up()
    with IdentityStore.open(primary_url, read_url=replica_base) as auditor:
        _until(lambda: auditor.reader().trail.positions() == positions, "the trail to replicate")
    looked_up = run(capsys, *replica, "audit", "lookup-events", "--max-results", "5")
    assert 0 == looked_up.exit_code, looked_up.stderr
    assert {"Position": positions[0], "SecurityPosition": positions[1]} == json.loads(looked_up.stdout)["AsOf"]
    behind = run(capsys, *replica, "--read-timeout", "0.2", "iam", "list-users", "--at", f"position:{head + 5}")
    assert 254 == behind.exit_code
    assert "An error occurred (ReplicaBehind)" in behind.stderr


def test_who_may_read_is_decided_on_the_primary_by_the_policies_of_now(primary: IdentityStore, auditor: IdentityStore):
    audit = {"Effect": "Allow", "Action": "iam:GetAccountAuthorizationDetails", "Resource": "*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [audit]})
    primary.create_user(UserName="carol")  # in no group: the policy below is all she holds
    primary.put_user_policy(UserName="carol", PolicyName="audit", PolicyDocument=document)
    granted = primary.projector.catch_up()
    reader = _standby(auditor)
    _until(lambda: reader.projector.position() == granted, "the views to replicate")
    carol = AuditContext(actor=f"arn:aws:iam::{ACCOUNT}:user/carol", request_id=AuditContext.new_request_id())
    with bound_audit_context(carol):
        assert granted == auditor.who_can(ActionName="iam:CreateUser")["AsOf"]["Position"]
    primary.delete_user_policy(UserName="carol", PolicyName="audit")  # no follower: the replica still has the grant
    assert granted == reader.projector.position()
    with bound_audit_context(carol), pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        auditor.who_can(ActionName="iam:CreateUser")
    assert (primary.projector.head(), 1) == primary.trail.catch_up()  # the refusal is in the primary's security log


def test_writes_never_need_the_replica_and_a_wrong_one_is_refused_clearly(primary_url: str, replica_base: str):
    unreachable = "postgresql://iamledger:iamledger@127.0.0.1:1/iamledger"
    with IdentityStore.open(primary_url, read_url=unreachable) as store:
        store.init(ACCOUNT)
        store.create_user(UserName="alice")  # the replica is opened by the first audit read only
        assert ["alice"] == [u["UserName"] for u in store.list_users()["Users"]]
        with pytest.raises(DatabaseUnavailableError, match="Cannot open the read replica"):
            store.who_can(ActionName="iam:CreateUser")
    with pytest.raises(ConfigurationError, match="same schema"):
        IdentityStore.open(primary_url, read_url=f"{replica_base}?schema=elsewhere")


def test_a_replica_needs_a_postgresql_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    with pytest.raises(ConfigurationError, match="needs a PostgreSQL store"):
        IdentityStore.open(f"sqlite:///{tmp_path / 'x.db'}", read_url="postgresql://u:p@127.0.0.1:5433/db")
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened
