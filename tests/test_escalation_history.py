"""Escalation over time (issue 22): each hop's interval in escalation-paths, the paths that opened between two moments
with the events that opened and closed them, and the blast radius of a credential over the windows it was active;
each edge's intervals equal a brute-force build of the graph at every position."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import eventsourcing.domain
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamledger import IdentityStore
from iamledger.audit.escalation_graph import EscalationGraph
from iamledger.audit.escalation_history import _paths_of, _shown
from iamledger.audit.escalation_timeline import (
    GraphHistory,
    edge_key,
    intervals,
    moment_of,
    opened_since,
    reachable,
)
from iamledger.audit.moments import _reading
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.errors import AccessDeniedError, IdentityStoreError, NoSuchEntityError
from tests.clirunner import run
from tests.conftest import ACCOUNT_ID
from tests.test_audit_analysis import Clock
from tests.test_escalation import ADMIN_POLICY, _arn, _doc, _trust
from tests.test_escalation_oracle import _apply, operations
from tests.test_time_travel import _fresh_store

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
MALLORY = _arn("user", "mallory")


@contextmanager
def _as(request_id: str, source_ip: str = "203.0.113.7") -> Iterator[None]:
    """Calls made by the account's root user under a known request id and source address."""
    with bound_audit_context(AuditContext(actor=ROOT, request_id=request_id, source_ip=source_ip)):
        yield


def _texts(answer: dict[str, Any]) -> list[str]:
    return [path["Text"] for path in answer["Paths"]]


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _escalating_policy(store: IdentityStore) -> str:
    """A managed policy letting its holder put an inline policy on itself (a path to admin); its ARN."""
    store.create_policy(PolicyName="self-service", PolicyDocument=_doc("iam:PutUserPolicy", MALLORY))
    return _arn("policy", "self-service")


# -- paths-opened ------------------------------------------------------------------------------------------------


def test_a_path_opened_by_an_attachment_and_closed_by_a_detachment(iam):
    iam.create_user(UserName="mallory")
    policy = _escalating_policy(iam)
    t1 = iam.projector.catch_up()
    with _as("req-open-1", "198.51.100.4"):
        iam.attach_user_policy(UserName="mallory", PolicyArn=policy)
    opened_at = iam.projector.catch_up()
    iam.create_user(UserName="bystander")  # a change in between that opens nothing
    during = iam.projector.catch_up()
    with _as("req-close-1"):
        iam.detach_user_policy(UserName="mallory", PolicyArn=policy)
    t2 = iam.projector.catch_up()

    answer = iam.paths_opened(From=t1, To=t2)
    assert answer["From"]["Position"] == t1 and answer["To"]["Position"] == t2
    assert _texts(answer) == ["mallory -[iam:PutUserPolicy]-> admin"]
    path = answer["Paths"][0]
    assert path["PrincipalArn"] == MALLORY and path["Length"] == 1
    assert path["Hops"] == [{"From": MALLORY, "To": "admin", "Technique": "iam-put-user-policy"}]
    opened, closed = path["OpenedAt"], path["ClosedAt"]
    assert t1 < opened["Position"] <= opened_at  # the command's first event that changed a row the graph reads
    assert opened["Event"]["EventName"] == "AttachUserPolicy"
    assert opened["Event"]["RequestId"] == "req-open-1"
    assert opened["Event"]["Actor"] == ROOT and opened["Event"]["SourceIPAddress"] == "198.51.100.4"
    assert during < closed["Position"] <= t2
    assert (closed["Event"]["EventName"], closed["Event"]["RequestId"]) == ("DetachUserPolicy", "req-close-1")
    assert path["StillOpen"] is False
    assert path["OpenPositions"] == {"From": opened["Position"], "To": closed["Position"]}
    assert path["OpenSeconds"] == (_time(closed["Time"]) - _time(opened["Time"])).total_seconds() > 0

    # the hop of escalation-paths in between says since when it holds
    hop = iam.escalation_paths(PrincipalArn=MALLORY, At=during)["Paths"][0]["Hops"][0]
    assert hop["OpenedAt"]["Position"] == opened["Position"]
    assert hop["OpenedAt"]["Event"]["RequestId"] == "req-open-1"
    assert "AttachUserPolicy" in {e["EventName"] for e in hop["EnabledBy"]}

    # a range ending while it is open: the close is found after it
    early = iam.paths_opened(From=t1, To=during)
    assert early["Paths"][0]["ClosedAt"]["Event"]["RequestId"] == "req-close-1"
    # a range starting while it is open does not list it
    assert iam.paths_opened(From=opened_at, To=t2)["Paths"] == []
    # times are moments too
    by_time = iam.paths_opened(From=answer["From"]["Time"].isoformat())
    assert _texts(by_time) == ["mallory -[iam:PutUserPolicy]-> admin"]


