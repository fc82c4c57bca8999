"""Time travel: the time index, ``store.at(T)`` and ``--at``, and the property that holds the design together: for
random histories and random positions, every as-of answer equals a full in-memory replay of the log up to that
position."""

from __future__ import annotations

import contextlib
import json
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.errors import IdentityStoreError, ValidationError
from iamledger.domain.groups import Group
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.users import User
from iamledger.projections.engine.timeindex import parse_time, resolve
from iamledger.projections.log import chain_links, ledger
from iamledger.projections.views.tables import POSITIONS
from iamledger.services.simulation import simulate_custom_policy
from tests.clirunner import run
from tests.conftest import ACCOUNT_ID, postgres_base_url

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# -- the time index --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-01T09:00:00Z", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T10:00:00+01:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01T09:00:00", datetime(2026, 11, 1, 9, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("90m", NOW - timedelta(minutes=90)),
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30s", NOW - timedelta(seconds=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1793523600", datetime.fromtimestamp(1793523600, UTC)),
        ("now", NOW),
    ],
)
def test_times_are_read_as_iso_dates_durations_ago_or_epoch_seconds(text, expected):
    assert parse_time(text, NOW) == expected


@pytest.mark.parametrize(
    "text", ["yesterday", "7 days", "2026-13-01", "-5m", "", "99999999d", "9" * 20, "0001-01-01T00:00:00+05:00"]
)
def test_an_unreadable_time_is_a_validation_error(text):
    with pytest.raises(ValidationError, match="Invalid time"):
        parse_time(text, NOW)


def _notification(position: int, state: bytes = b"{}") -> SimpleNamespace:
    return SimpleNamespace(
        id=position, originator_id=uuid.UUID(int=position), originator_version=1, topic="t:T", state=state
    )


def test_recorded_times_stay_monotonic_when_writers_clocks_disagree(iam):
    """Event timestamps come from the writers' clocks, not in notification order: the index never goes back."""
    with iam.engine.begin() as conn:
        conn.execute(sqlalchemy.delete(POSITIONS))
        stamps = [NOW, NOW + timedelta(seconds=10), NOW + timedelta(seconds=5), NOW + timedelta(seconds=20)]
        ledger.append(conn, [_notification(p) for p in range(1, 5)], stamps)
        rows = conn.execute(sqlalchemy.select(POSITIONS).order_by(POSITIONS.c.position)).mappings().all()
        assert [r["recorded_at"] for r in rows] == [stamps[0], stamps[1], stamps[1], stamps[3]]
        assert [r["event_time"] for r in rows] == stamps
        # A time between the skewed events maps to the last position recorded at or before it.
        assert resolve(conn, NOW + timedelta(seconds=12), NOW).position == 3
        assert resolve(conn, NOW - timedelta(seconds=1), NOW).position == 0
        assert resolve(conn, "position:2", NOW).time == stamps[1]
        # Each link covers the one before: the same events give the same chain, a changed byte another one.
        links = [r["link"] for r in rows]
        assert len(set(links)) == 4
        expected = chain_links.link(chain_links.GENESIS, 1, uuid.UUID(int=1), 1, "t:T", b"{}")
        assert links[0] == expected
        assert chain_links.link(links[0], 2, uuid.UUID(int=2), 1, "t:T", b"{ }") != links[1]


def test_every_event_gets_a_position_with_a_recorded_time_and_a_link(iam):
    iam.create_user(UserName="alice")
    head = iam.projector.catch_up()
    with iam.engine.connect() as conn:
        rows = conn.execute(sqlalchemy.select(POSITIONS).order_by(POSITIONS.c.position)).mappings().all()
    assert [r["position"] for r in rows] == list(range(1, head + 1))
    times = [r["recorded_at"] for r in rows]
    assert times == sorted(times)
    assert all(len(r["link"]) == 64 for r in rows)


