"""`audit diff` without a principal evaluates only the principals whose decisions can differ (those a changed row
touches, and the holders of policies that read the time), and answers exactly as evaluating every user and role at
both moments would: for random histories with explicit denies, boundaries, renames and policies conditioned on
``aws:CurrentTime`` / ``aws:EpochTime``, at random pairs of moments (positions, and times between events)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import eventsourcing.domain
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection

from iamledger import IdentityStore
from iamledger.audit import diff
from iamledger.audit.decisions import _decision_at
from iamledger.audit.moments import _moment
from iamledger.domain.errors import IdentityStoreError
from iamledger.projections.access import analysis, permissions
from iamledger.projections.engine.projector import Projector
from iamledger.projections.engine.temporal import live, reading_at, reading_now
from iamledger.projections.engine.timeindex import Moment
from iamledger.projections.views.tables import POLICY_SERVICES, ROLES, USERS
from tests.conftest import ACCOUNT_ID
from tests.test_time_travel import _fresh_store
from tests.test_who_can_index import GROUPS, POLICIES, _arn, _run
from tests.test_who_can_index import ROLES as ROLE_NAMES
from tests.test_who_can_index import USERS as USER_NAMES
from tests.test_who_can_index import operations as who_can_operations

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
QUESTIONS = ["s3:GetObject", "ec2:RunInstances", "iam:ListUsers"]
MINUTES = 60  # one event a minute at most: the time conditions name a minute of the first hour


class _Clock:
    """The events' timestamps: a minute after the previous one for each operation."""

    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current

    def tick(self) -> None:
        self.current += timedelta(minutes=1)


def _timed(effect: str, actions: list[str], operator: str, minute: int, epoch: bool) -> str:
    """A statement that holds before (``...LessThan``) or after (``...GreaterThan``) a minute of the first hour."""
    when = START + timedelta(minutes=minute)
    if epoch:
        condition = {f"Numeric{operator}": {"aws:EpochTime": str(int(when.timestamp()))}}
    else:
        condition = {f"Date{operator}": {"aws:CurrentTime": when.strftime("%Y-%m-%dT%H:%M:%SZ")}}
    statement = {"Effect": effect, "Action": sorted(actions), "Resource": "*", "Condition": condition}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


timed_documents = st.builds(
    _timed,
    st.sampled_from(["Allow", "Deny"]),
    st.lists(st.sampled_from(["s3:*", "ec2:RunInstances", "*", "iam:List*"]), min_size=1, max_size=2),
    st.sampled_from(["LessThan", "GreaterThan"]),
    st.integers(0, MINUTES),
    st.booleans(),
)
holders = st.sampled_from(
    [("user", u) for u in USER_NAMES] + [("group", g) for g in GROUPS] + [("role", r) for r in ROLE_NAMES]
)
principals = st.sampled_from([("user", u) for u in USER_NAMES] + [("role", r) for r in ROLE_NAMES])
operations = st.one_of(
    who_can_operations,
    st.tuples(st.just("put"), holders, st.sampled_from(["a", "b", "t"]), timed_documents),
    st.tuples(st.just("create_policy"), st.sampled_from(POLICIES), timed_documents),
    st.tuples(st.just("new_version"), st.sampled_from(POLICIES), timed_documents, st.booleans()),
    st.tuples(st.just("boundary"), principals, st.sampled_from(POLICIES)),
    st.tuples(st.just("rename"), st.sampled_from(USER_NAMES), st.sampled_from(USER_NAMES)),
)


def _run_more(store: IdentityStore, op: tuple[Any, ...]) -> None:
    """The operations of the who-can test, and boundaries and renames."""
    kind, *args = op
    try:
        if kind == "boundary":
            (what, who), policy = args
            setter = getattr(store, f"put_{what}_permissions_boundary")
            setter(**{f"{what.capitalize()}Name": who, "PermissionsBoundary": _arn("policy", policy)})
        elif kind == "rename":
            store.update_user(UserName=args[0], NewUserName=args[1])
        else:
            _run(store, op)
    except IdentityStoreError:
        pass