def test_only_paths_that_opened_in_the_range_are_listed_open_or_closed(iam):
    iam.create_user(UserName="mallory")
    iam.create_user(UserName="boss")
    iam.attach_user_policy(UserName="boss", PolicyArn=ADMIN_POLICY)
    iam.put_user_policy(UserName="mallory", PolicyName="old", PolicyDocument=_doc("iam:CreateAccessKey"))
    t1 = iam.projector.catch_up()  # mallory -[iam:CreateAccessKey]-> boss holds already
    with _as("req-brief"):
        iam.put_user_policy(UserName="mallory", PolicyName="brief", PolicyDocument=_doc("iam:AttachUserPolicy"))
    with _as("req-brief-end"):
        iam.delete_user_policy(UserName="mallory", PolicyName="brief")
    with _as("req-promote"):
        iam.create_user(UserName="carol")
        iam.attach_user_policy(UserName="carol", PolicyArn=ADMIN_POLICY)
    t2 = iam.projector.catch_up()
    answer = iam.paths_opened(From=t1, To=t2)
    by_text = {path["Text"]: path for path in answer["Paths"]}
    assert set(by_text) == {
        "mallory -[iam:AttachUserPolicy]-> admin",
        "mallory -[iam:CreateAccessKey]-> carol",
        "carol is admin-equivalent",
    }
    brief = by_text["mallory -[iam:AttachUserPolicy]-> admin"]
    assert brief["OpenedAt"]["Event"]["RequestId"] == "req-brief"
    assert brief["ClosedAt"]["Event"]["RequestId"] == "req-brief-end"
    for text in ("mallory -[iam:CreateAccessKey]-> carol", "carol is admin-equivalent"):
        still = by_text[text]
        assert still["StillOpen"] is True and still["ClosedAt"] is None
        assert still["OpenedAt"]["Event"]["EventName"] == "AttachUserPolicy"
        assert still["OpenedAt"]["Event"]["RequestId"] == "req-promote"
    assert by_text["carol is admin-equivalent"]["Length"] == 0
    to_carol = {p["Text"]: p for p in iam.paths_opened(From=t1, To=t2, Target=_arn("user", "carol"))["Paths"]}
    assert to_carol["mallory -[iam:CreateAccessKey]-> carol"]["OpenedAt"]["Event"]["EventName"] == "CreateUser"
    assert "carol is admin-equivalent" not in to_carol