def test_a_position_outside_the_log_is_refused(iam):
    head = iam.projector.catch_up()
    with pytest.raises(ValidationError, match=f"Position {head + 1} is outside the log"):
        iam.at(f"position:{head + 1}")
    assert iam.at(f"#{head}").position == head
    assert iam.at(0).position == 0


# -- store.at ------------------------------------------------------------------------------------------------------


def test_the_past_answers_every_read_as_it_was(iam):
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="dev")
    iam.create_group(GroupName="ops")
    iam.add_user_to_group(UserName="alice", GroupName="dev")
    joined = iam.projector.catch_up()
    iam.add_user_to_group(UserName="alice", GroupName="ops")
    iam.remove_user_from_group(UserName="alice", GroupName="dev")
    iam.update_user(UserName="alice", NewUserName="alice2")
    iam.create_login_profile(UserName="alice2", Password="Correct-Horse-9!")

    past = iam.at(joined)
    assert past.position == joined
    assert [g["GroupName"] for g in past.list_groups_for_user(UserName="alice")["Groups"]] == ["dev"]
    assert [u["UserName"] for u in past.get_group(GroupName="dev")["Users"]] == ["alice"]
    assert [u["UserName"] for u in past.list_users()["Users"]] == ["alice"]
    with pytest.raises(IdentityStoreError, match="alice2 cannot be found"):
        past.get_user(UserName="alice2")
    # The login profile lives in the user aggregate, loaded at the version it had then.
    with pytest.raises(IdentityStoreError, match="Login Profile for User alice cannot be found"):
        past.get_login_profile(UserName="alice")
    assert iam.get_login_profile(UserName="alice2")["LoginProfile"]["UserName"] == "alice2"
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="alice2")["Groups"]] == ["ops"]
    # Before the first event nothing existed.
    assert iam.at(0).list_groups()["Groups"] == []


def test_the_past_is_read_only(iam):
    past = iam.at(0)
    with pytest.raises(AttributeError, match="read-only"):
        past.create_user(UserName="x")
    assert "list_users" in dir(past)
    assert "create_user" not in dir(past)


def test_time_expressions_reach_the_right_position(iam):
    iam.create_user(UserName="alice")
    head = iam.projector.catch_up()
    assert iam.at("1d").position == 0
    assert iam.at(datetime.now(UTC) + timedelta(seconds=5)).position == head
    assert iam.at("2020-01-01").list_users()["Users"] == []


def test_every_read_command_takes_at(iam, store_url, capsys):
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="dev")
    iam.add_user_to_group(UserName="alice", GroupName="dev")
    joined = iam.projector.catch_up()
    iam.remove_user_from_group(UserName="alice", GroupName="dev")

    then = run(
        capsys, "iam", "list-groups-for-user", "--user-name", "alice", "--at", f"position:{joined}", "--db", store_url
    )
    assert then.exit_code == 0, then.stderr
    assert [g["GroupName"] for g in json.loads(then.stdout)["Groups"]] == ["dev"]
    assert f"As of position {joined}" in then.stderr
    now = run(capsys, "iam", "list-groups-for-user", "--user-name", "alice", "--db", store_url)
    assert json.loads(now.stdout)["Groups"] == []

    before = run(capsys, "iam", "get-user", "--user-name", "alice", "--at", "2020-01-01T00:00:00Z", "--db", store_url)
    assert before.exit_code == 254
    assert "(NoSuchEntity) when calling the GetUser operation" in before.stderr

    bad = run(capsys, "iam", "list-users", "--at", "last tuesday", "--db", store_url)
    assert bad.exit_code == 254
    assert "(ValidationError)" in bad.stderr

    # Writes have no --at.
    write = run(capsys, "iam", "create-user", "--user-name", "bob", "--at", "1d", "--db", store_url)
    assert write.exit_code == 2


# -- the property: as-of answers equal an in-memory replay ----------------------------------------------------------

