"""The audit analysis over a timeline with known times: simulate as of a moment with the events behind each matched
statement, who-can, what-can, diff and exposure windows, through the library and the CLI, on every backend.

The clock is controlled: every event's timestamp comes from ``eventsourcing.domain.datetime_now_with_tzinfo`` (the
aggregates' timestamp factory), which the ``clock`` fixture replaces; the store's own ``clock`` (session issue and
expiry times, "now") is replaced on the instance. Each step runs under an audit context with a known request id.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import eventsourcing.domain
import pytest

from iamledger import IdentityStore
from iamledger.audit.moments import _reading
from iamledger.audit.simulation import _CredentialBook, _credentials
from iamledger.audit.subjects import Subject, _all_subjects, _all_subjects_one_by_one, _subjects_of
from iamledger.audit.trust import assumable_by
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError, ValidationError
from iamledger.projections.access import effective, policy_reasons
from iamledger.projections.trail.event_names import event_name
from iamledger.projections.trail.query import lookup_events
from tests.clirunner import run

A = "123456789012"
ROOT = f"arn:aws:iam::{A}:root"
ALICE = f"arn:aws:iam::{A}:user/alice"
BOB = f"arn:aws:iam::{A}:user/bob"
READER = f"arn:aws:iam::{A}:role/reader"
POLICY = f"arn:aws:iam::{A}:policy/data"
SESSION = f"arn:aws:sts::{A}:assumed-role/reader/s1"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _doc(*statements: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(actions: list[str] | str, resource: str = "*") -> dict[str, object]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


_Store = IdentityStore


class Clock:
    """A controllable wall clock: ``at(hh, mm)`` moves it to that time of 2026-11-01."""

    def __init__(self) -> None:
        self.current = START

    def now(self) -> datetime:
        return self.current

    def at(self, hour: int, minute: int) -> None:
        self.current = START.replace(hour=hour, minute=minute)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", fake.now)
    return fake


def _head(store: IdentityStore) -> int:
    return int(store.recorder.max_notification_id() or 0)


def _build(store: _Store, clock: Clock) -> dict[str, int]:
    """09:00 init; 09:10 alice, bob; 09:20 group devs; 09:30 policy data v1 (s3 get+put); 09:40 attached to devs;
    09:50 alice joins (req-join); 10:00 role reader (trust: the account) with s3:GetObject; 10:10 alice may assume
    roles; 10:20 alice assumes reader for 15 minutes (req-assume); 10:30 data v2 (put only, req-v2); 10:40 alice
    leaves (req-leave); 10:50 alice rejoins (req-rejoin). Returns the position of each named step's first event."""
    positions: dict[str, int] = {}

    def step(name: str, hour: int, minute: int, call: object, actor: str = ROOT) -> None:
        clock.at(hour, minute)
        before = _head(store)
        with bound_audit_context(AuditContext(actor=actor, request_id=f"req-{name}", source_ip="10.0.0.1")):
            assert callable(call)
            call()
        positions[name] = before + 1

    store.clock = clock.now  # type: ignore[method-assign]
    clock.at(9, 0)
    store.init(A)
    step("alice", 9, 10, lambda: store.create_user(UserName="alice"))
    step("bob", 9, 11, lambda: store.create_user(UserName="bob"))
    step("devs", 9, 20, lambda: store.create_group(GroupName="devs"))
    v1 = _doc(_allow(["s3:GetObject", "s3:PutObject"]))
    step("policy", 9, 30, lambda: store.create_policy(PolicyName="data", PolicyDocument=v1))
    step("attach", 9, 40, lambda: store.attach_group_policy(GroupName="devs", PolicyArn=POLICY))
    step("join", 9, 50, lambda: store.add_user_to_group(UserName="alice", GroupName="devs"))
    trust = _doc(
        {"Effect": "Allow", "Principal": {"AWS": ROOT, "Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    )
    step("role", 10, 0, lambda: store.create_role(RoleName="reader", AssumeRolePolicyDocument=trust))
    reader = _doc(_allow("s3:GetObject"))
    step(
        "role-policy", 10, 1, lambda: store.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=reader)
    )
    assume = _doc(_allow("sts:AssumeRole", READER))
    step(
        "may-assume",
        10,
        10,
        lambda: store.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=assume),
    )
    step(
        "assume",
        10,
        20,
        lambda: store.assume_role(RoleArn=READER, RoleSessionName="s1", DurationSeconds=900),
        actor=ALICE,
    )
    v2 = _doc(_allow("s3:PutObject"))
    step("v2", 10, 30, lambda: store.create_policy_version(PolicyArn=POLICY, PolicyDocument=v2, SetAsDefault=True))
    step("leave", 10, 40, lambda: store.remove_user_from_group(UserName="alice", GroupName="devs"))
    step("rejoin", 10, 50, lambda: store.add_user_to_group(UserName="alice", GroupName="devs"))
    clock.at(11, 0)
    return positions


@pytest.fixture
def timeline(store_url: str, clock: Clock) -> Iterator[tuple[_Store, dict[str, int]]]:
    opened = _Store.open(store_url)
    try:
        positions = _build(opened, clock)
        yield opened, positions
    finally:
        opened.close()


def _at(hour: int, minute: int) -> str:
    return START.replace(hour=hour, minute=minute).isoformat().replace("+00:00", "Z")


# -- simulate with reasons --------------------------------------------------------------------------------------------


def test_simulate_as_of_a_time_names_the_events_that_made_the_policy_apply(timeline):
    store, positions = timeline
    answer = store.audit_simulate_principal_policy(At=_at(9, 55), PolicySourceArn=ALICE, ActionNames=["s3:GetObject"])
    assert answer["AsOf"]["Position"] == positions["join"] + 1  # the join's two events, then nothing until 10:00
    assert answer["AsOf"]["Time"] == START.replace(hour=9, minute=55)
    (result,) = answer["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    (matched,) = result["MatchedStatements"]
    assert matched["SourcePolicyId"] == "data"
    assert matched["GroupName"] == "devs"
    assert matched["PolicyArn"] == POLICY
    events = [(e["Position"], e["EventName"], e["RequestId"], e["Reason"]) for e in matched["Provenance"]]
    assert events == [
        (positions["policy"], "CreatePolicy", "req-policy", "default-version"),
        (positions["attach"], "AttachGroupPolicy", "req-attach", "attachment"),
        (positions["join"], "AddUserToGroup", "req-join", "membership"),
    ]
    join = matched["Provenance"][-1]
    assert join["Actor"] == ROOT
    assert join["SourceIPAddress"] == "10.0.0.1"
    assert join["EventTime"] == START.replace(hour=9, minute=50)
    assert join["UserName"] == "alice"
    assert join["GroupName"] == "devs"


def test_simulate_follows_the_timeline_and_matches_store_at(timeline):
    store, positions = timeline

    def decision(when: str | int, action: str = "s3:GetObject") -> str:
        answer = store.audit_simulate_principal_policy(At=when, PolicySourceArn=ALICE, ActionNames=[action])
        plain = store.at(when).simulate_principal_policy(PolicySourceArn=ALICE, ActionNames=[action])
        assert answer["EvaluationResults"][0]["EvalDecision"] == plain["EvaluationResults"][0]["EvalDecision"]
        return str(answer["EvaluationResults"][0]["EvalDecision"])

    assert decision(_at(9, 45)) == "implicitDeny"  # not yet in the group
    assert decision(f"position:{positions['join'] - 1}") == "implicitDeny"
    assert decision(f"position:{positions['join']}") == "allowed"
    assert decision(_at(10, 35)) == "implicitDeny"  # v2 dropped s3:GetObject
    assert decision(_at(10, 35), "s3:PutObject") == "allowed"
    assert decision(_at(10, 45), "s3:PutObject") == "implicitDeny"  # left the group
    assert decision(_at(10, 55), "s3:PutObject") == "allowed"  # rejoined


def test_after_a_new_default_version_the_provenance_names_that_version_event(timeline):
    store, _ = timeline
    answer = store.audit_simulate_principal_policy(At=_at(10, 55), PolicySourceArn=ALICE, ActionNames=["s3:PutObject"])
    (matched,) = answer["EvaluationResults"][0]["MatchedStatements"]
    events = [(e["EventName"], e["RequestId"]) for e in matched["Provenance"]]
    assert events == [
        ("AttachGroupPolicy", "req-attach"),
        ("CreatePolicyVersion", "req-v2"),
        ("AddUserToGroup", "req-rejoin"),  # the membership in force now, not the first one
    ]
    assert matched["Provenance"][1]["VersionId"] == "v2"


def test_a_role_session_counts_only_while_it_is_valid(timeline):
    store, _ = timeline
    answer = store.audit_simulate_principal_policy(
        At=_at(10, 25), PolicySourceArn=SESSION, ActionNames=["s3:GetObject"]
    )
    assert answer["EvaluationResults"][0]["EvalDecision"] == "allowed"
    assert answer["Session"]["EventName"] == "AssumeRole"
    assert answer["Session"]["RequestId"] == "req-assume"
    assert answer["Session"]["Actor"] == ALICE
    assert "SessionToken" not in json.dumps(answer, default=str)
    (matched,) = answer["EvaluationResults"][0]["MatchedStatements"]
    assert [e["EventName"] for e in matched["Provenance"]] == ["PutRolePolicy"]
    for when in (_at(10, 15), _at(10, 40)):  # before it was issued; after it expired at 10:35
        with pytest.raises(NoSuchEntityError):
            store.audit_simulate_principal_policy(At=when, PolicySourceArn=SESSION, ActionNames=["s3:GetObject"])
    roles = store.audit_simulate_principal_policy(At=_at(10, 25), PolicySourceArn=READER, ActionNames=["s3:GetObject"])
    assert [s["Arn"] for s in roles["Credentials"]["ValidSessions"]] == [SESSION]
    later = store.audit_simulate_principal_policy(At=_at(10, 40), PolicySourceArn=READER, ActionNames=["s3:GetObject"])
    assert later["Credentials"]["ValidSessions"] == []


def test_unknown_principals_and_bad_times_are_aws_errors(timeline):
    store, _ = timeline
    with pytest.raises(NoSuchEntityError):
        store.audit_simulate_principal_policy(At=_at(9, 5), PolicySourceArn=ALICE, ActionNames=["s3:GetObject"])
    with pytest.raises(NoSuchEntityError):
        store.what_can(PrincipalArn=f"arn:aws:iam::{A}:user/ghost")
    with pytest.raises(ValidationError):
        store.who_can(ActionName="s3:GetObject", At="not a time")
    with pytest.raises(ValidationError):
        store.audit_diff(From=_at(10, 0), To=_at(9, 0))


# -- reverse queries ----------------------------------------------------------------------------------------------


def _principals(answer: dict) -> dict[str, list[dict]]:
    return {p["Arn"]: p["Paths"] for p in answer["Principals"]}


def test_who_can_at_different_moments(timeline):
    store, positions = timeline
    early = store.who_can(ActionName="s3:GetObject", ResourceArn="arn:aws:s3:::bucket/key", At=_at(9, 55))
    assert early["AsOf"]["Position"] == positions["join"] + 1
    assert list(_principals(early)) == [ALICE]
    (path,) = _principals(early)[ALICE]
    assert path["Via"] == "group"
    assert path["GroupName"] == "devs"
    assert [e["RequestId"] for e in path["Provenance"]] == ["req-policy", "req-attach", "req-join"]

    both = store.who_can(ActionName="s3:GetObject", At=_at(10, 15))
    paths = _principals(both)
    assert sorted(paths) == [READER, ALICE]
    assert [p["Via"] for p in paths[ALICE]] == ["group", "role"]
    assert paths[ALICE][1]["RoleArn"] == READER
    reader = next(p for p in both["Principals"] if p["Arn"] == READER)
    assert reader["Type"] == "Role"
    assert {"Arn": ALICE, "Type": "User"} in reader["AssumableBy"]
    assert {"Type": "Service", "Principal": "ec2.amazonaws.com", "Conditional": False} in reader["AssumableBy"]
    assert all(a.get("Arn") != BOB for a in reader["AssumableBy"])  # bob has no identity allow

    later = store.who_can(ActionName="s3:GetObject", At=_at(10, 45))
    assert _principals(later)[ALICE] == [{"Via": "role", "RoleArn": READER, "Chain": [READER]}]
    before_trust = store.who_can(ActionName="s3:GetObject", At=_at(10, 5))
    assert next(p for p in before_trust["Principals"] if p["Arn"] == READER)["AssumableBy"] == [
        {"Type": "Service", "Principal": "ec2.amazonaws.com", "Conditional": False}
    ]


def test_what_can_summarises_by_service(timeline):
    store, _ = timeline
    answer = store.what_can(PrincipalArn=ALICE, At=_at(10, 15))
    services = {s["Service"]: s for s in answer["Services"]}
    assert set(services) == {"s3", "sts"}
    s3 = services["s3"]
    assert s3["Allow"][0]["Actions"] == ["s3:GetObject", "s3:PutObject"]
    assert s3["Allow"][0]["Source"]["GroupName"] == "devs"
    assert s3["AllActions"] is False
    assert services["sts"]["AllowedActions"] == [
        {"Action": "sts:AssumeRole", "Resources": [READER], "Conditional": False}
    ]
    after = store.what_can(PrincipalArn=ALICE, At=_at(10, 45))
    assert {s["Service"] for s in after["Services"]} == {"sts"}


# -- diff and exposure ------------------------------------------------------------------------------------------------


def test_diff_lists_exactly_the_changes_with_their_events(timeline):
    store, positions = timeline
    answer = store.audit_diff(
        From=_at(9, 55), To=_at(10, 45), PrincipalArn=ALICE, ActionNames=["s3:GetObject", "s3:PutObject"]
    )
    assert answer["From"]["Position"] == positions["join"] + 1
    assert answer["To"]["Position"] == positions["leave"] + 1
    changes = [(c["Category"], c["Change"]) for c in answer["Changes"]]
    assert changes == [
        ("InlinePolicy", "Added"),
        ("Session", "Added"),
        ("Policy", "Changed"),
        ("PolicyVersion", "Added"),
        ("GroupMembership", "Removed"),
    ]
    by_category = {c["Category"]: c for c in answer["Changes"]}
    assert by_category["Policy"]["Changed"] == {"DefaultVersionId": {"From": "v1", "To": "v2"}}
    assert [e["RequestId"] for e in by_category["Policy"]["Events"]] == ["req-v2"]
    membership = by_category["GroupMembership"]
    assert (membership["UserName"], membership["GroupName"]) == ("alice", "devs")
    assert [(e["Position"], e["EventName"]) for e in membership["Events"]] == [
        (positions["leave"], "RemoveUserFromGroup")
    ]
    assert by_category["Session"]["Arn"] == SESSION
    flips = {(f["ActionName"], f["From"], f["To"]) for f in answer["DecisionChanges"]}
    assert flips == {("s3:GetObject", "allowed", "implicitDeny"), ("s3:PutObject", "allowed", "implicitDeny")}

    everyone = store.audit_diff(From=_at(9, 55), To=_at(10, 45))
    categories = {(c["Category"], c["Change"]) for c in everyone["Changes"]}
    assert ("Role", "Added") in categories
    assert ("InlinePolicy", "Added") in categories  # alice's and the role's
    assert len([c for c in everyone["Changes"] if c["Category"] == "InlinePolicy"]) == 2
    unchanged = store.audit_diff(From=_at(10, 35), To=_at(10, 55), PrincipalArn=ALICE)
    assert unchanged["Changes"] == []  # left and rejoined: the same state at both moments


def test_exposure_windows_open_and_close_at_the_events(timeline):
    store, positions = timeline
    get = store.exposure(PrincipalArn=ALICE, ActionName="s3:GetObject", ResourceArn="arn:aws:s3:::bucket/key")
    (window,) = get["Windows"]
    assert window["From"]["Position"] == positions["join"]
    assert window["From"]["Event"]["RequestId"] == "req-join"
    assert window["From"]["Time"] == START.replace(hour=9, minute=50)
    assert window["To"]["Position"] == positions["v2"]
    assert window["To"]["Event"]["EventName"] == "CreatePolicyVersion"
    assert get["AllowedAtEnd"] is False

    put = store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject")
    spans = [(w["From"]["Position"], w["To"] and w["To"]["Position"]) for w in put["Windows"]]
    assert spans == [(positions["join"], positions["leave"]), (positions["rejoin"], None)]
    assert put["AllowedAtEnd"] is True
    recent = store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject", From=_at(10, 45))
    assert [w["From"]["Position"] for w in recent["Windows"]] == [positions["rejoin"]]
    old = store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject", To=_at(10, 45))
    assert [w["To"] and w["To"]["Position"] for w in old["Windows"]] == [positions["leave"]]
    assert store.exposure(PrincipalArn=BOB, ActionName="s3:PutObject")["Windows"] == []
    with pytest.raises(InvalidInputError, match="is after To"):  # a range that ends before it starts
        store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject", From=_at(10, 45), To=_at(10, 0))


def test_without_arn_reuse_each_answer_names_the_one_holder(timeline):
    store, positions = timeline
    alice = store.get_user(UserName="alice")["User"]["UserId"]
    diff = store.audit_diff(From=_at(9, 55), To=_at(10, 45), PrincipalArn=ALICE)
    assert diff["PrincipalIds"] == {"From": alice, "To": alice}
    put = store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject")
    (series,) = put["Principals"]
    assert series["PrincipalId"] == alice
    assert series["Windows"] == put["Windows"]
    assert [w["PrincipalId"] for w in put["Windows"]] == [alice, alice]
    assert [w["From"]["Position"] for w in put["Windows"]] == [positions["join"], positions["rejoin"]]


# -- an ARN reused by a new principal -----------------------------------------------------------------------------


def _reused(store: _Store, clock: Clock, how: str) -> dict[str, Any]:
    """09:00 init; 09:10 the first alice; 09:20 group devs, 09:21 policy data (s3:GetObject), 09:22 attached to devs;
    09:30 alice joins devs; 09:40 bob, 09:41 bob's inline s3:PutObject; 10:00 alice leaves devs (req-leave); 10:05
    alice deleted (req-delete); then the second alice (req-second): bob renamed to alice at 10:10 (``rename``), or a
    new user alice created at 10:10 and given bob's inline policy at 10:12 (``recreate``, req-put). Returns the
    position of each named step's first event and both alices' unique ids (``first_id``, ``second_id``)."""
    found: dict[str, Any] = {}

    def step(name: str, hour: int, minute: int, call: Callable[[], object]) -> object:
        clock.at(hour, minute)
        before = _head(store)
        with bound_audit_context(AuditContext(actor=ROOT, request_id=f"req-{name}", source_ip="10.0.0.1")):
            result = call()
        found[name] = before + 1
        return result

    store.clock = clock.now  # type: ignore[method-assign]
    clock.at(9, 0)
    store.init(A)
    first = step("alice", 9, 10, lambda: store.create_user(UserName="alice"))
    step("devs", 9, 20, lambda: store.create_group(GroupName="devs"))
    step("policy", 9, 21, lambda: store.create_policy(PolicyName="data", PolicyDocument=_doc(_allow("s3:GetObject"))))
    step("attach", 9, 22, lambda: store.attach_group_policy(GroupName="devs", PolicyArn=POLICY))
    step("join", 9, 30, lambda: store.add_user_to_group(UserName="alice", GroupName="devs"))
    put = _doc(_allow("s3:PutObject"))
    step("bob", 9, 40, lambda: store.create_user(UserName="bob"))
    step("bob-put", 9, 41, lambda: store.put_user_policy(UserName="bob", PolicyName="put", PolicyDocument=put))
    step("leave", 10, 0, lambda: store.remove_user_from_group(UserName="alice", GroupName="devs"))
    step("delete", 10, 5, lambda: store.delete_user(UserName="alice"))
    if how == "rename":
        step("second", 10, 10, lambda: store.update_user(UserName="bob", NewUserName="alice"))
    else:
        step("second", 10, 10, lambda: store.create_user(UserName="alice"))
        step("put", 10, 12, lambda: store.put_user_policy(UserName="alice", PolicyName="put", PolicyDocument=put))
    clock.at(10, 30)
    found["first_id"] = cast("dict[str, Any]", first)["User"]["UserId"]
    found["second_id"] = store.get_user(UserName="alice")["User"]["UserId"]
    assert found["first_id"] != found["second_id"]
    return found


@pytest.fixture(params=["rename", "recreate"])
def reused(request: pytest.FixtureRequest, store_url: str, clock: Clock) -> Iterator[tuple[_Store, dict[str, Any]]]:
    opened = _Store.open(store_url)
    try:
        found = _reused(opened, clock, request.param)
        found["how"] = request.param
        yield opened, found
    finally:
        opened.close()


def test_diff_of_a_reused_arn_compares_each_moments_holder(reused):
    store, found = reused
    answer = store.audit_diff(
        From=_at(9, 45), To=_at(10, 20), PrincipalArn=ALICE, ActionNames=["s3:GetObject", "s3:PutObject"]
    )
    flips = {(f["PrincipalArn"], f["ActionName"], f["From"], f["To"]) for f in answer["DecisionChanges"]}
    assert flips == {
        (ALICE, "s3:GetObject", "allowed", "implicitDeny"),  # the first alice's, through devs
        (ALICE, "s3:PutObject", "implicitDeny", "allowed"),  # the second alice's inline policy
    }
    assert answer["PrincipalIds"] == {"From": found["first_id"], "To": found["second_id"]}
    changes = [(c["Category"], c["Change"], [e["Position"] for e in c["Events"]]) for c in answer["Changes"]]
    if found["how"] == "rename":
        # bob's inline policy did not change: it came to the ARN with the rename, the event shown.
        added = [("User", "Added", [found["second"]]), ("InlinePolicy", "Added", [found["second"]])]
    else:
        added = [("User", "Added", [found["second"]]), ("InlinePolicy", "Added", [found["put"]])]
    assert changes == [
        ("GroupMembership", "Removed", [found["leave"]]),
        ("User", "Removed", [found["delete"]]),
        *added,
    ]
    users = [c for c in answer["Changes"] if c["Category"] == "User"]
    assert [(c["UserName"], c["Arn"]) for c in users] == [("alice", ALICE), ("alice", ALICE)]
    assert answer["Changes"][0]["UserName"] == "alice"  # the first alice's membership


def test_diff_of_an_arn_without_a_holder_at_one_moment_has_an_empty_side(reused):
    store, found = reused
    actions = ["s3:GetObject", "s3:PutObject"]
    gone = store.audit_diff(From=_at(9, 45), To=_at(10, 7), PrincipalArn=ALICE, ActionNames=actions)
    assert [(f["ActionName"], f["From"], f["To"]) for f in gone["DecisionChanges"]] == [
        ("s3:GetObject", "allowed", "implicitDeny")
    ]
    assert [(c["Category"], c["Change"]) for c in gone["Changes"]] == [
        ("GroupMembership", "Removed"),
        ("User", "Removed"),
    ]
    assert gone["PrincipalIds"] == {"From": found["first_id"], "To": None}
    back = store.audit_diff(From=_at(10, 7), To=_at(10, 20), PrincipalArn=ALICE, ActionNames=actions)
    assert [(f["ActionName"], f["From"], f["To"]) for f in back["DecisionChanges"]] == [
        ("s3:PutObject", "implicitDeny", "allowed")
    ]
    assert back["PrincipalIds"] == {"From": None, "To": found["second_id"]}
    assert [(c["Category"], c["Change"]) for c in back["Changes"]] == [("User", "Added"), ("InlinePolicy", "Added")]
    if found["how"] == "rename":  # renamed to alice, bob's ARN names no one: its rows leave with the rename
        renamed = store.audit_diff(From=_at(9, 45), To=_at(10, 20), PrincipalArn=BOB, ActionNames=actions)
        assert [(f["ActionName"], f["From"], f["To"]) for f in renamed["DecisionChanges"]] == [
            ("s3:PutObject", "allowed", "implicitDeny")
        ]
        assert [(c["Category"], c["Change"], [e["Position"] for e in c["Events"]]) for c in renamed["Changes"]] == [
            ("User", "Removed", [found["second"]]),
            ("InlinePolicy", "Removed", [found["second"]]),
        ]
        assert renamed["Changes"][0]["UserName"] == "bob"
        assert renamed["PrincipalIds"] == {"From": found["second_id"], "To": None}
    never = store.audit_diff(From=_at(9, 5), To=_at(9, 8), PrincipalArn=ALICE, ActionNames=actions)
    assert never["PrincipalIds"] == {"From": None, "To": None}
    assert never["Changes"] == []
    assert never["DecisionChanges"] == []


def _series(answer: dict[str, Any]) -> list[tuple[str, list[tuple[int, int | None]]]]:
    return [
        (s["PrincipalId"], [(w["From"]["Position"], w["To"] and w["To"]["Position"]) for w in s["Windows"]])
        for s in answer["Principals"]
    ]


def test_exposure_of_a_reused_arn_reports_a_series_per_holder(reused):
    store, found = reused
    first, second = found["first_id"], found["second_id"]
    get = store.exposure(PrincipalArn=ALICE, ActionName="s3:GetObject")
    assert [(w["From"]["Position"], w["To"]["Position"]) for w in get["Windows"]] == [(found["join"], found["leave"])]
    assert _series(get) == [(first, [(found["join"], found["leave"])]), (second, [])]
    assert [w["PrincipalId"] for w in get["Windows"]] == [first]
    assert get["AllowedAtEnd"] is False
    put = store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject")
    # Renamed, bob's permission counts for the ARN alice from the rename only.
    opened = found["second"] if found["how"] == "rename" else found["put"]
    assert _series(put) == [(first, []), (second, [(opened, None)])]
    assert put["Windows"][0]["From"]["Event"]["RequestId"] == f"req-{'second' if found['how'] == 'rename' else 'put'}"
    assert put["AllowedAtEnd"] is True
    recent = store.exposure(PrincipalArn=ALICE, ActionName="s3:PutObject", From=_at(10, 7))
    assert [s["PrincipalId"] for s in recent["Principals"]] == [second]  # the first alice was gone by then
    early = store.exposure(PrincipalArn=ALICE, ActionName="s3:GetObject", To=_at(10, 7))
    assert _series(early) == [(first, [(found["join"], found["leave"])])]
    if found["how"] == "rename":  # the ARN bob named bob until the rename
        bob = store.exposure(PrincipalArn=BOB, ActionName="s3:PutObject")
        assert _series(bob) == [(second, [(found["bob-put"], found["second"])])]
        assert bob["AllowedAtEnd"] is False


def test_cli_shows_each_moments_holder_of_a_reused_arn(reused, store_url, capsys):
    _, found = reused
    diff = run(
        capsys,
        "audit", "diff", "--from", _at(9, 45), "--to", _at(10, 20), "--principal-arn", ALICE, "--output", "text",
        "--db", store_url,
    )  # fmt: skip
    assert diff.exit_code == 0, diff.stderr
    header = diff.stdout.splitlines()[0]
    assert header.endswith(f"affecting {ALICE}, held by {found['first_id']} then by {found['second_id']}")
    gone = run(
        capsys,
        "audit", "diff", "--from", _at(9, 45), "--to", _at(10, 7), "--principal-arn", ALICE, "--output", "text",
        "--db", store_url,
    )  # fmt: skip
    assert gone.stdout.splitlines()[0].endswith(f"affecting {ALICE}, held by {found['first_id']} then by no one")
    exposure = run(
        capsys,
        "audit", "exposure", "--principal-arn", ALICE, "--action-name", "s3:GetObject", "--output", "text",
        "--db", store_url,
    )  # fmt: skip
    assert exposure.exit_code == 0, exposure.stderr
    lines = exposure.stdout.splitlines()
    assert lines[1] == f"held by {found['first_id']}:"
    assert lines[2].startswith(f"[1] allowed from 2026-11-01T09:30:00+00:00  #{found['join']} AddUserToGroup")
    assert lines[3].startswith(f"    until 2026-11-01T10:00:00+00:00  #{found['leave']} RemoveUserFromGroup")
    assert lines[4:] == [f"held by {found['second_id']}:", "  never allowed"]
    as_json = _json(
        capsys, "audit", "exposure", "--principal-arn", ALICE, "--action-name", "s3:GetObject", "--db", store_url
    )
    assert [s["PrincipalId"] for s in as_json["Principals"]] == [found["first_id"], found["second_id"]]


def test_event_names_follow_the_api_operations():
    from iamledger.domain.groups import Group
    from iamledger.domain.users import User

    assert event_name(object.__new__(Group.PolicyAttached)) == "AttachGroupPolicy"
    assert event_name(object.__new__(User.PermissionsBoundaryPut)) == "PutUserPermissionsBoundary"
    assert event_name(object.__new__(User.AddedToGroup)) == "AddUserToGroup"


def test_the_audit_trail_names_every_call_as_the_operations_table_does(timeline):
    """One table says which operation recorded an event; the trail's records must agree with it."""
    store, _ = timeline
    by_request: dict[str, set[str]] = {}
    for notification in store.recorder.select_notifications(start=1, limit=100_000):
        event = store.mapper.to_domain_event(notification)
        by_request.setdefault(event.request_id, set()).add(event_name(event))
    records, token = [], None
    while True:
        page = lookup_events(store, NextToken=token)
        records += [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]
        token = page.get("NextToken")
        if token is None:
            break
    checked = [r for r in records if "iamledgerPosition" in r]
    assert len(checked) > 10
    for record in checked:
        assert record["eventName"] in by_request[record["requestID"]], record


# -- the command line ---------------------------------------------------------------------------------------------


def _json(capsys, *args: str) -> dict:
    result = run(capsys, *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_cli_commands_answer_in_json(timeline, store_url, capsys):
    _, positions = timeline
    db = ("--db", store_url)
    simulated = _json(
        capsys,
        "audit", "simulate-principal-policy", "--policy-source-arn", ALICE, "--action-names", "s3:GetObject",
        "s3:PutObject", "--at", _at(9, 55), *db,
    )  # fmt: skip
    assert simulated["AsOf"]["Position"] == positions["join"] + 1
    assert simulated["AsOf"]["Time"] == "2026-11-01T09:55:00+00:00"
    assert [r["EvalDecision"] for r in simulated["EvaluationResults"]] == ["allowed", "allowed"]
    provenance = simulated["EvaluationResults"][0]["MatchedStatements"][0]["Provenance"]
    assert provenance[-1]["RequestId"] == "req-join"
    assert provenance[-1]["EventTime"] == "2026-11-01T09:50:00+00:00"

    who = _json(capsys, "audit", "who-can", "--action-name", "s3:GetObject", "--at", _at(10, 15), *db)
    assert [p["Arn"] for p in who["Principals"]] == [READER, ALICE]
    what = _json(capsys, "audit", "what-can", "--principal-arn", ALICE, "--at", f"position:{positions['join']}", *db)
    assert what["AsOf"]["Position"] == positions["join"]
    assert {s["Service"] for s in what["Services"]} == {"s3"}
    diff = _json(
        capsys,
        "audit", "diff", "--from", _at(9, 55), "--to", _at(10, 45), "--principal-arn", ALICE,
        "--action-names", "s3:GetObject", *db,
    )  # fmt: skip
    assert diff["From"]["Position"] == positions["join"] + 1
    assert [f["To"] for f in diff["DecisionChanges"]] == ["implicitDeny"]
    exposure = _json(capsys, "audit", "exposure", "--principal-arn", ALICE, "--action-name", "s3:PutObject", *db)
    assert [w["From"]["Position"] for w in exposure["Windows"]] == [positions["join"], positions["rejoin"]]
    with_context = _json(
        capsys,
        "audit", "who-can", "--action-name", "s3:GetObject", "--context-entries",
        "ContextKeyName=aws:SourceIp,ContextKeyValues=10.1.2.3,ContextKeyType=ip", *db,
    )  # fmt: skip
    assert [p["Arn"] for p in with_context["Principals"]] == [READER, ALICE]


def test_cli_renders_a_diff_and_a_timeline_as_text(timeline, store_url, capsys):
    _, positions = timeline
    diff = run(
        capsys,
        "audit", "diff", "--from", _at(9, 55), "--to", _at(10, 45), "--principal-arn", ALICE,
        "--action-names", "s3:GetObject", "--output", "table", "--db", store_url,
    )  # fmt: skip
    assert diff.exit_code == 0, diff.stderr
    lines = diff.stdout.splitlines()
    assert lines[0].startswith(f"Changes from position {positions['join'] + 1} (2026-11-01T09:55:00+00:00)")
    assert "- GroupMembership UserName=alice GroupName=devs" in lines
    assert "~ Policy PolicyName=data Arn=arn:aws:iam::123456789012:policy/data DefaultVersionId=v2" in lines
    assert "    DefaultVersionId: v1 -> v2" in lines
    assert any(line.startswith(f"    #{positions['leave']} RemoveUserFromGroup ") for line in lines)
    assert f"- {ALICE} s3:GetObject on *: allowed -> implicitDeny" in lines
    assert "\x1b[" not in diff.stdout  # no colours when stdout is not a terminal
    timeline_text = run(
        capsys,
        "audit", "exposure", "--principal-arn", ALICE, "--action-name", "s3:PutObject", "--output", "text",
        "--db", store_url,
    )  # fmt: skip
    assert timeline_text.exit_code == 0, timeline_text.stderr
    text = timeline_text.stdout.splitlines()
    assert text[1].startswith(f"[1] allowed from 2026-11-01T09:50:00+00:00  #{positions['join']} AddUserToGroup")
    assert text[2].startswith(f"    until 2026-11-01T10:40:00+00:00  #{positions['leave']} RemoveUserFromGroup")
    assert text[4] == "    still allowed"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("what-can", "--principal-arn", f"arn:aws:iam::{A}:user/ghost"), "NoSuchEntity"),
        (("who-can", "--action-name", "s3:GetObject", "--at", "yesterday-ish"), "ValidationError"),
        (("exposure", "--principal-arn", f"arn:aws:iam::{A}:role/ghost", "--action-name", "s3:x"), "NoSuchEntity"),
        (("simulate-principal-policy", "--policy-source-arn", SESSION, "--action-names", "s3:GetObject", "--at",
          "2026-11-01T10:40:00Z"), "NoSuchEntity"),
        (("diff", "--from", "position:999999"), "ValidationError"),
        (("who-can", "--action-name", "x"), "ValidationError"),  # the policy language's error, streamed
        (("who-can", "--action-name", "s3:Get*"), "InvalidInput"),
        (("exposure", "--principal-arn", f"arn:aws:iam::{A}:user/alice", "--action-name", "s3:GetObject", "--from",
          "9999-12-31"), "InvalidInput"),
        (("what-can", "--principal-arn", f"arn:aws:iam::{A}:user/alice", "--at", "99999999d"), "ValidationError"),
    ],
)  # fmt: skip
def test_cli_bad_input_is_an_aws_style_error(timeline, store_url, capsys, args, code):
    result = run(capsys, "audit", *args, "--db", store_url)
    assert result.exit_code == 254
    assert f"An error occurred ({code})" in result.stderr
    assert "Traceback" not in result.stderr