def test_a_two_hop_path_opens_when_the_trust_policy_is_updated(iam):
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="assume", PolicyDocument=_doc("sts:AssumeRole"))
    iam.create_role(RoleName="ops", AssumeRolePolicyDocument=_trust({"Service": "ec2.amazonaws.com"}))
    with _as("req-grant-ops"):
        iam.put_role_policy(
            RoleName="ops", PolicyName="self", PolicyDocument=_doc("iam:AttachRolePolicy", _arn("role", "ops"))
        )
    granted = iam.projector.catch_up()
    t1 = granted
    with _as("req-trust", "192.0.2.55"):
        iam.update_assume_role_policy(RoleName="ops", PolicyDocument=_trust({"AWS": _arn("user", "alice")}))
    trusted = iam.projector.catch_up()
    answer = iam.paths_opened(From=t1)
    assert _texts(answer) == ["alice -[sts:AssumeRole]-> ops -[iam:AttachRolePolicy]-> admin"]
    event = answer["Paths"][0]["OpenedAt"]["Event"]
    assert (event["EventName"], event["RequestId"], event["SourceIPAddress"]) == (
        "UpdateAssumeRolePolicy",
        "req-trust",
        "192.0.2.55",
    )
    assert answer["Paths"][0]["StillOpen"] is True
    # each hop of escalation-paths carries its own interval: the trust since the update, the grant since before
    hops = iam.escalation_paths(PrincipalArn=_arn("user", "alice"))["Paths"][0]["Hops"]
    assert hops[0]["OpenedAt"]["Position"] == answer["Paths"][0]["OpenedAt"]["Position"]
    assert t1 < hops[0]["OpenedAt"]["Position"] <= trusted
    assert hops[1]["OpenedAt"]["Position"] <= granted
    assert hops[1]["OpenedAt"]["Event"]["RequestId"] == "req-grant-ops"