USERS = ["u0", "u1", "u2"]
GROUPS = ["g0", "g1"]
POLICIES = ["p0", "p1"]
ACTIONS = ["s3:GetObject", "s3:PutObject", "ec2:RunInstances", "iam:ListUsers"]


def _document(effect: str, actions: list[str]) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": sorted(actions), "Resource": "*"}]}
    )


documents = st.builds(
    _document, st.sampled_from(["Allow", "Allow", "Deny"]), st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=3)
)
operations = st.one_of(
    st.tuples(st.just("create_user"), st.sampled_from(USERS)),
    st.tuples(st.just("create_group"), st.sampled_from(GROUPS)),
    st.tuples(st.just("add"), st.sampled_from(USERS), st.sampled_from(GROUPS)),
    st.tuples(st.just("remove"), st.sampled_from(USERS), st.sampled_from(GROUPS)),
    st.tuples(st.just("create_policy"), st.sampled_from(POLICIES), documents),
    st.tuples(st.just("new_version"), st.sampled_from(POLICIES), documents, st.booleans()),
    st.tuples(st.just("set_default"), st.sampled_from(POLICIES), st.integers(1, 4)),
    st.tuples(st.just("attach_user"), st.sampled_from(USERS), st.sampled_from(POLICIES)),
    st.tuples(st.just("detach_user"), st.sampled_from(USERS), st.sampled_from(POLICIES)),
    st.tuples(st.just("attach_group"), st.sampled_from(GROUPS), st.sampled_from(POLICIES)),
    st.tuples(st.just("detach_group"), st.sampled_from(GROUPS), st.sampled_from(POLICIES)),
    st.tuples(st.just("put_user_policy"), st.sampled_from(USERS), st.sampled_from(["a", "b"]), documents),
    st.tuples(st.just("delete_user_policy"), st.sampled_from(USERS), st.sampled_from(["a", "b"])),
    st.tuples(st.just("put_group_policy"), st.sampled_from(GROUPS), st.sampled_from(["a", "b"]), documents),
    st.tuples(st.just("rename_user"), st.sampled_from(USERS), st.sampled_from(USERS)),
)


def _policy_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"


def _apply(store: IdentityStore, op: tuple[Any, ...]) -> None:
    """Run one operation; one the store refuses (an unknown name, a duplicate...) records nothing, as in AWS."""
    kind, *args = op
    calls: dict[str, Any] = {
        "create_user": lambda u: store.create_user(UserName=u),
        "create_group": lambda g: store.create_group(GroupName=g),
        "add": lambda u, g: store.add_user_to_group(UserName=u, GroupName=g),
        "remove": lambda u, g: store.remove_user_from_group(UserName=u, GroupName=g),
        "create_policy": lambda p, d: store.create_policy(PolicyName=p, PolicyDocument=d),
        "new_version": lambda p, d, default: store.create_policy_version(
            PolicyArn=_policy_arn(p), PolicyDocument=d, SetAsDefault=default
        ),
        "set_default": lambda p, v: store.set_default_policy_version(PolicyArn=_policy_arn(p), VersionId=f"v{v}"),
        "attach_user": lambda u, p: store.attach_user_policy(UserName=u, PolicyArn=_policy_arn(p)),
        "detach_user": lambda u, p: store.detach_user_policy(UserName=u, PolicyArn=_policy_arn(p)),
        "attach_group": lambda g, p: store.attach_group_policy(GroupName=g, PolicyArn=_policy_arn(p)),
        "detach_group": lambda g, p: store.detach_group_policy(GroupName=g, PolicyArn=_policy_arn(p)),
        "put_user_policy": lambda u, n, d: store.put_user_policy(UserName=u, PolicyName=n, PolicyDocument=d),
        "delete_user_policy": lambda u, n: store.delete_user_policy(UserName=u, PolicyName=n),
        "put_group_policy": lambda g, n, d: store.put_group_policy(GroupName=g, PolicyName=n, PolicyDocument=d),
        "rename_user": lambda u, new: store.update_user(UserName=u, NewUserName=new),
    }
    with contextlib.suppress(IdentityStoreError):
        calls[kind](*args)