# -- the set-based reads of who-can against the per-principal ones ---------------------------------------------------


def _mixed(store: _Store, clock: Clock, seed: int) -> None:
    """Add users, groups, roles, tags, inline and managed policies, boundaries, memberships and removals, chosen
    by a seeded random generator, after the timeline."""
    rng = random.Random(seed)
    clock.at(11, 5)
    users, groups, roles, policies = ["alice", "bob"], ["devs"], ["reader"], [POLICY]
    aws = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    for number in range(3):
        arn = store.create_policy(PolicyName=f"p{number}", PolicyDocument=_doc(_allow(f"s3:Get{'*' * number}")))
        policies.append(arn["Policy"]["Arn"])
    for step in range(60):
        choice = rng.randrange(10)
        if choice == 0:
            name = f"u{step}"
            store.create_user(UserName=name, Tags=[{"Key": "team", "Value": rng.choice(["a", "b"])}])
            users.append(name)
        elif choice == 1:
            groups.append(f"g{step}")
            store.create_group(GroupName=groups[-1])
        elif choice == 2:
            roles.append(f"r{step}")
            named = rng.choice(
                [{"AWS": ROOT}, {"AWS": A}, {"AWS": ALICE}, {"AWS": "*"}, {"Service": "ec2.amazonaws.com"}]
            )
            trust = _doc({"Effect": "Allow", "Principal": named, "Action": "sts:AssumeRole"})
            store.create_role(RoleName=roles[-1], AssumeRolePolicyDocument=trust)
        elif choice == 3:
            store.add_user_to_group(UserName=rng.choice(users), GroupName=rng.choice(groups))
        elif choice == 4:
            group = rng.choice(groups)
            members = store.get_group(GroupName=group)["Users"]
            if members:
                store.remove_user_from_group(UserName=rng.choice(members)["UserName"], GroupName=group)
        elif choice == 5:
            kind, name = rng.choice([("user", u) for u in users] + [("group", g) for g in groups])
            arn = rng.choice([*policies, aws])
            if kind == "user":
                store.attach_user_policy(UserName=name, PolicyArn=arn)
            else:
                store.attach_group_policy(GroupName=name, PolicyArn=arn)
        elif choice == 6:
            document = _doc(_allow(rng.choice(["s3:GetObject", "s3:*", "sts:AssumeRole"])))
            name = f"i{rng.randrange(3)}"
            store.put_user_policy(UserName=rng.choice(users), PolicyName=name, PolicyDocument=document)
        elif choice == 7:
            document = _doc(_allow(rng.choice(["s3:GetObject", "iam:*"])))
            name = f"i{rng.randrange(3)}"
            store.put_role_policy(RoleName=rng.choice(roles), PolicyName=name, PolicyDocument=document)
        elif choice == 8:
            store.put_user_permissions_boundary(UserName=rng.choice(users), PermissionsBoundary=rng.choice(policies))
        else:
            store.tag_role(RoleName=rng.choice(roles), Tags=[{"Key": "k", "Value": str(step)}])