def test_a_cross_account_hop_opens_with_the_other_accounts_grant(iam):
    other = "210987654321"
    iam.create_role(RoleName="shared", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{other}:root"}))
    iam.attach_role_policy(RoleName="shared", PolicyArn=ADMIN_POLICY)
    iam.create_account(other)
    with bound_audit_context(AuditContext(actor=f"arn:aws:iam::{other}:root", request_id="req-carol-user")):
        iam.create_user(UserName="carol")
    with bound_audit_context(AuditContext(actor=f"arn:aws:iam::{other}:root", request_id="req-carol-grant")):
        iam.put_user_policy(UserName="carol", PolicyName="p", PolicyDocument=_doc("sts:AssumeRole"))
    [path] = iam.escalation_paths(PrincipalArn=f"arn:aws:iam::{other}:user/carol")["Paths"]
    hop = path["Hops"][0]
    assert hop["CrossAccount"] is True
    assert hop["OpenedAt"]["Event"]["RequestId"] == "req-carol-grant"


def test_paths_opened_refuses_bad_input_and_the_unauthorized(iam):
    iam.create_user(UserName="mallory")
    with pytest.raises(IdentityStoreError, match="From is required"):
        iam.paths_opened(From=None)
    head = iam.projector.catch_up()
    with pytest.raises(IdentityStoreError, match="before From"):
        iam.paths_opened(From=head, To=1)
    with pytest.raises(IdentityStoreError, match="MaxDepth"):
        iam.paths_opened(From=0, MaxDepth=11)
    with pytest.raises(IdentityStoreError, match="Invalid time"):
        iam.paths_opened(From="yesterday-ish")
    mallory = AuditContext(actor=MALLORY, request_id=AuditContext.new_request_id())
    with bound_audit_context(mallory), pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        iam.paths_opened(From=0)
    with bound_audit_context(mallory), pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        iam.blast_radius(PrincipalArn=MALLORY)


# -- blast radius --------------------------------------------------------------------------------------------------


def _windows(entries: list[dict[str, Any]]) -> list[tuple[int, int | None]]:
    return [(w["From"]["Position"], None if w["To"] is None else w["To"]["Position"]) for w in entries]


def test_the_blast_radius_of_a_key_leaves_out_the_time_it_was_inactive(iam):
    iam.create_user(UserName="mallory")
    born = iam.projector.catch_up()
    key = iam.create_access_key(UserName="mallory")["AccessKey"]["AccessKeyId"]
    created = iam.projector.catch_up()
    ops, night = _arn("role", "ops"), _arn("role", "night")
    for name in ("ops", "night"):  # trusting the account: assumable by whom its own policies allow
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": ACCOUNT_ID}))
        iam.put_role_policy(RoleName=name, PolicyName="s3", PolicyDocument=_doc("s3:*"))
    with _as("req-grant"):
        iam.put_user_policy(
            UserName="mallory",
            PolicyName="a",
            PolicyDocument=_doc(["sts:AssumeRole", "iam:PutUserPolicy"], [ops, MALLORY]),
        )
    granted = iam.projector.catch_up()
    with _as("req-off"):
        iam.update_access_key(UserName="mallory", AccessKeyId=key, Status="Inactive")
    off = iam.projector.catch_up()
    # reachable only while the key was inactive
    iam.put_user_policy(UserName="mallory", PolicyName="n", PolicyDocument=_doc("sts:AssumeRole", night))
    iam.delete_user_policy(UserName="mallory", PolicyName="n")
    with _as("req-on"):
        iam.update_access_key(UserName="mallory", AccessKeyId=key, Status="Active")
    on = iam.projector.catch_up()
    with _as("req-revoke"):
        iam.delete_user_policy(UserName="mallory", PolicyName="a")
    revoked = iam.projector.catch_up()
    with _as("req-delete"):
        iam.delete_access_key(UserName="mallory", AccessKeyId=key)
    deleted = iam.projector.catch_up()

    answer = iam.blast_radius(AccessKeyId=key)  # a deleted key's history still answers
    assert answer["AccessKeyId"] == key
    [principal] = answer["Principals"]
    assert principal["PrincipalArn"] == MALLORY and principal["PrincipalId"].startswith("AIDA")
    assert _windows(principal["ActiveWindows"]) == [(created, off), (on, deleted)]
    assert principal["ActiveWindows"][0]["To"]["Event"]["RequestId"] == "req-off"
    assert principal["ActiveWindows"][1]["To"]["Event"]["EventName"] == "DeleteAccessKey"
    reached = {node["Arn"]: node for node in principal["Reachable"]}
    assert set(reached) == {ops, "admin"}  # never night: only while the key was off
    windows = [(granted, off), (on, revoked)]
    assert _windows(reached[ops]["Windows"]) == windows
    first, second = reached[ops]["Windows"]
    assert first["Path"] == "mallory -[sts:AssumeRole]-> ops" and first["Length"] == 1
    assert first["From"]["Event"]["RequestId"] == "req-grant"
    assert second["From"]["Event"]["RequestId"] == "req-on"
    assert second["To"]["Event"]["RequestId"] == "req-revoke"
    assert reached[ops]["AdminEquivalentWindows"] == []
    assert _windows(reached["admin"]["Windows"]) == windows
    assert _windows(principal["AdminWindows"]) == windows
    assert principal["AdminWindows"][0]["Via"] == "mallory -[iam:PutUserPolicy]-> admin"

    # the user's own blast radius covers its whole life: the night role too
    by_arn = iam.blast_radius(PrincipalArn=MALLORY)["Principals"][0]
    [(since, until)] = _windows(by_arn["ActiveWindows"])
    assert since <= born and until is None
    assert by_arn["ActiveWindows"][0]["From"]["Event"]["EventName"] == "CreateUser"
    assert {node["Arn"] for node in by_arn["Reachable"]} == {ops, night, "admin"}


def test_a_root_key_is_admin_while_active_and_a_group_is_no_credential(iam):
    key = iam.create_access_key()["AccessKey"]["AccessKeyId"]  # the caller's: the root user's
    [root] = iam.blast_radius(AccessKeyId=key)["Principals"]
    assert (root["PrincipalArn"], root["Kind"]) == (ROOT, "root")
    assert _windows(root["AdminWindows"]) == _windows(root["ActiveWindows"])
    assert root["AdminWindows"][0]["Via"] == "the account's root user"
    iam.create_group(GroupName="team")
    with pytest.raises(IdentityStoreError, match="is a group"):
        iam.blast_radius(PrincipalArn=_arn("group", "team"))


def test_an_unknown_credential_is_no_such_entity(iam):
    iam.create_user(UserName="mallory")
    with pytest.raises(NoSuchEntityError, match="AKIAIOSFODNN7EXAMPLE cannot be found"):
        iam.blast_radius(AccessKeyId="AKIAIOSFODNN7EXAMPLE")
    with pytest.raises(NoSuchEntityError, match="cannot be found"):
        iam.blast_radius(PrincipalArn=_arn("user", "nobody"))
    with pytest.raises(IdentityStoreError, match="exactly one"):
        iam.blast_radius()


# -- each edge's intervals equal the graph built at every position ---------------------------------------------------

more_operations = st.one_of(
    operations,
    st.tuples(st.just("tag"), st.sampled_from(["u0", "u1", "r0"]), st.sampled_from(["red", "blue"])),
    st.tuples(
        st.just("trust"), st.sampled_from(["r0", "r1"]), st.lists(st.sampled_from(["u0", "u1", "r0"]), max_size=2)
    ),
    st.tuples(st.just("login"), st.sampled_from(["u0", "u1", "u2"])),
    st.tuples(st.just("join"), st.sampled_from(["u0", "u1", "u2"]), st.sampled_from(["g0", "g1"])),
    st.tuples(st.just("leave"), st.sampled_from(["u0", "u1", "u2"]), st.sampled_from(["g0", "g1"])),
    st.tuples(st.just("group-grant"), st.sampled_from(["u0", "u1", "u2"])),
)


def _apply_more(store: IdentityStore, op: tuple[Any, ...]) -> None:
    kind, name, *args = op
    field = {"UserName" if name.startswith("u") else "RoleName": name}
    try:
        if kind == "tag":
            tag = store.tag_user if name.startswith("u") else store.tag_role
            tag(**field, Tags=[{"Key": "team", "Value": args[0]}])
        elif kind == "trust":
            names = [_arn("user" if n.startswith("u") else "role", n) for n in args[0]]
            store.update_assume_role_policy(RoleName=name, PolicyDocument=_trust({"AWS": names or ACCOUNT_ID}))
        elif kind == "login":
            store.create_login_profile(UserName=name, Password="An0ther-Passw0rd!")
        elif kind == "join":
            store.add_user_to_group(UserName=name, GroupName=args[0])
        elif kind == "leave":
            store.remove_user_from_group(UserName=name, GroupName=args[0])
        elif kind == "group-grant":  # a path through a group: join the admins' group, or put a policy on one's own
            actions = ["iam:AddUserToGroup", "iam:PutGroupPolicy"]
            store.put_user_policy(UserName=name, PolicyName="groups", PolicyDocument=_doc(actions))
        else:
            _apply(store, op)
    except IdentityStoreError:
        pass


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(more_operations, min_size=20, max_size=40))
def test_each_edge_interval_equals_the_graph_built_at_every_position(backend, monkeypatch, tmp_path, history):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / f"{uuid.uuid4().hex}.key"))
    with _fresh_store(backend) as store:
        store.init(ACCOUNT_ID)
        start = store.projector.catch_up()
        store.create_group(GroupName="g0")
        store.attach_group_policy(GroupName="g0", PolicyArn=ADMIN_POLICY)
        store.create_group(GroupName="g1")
        setup = [("create", "u0", []), ("create", "r0", ["u0"]), ("put", "u0", "sts:AssumeRole", "r0", False)]
        for op in [*setup, *history]:
            _apply_more(store, op)
        head = store.projector.catch_up()
        every: list[tuple[int, set[Any]]] = []
        every_path: list[tuple[int, set[Any]]] = []
        texts: dict[Any, str] = {}
        for position in range(start, head + 1):
            with _reading(store, position) as (conn, moment):
                graph = EscalationGraph(conn, ACCOUNT_ID, moment).build()
                every.append((position, {edge_key(e) for e in graph.edges}))
                paths = _paths_of(graph, "admin", 5)
                texts.update({key: _shown(*value)["Text"] for key, value in paths.items()})
                every_path.append((position, set(paths)))
        expected = intervals(every)
        # the paths that opened, each with where it opened and closed, as paths-opened answers them
        opened = store.paths_opened(From=start, To=head)["Paths"]
        assert sorted(
            (p["Text"], p["OpenedAt"]["Position"], p["ClosedAt"] and p["ClosedAt"]["Position"]) for p in opened
        ) == sorted((texts[k], a, b) for k, spans in intervals(every_path).items() for a, b in spans if a > start)
        with store.engine.connect() as conn:
            timeline = GraphHistory(conn, ACCOUNT_ID, datetime.now().astimezone())
            found = timeline.edge_intervals(moment_of(conn, start, datetime.now().astimezone()), head)
            assert found == expected
            # each edge at the head: since when it holds, walking back over its own change points only
            last = timeline.state(timeline.moment(head))
            since = opened_since(timeline, last.edges.values(), last.moment)
            assert since == {key: expected[key][-1][0] for key in last.edges}
            # what blast-radius reads from a principal's reach equals what the whole graph gives
            for arn in sorted({e.source for e in last.graph.edges} | last.graph.admins):
                part = timeline.reach(last.moment, arn, 5)
                assert part.admins <= last.graph.admins
                assert _reached(part, arn) == _reached(last.graph, arn), arn
                assert {n for n in reachable(part, arn, 5, part.admins) if n in part.admins} == {
                    n for n in reachable(last.graph, arn, 5, last.graph.admins) if n in last.graph.admins
                }