@dataclass
class Replay:
    """The identity state folded from the decoded events alone, independently of the views."""

    users: dict[uuid.UUID, str] = field(default_factory=dict)
    groups: dict[uuid.UUID, str] = field(default_factory=dict)
    members: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    attached: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    inline: dict[uuid.UUID, dict[str, str]] = field(default_factory=dict)
    versions: dict[str, dict[str, str]] = field(default_factory=dict)
    default: dict[str, str] = field(default_factory=dict)
    policy_arns: dict[uuid.UUID, str] = field(default_factory=dict)

    def apply(self, event: Any) -> None:
        oid = event.originator_id
        if isinstance(event, (User.Created, User.Updated)):
            self.users[oid] = event.user_name
        elif isinstance(event, Group.Created):
            self.groups[oid] = event.group_name
        elif isinstance(event, User.AddedToGroup):
            self.members.add((oid, event.group_id))
        elif isinstance(event, User.RemovedFromGroup):
            self.members.discard((oid, event.group_id))
        elif isinstance(event, PolicyAttachedEvent):
            self.attached.setdefault(oid, []).append(event.policy_arn)
        elif isinstance(event, PolicyDetachedEvent):
            self.attached[oid].remove(event.policy_arn)
        elif isinstance(event, InlinePolicyPutEvent):
            self.inline.setdefault(oid, {})[event.policy_name] = event.policy_document
        elif isinstance(event, InlinePolicyDeletedEvent):
            del self.inline[oid][event.policy_name]
        elif isinstance(event, ManagedPolicy.Created):
            arn = f"arn:aws:iam::{event.account_id}:policy{event.path}{event.policy_name}"
            self.policy_arns[oid] = arn
            self.versions[arn] = {"v1": event.document}
            self.default[arn] = "v1"
        elif isinstance(event, ManagedPolicy.VersionCreated):
            arn = self.policy_arns[oid]
            self.versions[arn][event.version_id] = event.document
            if event.set_as_default:
                self.default[arn] = event.version_id
        elif isinstance(event, ManagedPolicy.DefaultVersionSet):
            self.default[self.policy_arns[oid]] = event.version_id

    def groups_of(self, user: uuid.UUID) -> list[str]:
        return sorted(self.groups[g] for u, g in self.members if u == user)

    def documents_of(self, user: uuid.UUID) -> list[str]:
        holders = [user] + [g for u, g in self.members if u == user]
        found = []
        for holder in holders:
            found += list(self.inline.get(holder, {}).values())
            found += [self.versions[arn][self.default[arn]] for arn in self.attached.get(holder, [])]
        return found


@contextlib.contextmanager
def _fresh_store(backend: str) -> Iterator[IdentityStore]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            store = IdentityStore.open(f"sqlite:///{Path(folder) / 'history.db'}")
            try:
                yield store
            finally:
                store.close()
        return
    base = postgres_base_url()
    assert base is not None
    schema = f"h_{uuid.uuid4().hex[:20]}"
    store = IdentityStore.open(f"{base}?schema={schema}")
    try:
        yield store
    finally:
        store.close()
        engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(operations, min_size=5, max_size=40), picks=st.lists(st.floats(0, 1), min_size=3, max_size=6))