def _brute_force(store: IdentityStore, first: Moment, second: Moment, actions: list[str]) -> list[dict[str, Any]]:
    """The decisions that flipped, every user and role of the account at either moment evaluated at both (what
    `audit diff` did before it read only candidates)."""
    with store.engine.connect() as conn:
        flips = []
        for kind, entity, arn in _principals_between(conn, ACCOUNT_ID, first, second):
            before = _decision_at(store, conn, kind, entity, first, actions, ["*"], None)
            after = _decision_at(store, conn, kind, entity, second, actions, ["*"], None)
            for (action, resource), was in before.items():
                if was != after[(action, resource)]:
                    flips.append(
                        {
                            "PrincipalArn": arn,
                            "ActionName": action,
                            "ResourceArn": resource,
                            "From": was,
                            "To": after[(action, resource)],
                        }
                    )
        return flips


def _principals_between(conn: Connection, account_id: str, first: Moment, second: Moment) -> list[tuple[str, str, str]]:
    found: dict[str, tuple[str, str, str]] = {}
    for moment in (second, first):
        with reading_at(moment.position):
            for kind, table in (("user", USERS), ("role", ROLES)):
                for row in analysis.live_rows(conn, table, table.c.account_id == account_id):
                    found.setdefault(str(row["entity_uuid"]), (kind, str(row["entity_uuid"]), str(row["arn"])))
    return sorted(found.values(), key=lambda t: (t[0], t[2]))


def _when(store: IdentityStore, start: int, head: int, pick: float, between: bool) -> int | datetime:
    """A position between ``start`` and ``head``, or (``between``) a time half a minute after its event's."""
    position = start + round(pick * (head - start))
    if not between:
        return position
    with reading_now(), store.engine.connect() as conn:
        return _moment(store, conn, position).time + timedelta(seconds=30)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    history=st.lists(operations, min_size=5, max_size=40),
    pairs=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.booleans(), st.booleans()), min_size=1, max_size=4),
)
def test_diff_decisions_equal_evaluating_every_principal(backend, monkeypatch, tmp_path, history, pairs):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / f"{uuid.uuid4().hex}.key"))
    clock = _Clock()
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", clock.now)
    with _fresh_store(backend) as store:
        store.clock = clock.now  # type: ignore[method-assign]
        store.init(ACCOUNT_ID)
        start = store.projector.catch_up()
        # a time-conditioned policy nobody's rows change around: its holders flip with the time alone
        setup = [
            ("create_user", "u0"),
            ("create_group", "g0"),
            ("add", "u0", "g0"),
            ("put", ("group", "g0"), "t", _timed("Deny", ["s3:*"], "GreaterThan", 20, epoch=False)),
            ("put", ("user", "u0"), "a", _timed("Allow", ["s3:*", "ec2:RunInstances"], "LessThan", 30, epoch=True)),
        ]
        for op in [*setup, *history]:
            clock.tick()
            _run_more(store, op)
        clock.tick()
        head = store.projector.catch_up()
        for one, other, one_between, other_between in pairs:
            whens = [_when(store, start, head, one, one_between), _when(store, start, head, other, other_between)]
            with reading_now(), store.engine.connect() as conn:
                moments = sorted(
                    ((_moment(store, conn, w), w) for w in whens), key=lambda m: (m[0].position, m[0].time)
                )
            (first, when_from), (second, when_to) = moments
            answer = store.audit_diff(From=when_from, To=when_to, ActionNames=QUESTIONS)
            assert answer["DecisionChanges"] == _brute_force(store, first, second, QUESTIONS), (when_from, when_to)


def _doc(effect: str, actions: list[str]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": actions, "Resource": "*"}]})


def test_a_policy_reads_the_time_in_a_condition_or_a_variable_of_any_statement():
    assert permissions.reads_time(_timed("Deny", ["s3:*"], "LessThan", 5, epoch=False))
    assert permissions.reads_time(_timed("Allow", ["s3:*"], "GreaterThan", 5, epoch=True))
    variable = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:CurrentTime}"}
    assert permissions.reads_time(json.dumps({"Version": "2012-10-17", "Statement": [variable]}))
    assert not permissions.reads_time(_doc("Allow", ["s3:*"]))
    # the marker is indexed beside the services, for a Deny too (which allows nothing)
    assert permissions.index_entries(_timed("Deny", ["s3:*"], "LessThan", 5, epoch=False)) == {"@time"}
    assert permissions.index_entries(_timed("Allow", ["s3:*"], "LessThan", 5, epoch=False)) == {"s3", "@time"}
    assert permissions.index_entries(_doc("Allow", ["s3:*"])) == {"s3"}