def _reached(graph: EscalationGraph, arn: str) -> dict[str, list[Any]]:
    found = reachable(graph, arn, 5, graph.admins)
    return {node: [edge_key(e) for e in path] for node, path in found.items()}


# -- the CLI ---------------------------------------------------------------------------------------------------------


def test_the_cli_answers_paths_opened_and_blast_radius(iam, store_url, capsys):
    iam.create_user(UserName="mallory")
    key = iam.create_access_key(UserName="mallory")["AccessKey"]["AccessKeyId"]
    policy = _escalating_policy(iam)
    t1 = iam.projector.catch_up()
    with _as("req-cli-open"):
        iam.attach_user_policy(UserName="mallory", PolicyArn=policy)
    opened = run(capsys, "--db", store_url, "audit", "paths-opened", "--from", f"position:{t1}", "--to", "now")
    assert opened.exit_code == 0, opened.stderr
    path = json.loads(opened.stdout)["Paths"][0]
    assert (path["Text"], path["OpenedAt"]["Event"]["RequestId"]) == (
        "mallory -[iam:PutUserPolicy]-> admin",
        "req-cli-open",
    )
    text = run(capsys, "--db", store_url, "--output", "text", "audit", "paths-opened", "--from", f"#{t1}")
    assert "[1] mallory -[iam:PutUserPolicy]-> admin" in text.stdout and "request req-cli-open" in text.stdout
    table = run(capsys, "--db", store_url, "--output", "table", "audit", "blast-radius", "--access-key-id", key)
    assert table.exit_code == 0, table.stderr
    assert "ADMIN" in table.stdout and "mallory -[iam:PutUserPolicy]-> admin" in table.stdout
    query = run(
        capsys,
        "--db",
        store_url,
        "--query",
        "Principals[0].Reachable[].Arn",
        "audit",
        "blast-radius",
        "--principal-arn",
        MALLORY,
    )
    assert json.loads(query.stdout) == ["admin"]
    both = run(capsys, "--db", store_url, "audit", "blast-radius", "--access-key-id", key, "--principal-arn", MALLORY)
    assert both.exit_code == 2  # argparse: not allowed with
    unknown = run(capsys, "--db", store_url, "audit", "blast-radius", "--access-key-id", "AKIAIOSFODNN7EXAMPLE")
    assert unknown.exit_code == 254 and "NoSuchEntity" in unknown.stderr