def test_as_of_answers_equal_an_in_memory_replay(backend, monkeypatch, tmp_path, history, picks):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / f"{uuid.uuid4().hex}.key"))
    with _fresh_store(backend) as store:
        store.init(ACCOUNT_ID)
        start = store.projector.catch_up()
        for op in [("create_user", "u0"), ("create_group", "g0"), *history]:
            _apply(store, op)
        head = store.projector.catch_up()
        events = [
            (n.id, store.mapper.to_domain_event(n))
            for n in store.recorder.select_notifications(start=1, limit=head + 1)
        ]
        positions = sorted({start, head, *(start + round(p * (head - start)) for p in picks)})
        for position in positions:
            replay = Replay()
            for notification_id, event in events:
                if notification_id <= position:
                    replay.apply(event)
            past = store.at(position)
            assert past.position == position
            listed = sorted(u["UserName"] for u in past.list_users()["Users"])
            assert listed == sorted(replay.users.values())
            assert sorted(g["GroupName"] for g in past.list_groups()["Groups"]) == sorted(replay.groups.values())
            for user, name in replay.users.items():
                groups = past.list_groups_for_user(UserName=name)["Groups"]
                assert sorted(g["GroupName"] for g in groups) == replay.groups_of(user)
                attached = past.list_attached_user_policies(UserName=name)["AttachedPolicies"]
                assert [p["PolicyArn"] for p in attached] == replay.attached.get(user, [])
                assert past.list_user_policies(UserName=name)["PolicyNames"] == sorted(replay.inline.get(user, {}))
                documents = replay.documents_of(user)
                expected = simulate_custom_policy(
                    PolicyInputList=documents or [_document("Deny", ["none:None"])], ActionNames=ACTIONS
                )
                simulated = past.simulate_principal_policy(
                    PolicySourceArn=f"arn:aws:iam::{ACCOUNT_ID}:user/{name}", ActionNames=ACTIONS
                )
                decisions = {r["EvalActionName"]: r["EvalDecision"] for r in simulated["EvaluationResults"]}
                assert decisions == {r["EvalActionName"]: r["EvalDecision"] for r in expected["EvaluationResults"]}
            for group, name in replay.groups.items():
                attached = past.list_attached_group_policies(GroupName=name)["AttachedPolicies"]
                assert [p["PolicyArn"] for p in attached] == replay.attached.get(group, [])
            for arn, default in replay.default.items():
                assert past.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == default
                versions = past.list_policy_versions(PolicyArn=arn)["Versions"]
                assert sorted(v["VersionId"] for v in versions) == sorted(replay.versions[arn])


# -- sessions valid at a moment ------------------------------------------------------------------------------------


def test_sessions_count_only_while_valid(iam, store_url, capsys, monkeypatch):
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=trust)
    iam.create_user(UserName="ci-bot")
    iam.put_user_policy(UserName="ci-bot", PolicyName="assume", PolicyDocument=_document("Allow", ["sts:AssumeRole"]))
    issued = datetime.now(UTC).replace(microsecond=0)
    context = AuditContext(actor=f"arn:aws:iam::{ACCOUNT_ID}:user/ci-bot", request_id=AuditContext.new_request_id())
    with bound_audit_context(context):
        credentials = iam.assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/deploy", RoleSessionName="ci", DurationSeconds=900
        )["Credentials"]
    sessions = iam.list_sessions()["Sessions"]
    assert [s["AccessKeyId"] for s in sessions] == [credentials["AccessKeyId"]]
    assert sessions[0]["Arn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/deploy/ci"
    assert "SecretAccessKey" not in sessions[0] and "SessionToken" not in sessions[0]
    assert iam.at(issued + timedelta(minutes=10)).list_sessions(RoleName="deploy")["Sessions"] != []
    assert iam.at(issued + timedelta(minutes=16)).list_sessions()["Sessions"] == []
    assert iam.at(issued - timedelta(minutes=1)).list_sessions()["Sessions"] == []

    shown = run(capsys, "audit", "list-sessions", "--role-name", "deploy", "--db", store_url)
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["Sessions"][0]["AccessKeyId"] == credentials["AccessKeyId"]
    assert credentials["SecretAccessKey"] not in shown.stdout
    later = (issued + timedelta(hours=1)).isoformat()
    expired = run(capsys, "audit", "list-sessions", "--at", later, "--db", store_url)
    assert json.loads(expired.stdout)["Sessions"] == []
    missing = run(capsys, "audit", "list-sessions", "--role-name", "nope", "--db", store_url)
    assert missing.exit_code == 254