def _shape(subject: Subject) -> tuple[object, ...]:
    return (
        subject.arn,
        subject.kind,
        subject.row,
        subject.principal,
        subject.policies,
        [(p.policy, p.source) for p in subject.identity],
        None if subject.boundary is None else (subject.boundary.policy, subject.boundary.source),
    )


@pytest.mark.parametrize("by_id", [True, False], ids=["few-read-by-id", "many-read-whole"])
@pytest.mark.parametrize("seed", [1, 2])
def test_all_subjects_read_set_based_match_the_per_principal_reads(timeline, clock, seed, by_id, monkeypatch):
    monkeypatch.setattr(effective, "FEW_OWNERS", effective.FEW_OWNERS if by_id else 0)
    store, _positions = timeline
    _mixed(store, clock, seed)
    head = _head(store)
    for position in [*range(1, head + 1, 7), head]:
        with _reading(store, f"position:{position}") as (conn, _moment):
            fast = _all_subjects(conn, A)
            slow = _all_subjects_one_by_one(conn, A)
            assert [_shape(s) for s in fast] == [_shape(s) for s in slow]
            for subject in slow:  # one principal read alone: by its id, never the whole account
                users, roles = (
                    ({subject.row["entity_uuid"]}, set())
                    if subject.kind == "user"
                    else (set(), {subject.row["entity_uuid"]})
                )
                [alone] = _subjects_of(conn, A, {str(u) for u in users}, {str(r) for r in roles})
                assert _shape(alone) == _shape(subject)
            reasons = policy_reasons.ReasonBook(conn)
            credentials = _CredentialBook(conn, store, A, _moment)
            for subject in fast:
                for policy in subject.policies:
                    expected = policy_reasons.reasons_for(conn, subject.entity_kind, subject.row, policy)
                    assert reasons.reasons_for(subject.entity_kind, subject.row, policy) == expected
                assert credentials.of(subject) == _credentials(conn, subject, _moment)
            contexts: dict[str, dict] = {}
            for role in (s for s in fast if s.kind == "role"):
                expected = assumable_by(slow, role, _moment, None)
                assert assumable_by(fast, role, _moment, None, contexts) == expected


def test_exposure_of_a_group_follows_its_own_policies(store_url, clock):
    with IdentityStore.open(store_url) as store:
        store.init(A)
        clock.at(9, 0)
        store.create_group(GroupName="devs")
        clock.at(9, 1)
        store.put_group_policy(GroupName="devs", PolicyName="s3", PolicyDocument=_doc(_allow("s3:*")))
        opened = _head(store)
        clock.at(9, 2)
        store.delete_group_policy(GroupName="devs", PolicyName="s3")
        closed = _head(store)
        answer = store.exposure(PrincipalArn=f"arn:aws:iam::{A}:group/devs", ActionName="s3:GetObject")
        assert [(w["From"]["Position"], w["To"]["Position"]) for w in answer["Windows"]] == [(opened, closed)]
        assert answer["AllowedAtEnd"] is False