# -- blast radius of a temporary key -----------------------------------------------------------------------------------


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The audit tests' controllable clock, for the events' times (set before the store is opened) and the store's
    own (a session's expiry)."""
    fake = Clock()
    monkeypatch.setattr(eventsourcing.domain, "datetime_now_with_tzinfo", fake.now)
    return fake


def test_a_role_session_key_reaches_what_its_role_reaches_until_it_expires(fake_clock, iam):
    clock = fake_clock
    iam.clock = clock.now
    clock.at(9, 0)
    iam.create_user(UserName="mallory")
    iam.put_user_policy(UserName="mallory", PolicyName="assume", PolicyDocument=_doc("sts:AssumeRole", "*"))
    ci, deploy = _arn("role", "ci"), _arn("role", "deploy")
    for name in ("ci", "deploy"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_trust({"AWS": ACCOUNT_ID}))
    iam.put_role_policy(RoleName="ci", PolicyName="hop", PolicyDocument=_doc("sts:AssumeRole", deploy))
    iam.put_role_policy(RoleName="deploy", PolicyName="own", PolicyDocument=_doc("iam:PutRolePolicy", deploy))
    clock.at(9, 10)
    issued = iam.projector.catch_up() + 1  # the session's first event
    with bound_audit_context(AuditContext(actor=MALLORY, request_id="req-assume", source_ip="203.0.113.9")):
        session = iam.assume_role(RoleArn=ci, RoleSessionName="leaked", DurationSeconds=900)
    key = session["Credentials"]["AccessKeyId"]
    clock.at(9, 20)
    iam.create_user(UserName="during")  # a change while the session was valid
    during = iam.projector.catch_up()
    clock.at(9, 30)  # the session expired at 9:25
    iam.create_user(UserName="after")
    after = iam.projector.catch_up()

    answer = iam.blast_radius(AccessKeyId=key)
    [principal] = answer["Principals"]
    assert (principal["PrincipalArn"], principal["Kind"]) == (ci, "role")
    assert principal["PrincipalId"].startswith("AROA")
    assert principal["Session"]["SessionArn"] == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/ci/leaked"
    assert principal["Session"]["SessionPolicies"] is False
    assert _windows(principal["ActiveWindows"]) == [(issued, during + 1)]  # the last event before 9:25, then closed
    assert principal["ActiveWindows"][0]["From"]["Event"]["RequestId"] == "req-assume"
    assert during < after
    reached = {node["Arn"]: node for node in principal["Reachable"]}
    assert set(reached) == {deploy, "admin"}
    assert _windows(reached[deploy]["Windows"]) == [(issued, during + 1)]
    assert _windows(principal["AdminWindows"]) == [(issued, during + 1)]


def test_a_session_token_key_acts_as_its_user_and_a_federation_key_is_refused(iam):
    iam.create_user(UserName="mallory")
    iam.put_user_policy(UserName="mallory", PolicyName="self", PolicyDocument=_doc("iam:PutUserPolicy", MALLORY))
    iam.put_user_policy(UserName="mallory", PolicyName="fed", PolicyDocument=_doc("sts:GetFederationToken"))
    key = iam.create_access_key(UserName="mallory")["AccessKey"]
    with bound_audit_context(AuditContext(actor=MALLORY, request_id="req-token", access_key_id=key["AccessKeyId"])):
        token = iam.get_session_token(DurationSeconds=900)["Credentials"]["AccessKeyId"]
        federated = iam.get_federation_token(Name="guest", Policy=_doc("s3:GetObject"))["Credentials"]
    iam.projector.catch_up()
    [principal] = iam.blast_radius(AccessKeyId=token)["Principals"]
    assert (principal["PrincipalArn"], principal["Kind"]) == (MALLORY, "user")
    assert [w["To"] for w in principal["ActiveWindows"]] == [None]  # not expired yet
    assert {node["Arn"] for node in principal["Reachable"]} == {"admin"}
    with pytest.raises(IdentityStoreError, match="federated user"):
        iam.blast_radius(AccessKeyId=federated["AccessKeyId"])