def test_diff_evaluates_only_the_principals_a_change_or_the_time_touches(store, monkeypatch):
    store.init(ACCOUNT_ID)
    for index in range(30):
        store.create_user(UserName=f"user{index}")
    store.create_group(GroupName="devs")
    for index in range(10):
        store.add_user_to_group(UserName=f"user{index}", GroupName="devs")
    store.create_policy(PolicyName="data", PolicyDocument=_doc("Allow", ["s3:*"]))
    store.attach_group_policy(GroupName="devs", PolicyArn=_arn("policy", "data"))
    store.put_user_policy(
        UserName="user20", PolicyName="t", PolicyDocument=_timed("Allow", ["ec2:*"], "LessThan", 5, epoch=False)
    )
    before = store.projector.catch_up()
    store.create_policy_version(
        PolicyArn=_arn("policy", "data"), PolicyDocument=_doc("Deny", ["s3:*"]), SetAsDefault=True
    )
    store.tag_user(UserName="user25", Tags=[{"Key": "team", "Value": "red"}])
    after = store.projector.catch_up()

    evaluated: list[str] = []
    real = diff._decisions

    def counting(subject: Any, *args: Any) -> Any:
        if subject is not None:
            evaluated.append(subject.arn)
        return real(subject, *args)

    monkeypatch.setattr(diff, "_decisions", counting)
    answer = store.audit_diff(From=before, To=after, ActionNames=["s3:GetObject"])
    flipped = {(f["PrincipalArn"], f["From"], f["To"]) for f in answer["DecisionChanges"]}
    assert flipped == {(_arn("user", f"user{i}"), "allowed", "explicitDeny") for i in range(10)}
    # the group's members (the policy's new version), user25 (tagged), user20 (reads the time); at both moments
    expected = {_arn("user", f"user{i}") for i in (*range(10), 20, 25)}
    assert set(evaluated) == expected
    assert len(evaluated) == 2 * len(expected)


def test_a_store_whose_views_predate_the_time_marker_rebuilds_them(store_url, monkeypatch):
    with IdentityStore.open(store_url) as store:
        store.init(ACCOUNT_ID)
        store.create_user(UserName="alice")
        timed = _timed("Allow", ["s3:*"], "LessThan", 5, epoch=False)
        store.put_user_policy(UserName="alice", PolicyName="t", PolicyDocument=timed)
        store.projector.catch_up()
        # as a store built before the marker: no marker rows, no views version
        with store.engine.begin() as conn:
            conn.execute(sqlalchemy.delete(POLICY_SERVICES).where(POLICY_SERVICES.c.service == permissions.TIME_MARKER))
            conn.execute(sqlalchemy.text("DELETE FROM iamledger_tracking WHERE name = 'identity_views_version'"))
    with IdentityStore.open(store_url) as store, store.engine.connect() as conn:
        marked = conn.execute(
            sqlalchemy.select(POLICY_SERVICES.c.name).where(
                POLICY_SERVICES.c.service == permissions.TIME_MARKER, live(POLICY_SERVICES)
            )
        ).all()
        assert [name for (name,) in marked] == ["t"]
        users, roles = permissions.time_dependent_holders(conn, ACCOUNT_ID)
        assert (len(users), roles) == (1, set())


def test_reopening_a_store_of_the_current_views_version_does_not_rebuild_them(store_url, monkeypatch):
    with IdentityStore.open(store_url) as store:
        store.init(ACCOUNT_ID)
        store.create_user(UserName="alice")
        store.projector.catch_up()
    rebuilt: list[object] = []
    monkeypatch.setattr(Projector, "rebuild", lambda self, progress=None: rebuilt.append(self) or 0)
    for _ in range(2):
        with IdentityStore.open(store_url):
            pass
    assert rebuilt == []
