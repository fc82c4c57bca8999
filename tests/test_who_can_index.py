"""who-can reads only the principals the permission index names, and answers as evaluating every principal would:
for random histories of users, groups, roles, policies and trust policies, at random moments, chains of roles
included."""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamledger import IdentityStore
from iamledger.audit.decisions import decide
from iamledger.audit.moments import _reading
from iamledger.audit.subjects import _all_subjects
from iamledger.audit.trust import assumable_by
from iamledger.domain.errors import IdentityStoreError
from iamledger.projections.access import permissions
from tests.conftest import ACCOUNT_ID
from tests.test_time_travel import _fresh_store

USERS = ["u0", "u1", "u2"]
GROUPS = ["g0", "g1"]
ROLES = ["r0", "r1", "r2"]
POLICIES = ["p0", "p1"]
ACTIONS = ["s3:GetObject", "s3:*", "ec2:RunInstances", "sts:AssumeRole", "*", "iam:List*"]
QUESTIONS = ["s3:GetObject", "ec2:RunInstances", "iam:ListUsers", "sts:AssumeRole"]


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{name}"


def _document(effect: str, actions: list[str], *, not_action: bool = False, condition: bool = False) -> str:
    statement: dict[str, Any] = {"Effect": effect, "Resource": "*"}
    statement["NotAction" if not_action else "Action"] = sorted(actions)
    if condition:
        statement["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": "red"}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _trust(named: list[str], account: bool) -> str:
    principals = [_arn("user" if n.startswith("u") else "role", n) for n in named]
    if account or not principals:
        principals.append(f"arn:aws:iam::{ACCOUNT_ID}:root")
    statement = {"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


documents = st.one_of(
    st.builds(
        _document,
        st.sampled_from(["Allow", "Allow", "Allow", "Deny"]),
        st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2),
        condition=st.booleans(),
    ),
    st.builds(
        _document,
        st.just("Allow"),
        st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=1),
        not_action=st.just(value=True),
    ),
)
holders = st.sampled_from([("user", u) for u in USERS] + [("group", g) for g in GROUPS] + [("role", r) for r in ROLES])
operations = st.one_of(
    st.tuples(st.just("create_user"), st.sampled_from(USERS)),
    st.tuples(st.just("delete_user"), st.sampled_from(USERS)),
    st.tuples(st.just("create_group"), st.sampled_from(GROUPS)),
    st.tuples(st.just("add"), st.sampled_from(USERS), st.sampled_from(GROUPS)),
    st.tuples(st.just("remove"), st.sampled_from(USERS), st.sampled_from(GROUPS)),
    st.tuples(
        st.just("create_role"),
        st.sampled_from(ROLES),
        st.lists(st.sampled_from(USERS + ROLES), max_size=2),
        st.booleans(),
    ),
    st.tuples(st.just("delete_role"), st.sampled_from(ROLES)),
    st.tuples(st.just("put"), holders, st.sampled_from(["a", "b"]), documents),
    st.tuples(st.just("delete_inline"), holders, st.sampled_from(["a", "b"])),
    st.tuples(st.just("create_policy"), st.sampled_from(POLICIES), documents),
    st.tuples(st.just("new_version"), st.sampled_from(POLICIES), documents, st.booleans()),
    st.tuples(st.just("attach"), holders, st.sampled_from(POLICIES)),
    st.tuples(st.just("detach"), holders, st.sampled_from(POLICIES)),
    st.tuples(st.just("attach_aws"), holders),
    st.tuples(st.just("tag"), st.sampled_from(USERS)),
)


def _run(store: IdentityStore, op: tuple[Any, ...]) -> None:
    kind, *args = op

    def put(holder: tuple[str, str], name: str, document: str) -> None:
        what, who = holder
        method = {"user": store.put_user_policy, "group": store.put_group_policy, "role": store.put_role_policy}
        method[what](**{f"{what.capitalize()}Name": who, "PolicyName": name, "PolicyDocument": document})

    def delete_inline(holder: tuple[str, str], name: str) -> None:
        what, who = holder
        method = {
            "user": store.delete_user_policy,
            "group": store.delete_group_policy,
            "role": store.delete_role_policy,
        }
        method[what](**{f"{what.capitalize()}Name": who, "PolicyName": name})

    def attach(holder: tuple[str, str], arn: str, detach: bool = False) -> None:
        what, who = holder
        verb = "detach" if detach else "attach"
        getattr(store, f"{verb}_{what}_policy")(**{f"{what.capitalize()}Name": who, "PolicyArn": arn})

    calls: dict[str, Any] = {
        "create_user": lambda u: store.create_user(UserName=u),
        "delete_user": lambda u: store.delete_user(UserName=u),
        "create_group": lambda g: store.create_group(GroupName=g),
        "add": lambda u, g: store.add_user_to_group(UserName=u, GroupName=g),
        "remove": lambda u, g: store.remove_user_from_group(UserName=u, GroupName=g),
        "create_role": lambda r, named, account: store.create_role(
            RoleName=r, AssumeRolePolicyDocument=_trust(named, account)
        ),
        "delete_role": lambda r: store.delete_role(RoleName=r),
        "put": put,
        "delete_inline": delete_inline,
        "create_policy": lambda p, d: store.create_policy(PolicyName=p, PolicyDocument=d),
        "new_version": lambda p, d, default: store.create_policy_version(
            PolicyArn=_arn("policy", p), PolicyDocument=d, SetAsDefault=default
        ),
        "attach": lambda h, p: attach(h, _arn("policy", p)),
        "detach": lambda h, p: attach(h, _arn("policy", p), detach=True),
        "attach_aws": lambda h: attach(h, "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"),
        "tag": lambda u: store.tag_user(UserName=u, Tags=[{"Key": "team", "Value": "red"}]),
    }
    with contextlib.suppress(IdentityStoreError):
        calls[kind](*args)


def _brute_force(store: IdentityStore, action: str, at: int) -> dict[str, list[dict[str, Any]]]:
    """Every principal evaluated: who is allowed ``action`` directly, and who reaches an allowed role through any
    chain of roles (breadth first, shortest chain first), as who-can reports them."""
    with _reading(store, at) as (conn, moment):
        subjects = _all_subjects(conn, ACCOUNT_ID)
        by_arn = {s.arn: s for s in subjects}
        answer: dict[str, list[dict[str, Any]]] = {}
        for subject in subjects:
            if decide(subject, action, "*", moment).allowed:
                answer[subject.arn] = []
        frontier = [(arn, [arn]) for arn in sorted(answer) if by_arn[arn].kind == "role"]
        reached: set[tuple[str, str]] = set()
        assumers: dict[str, list[str]] = {}
        while frontier:
            role, chain = frontier.pop(0)
            if role not in assumers:
                found = assumable_by(subjects, by_arn[role], moment, None)
                assumers[role] = [a["Arn"] for a in found if a.get("Arn") in by_arn]
            for arn in assumers[role]:
                if arn in chain or (arn, chain[-1]) in reached:
                    continue
                reached.add((arn, chain[-1]))
                answer.setdefault(arn, []).append({"Via": "role", "RoleArn": chain[-1], "Chain": list(chain)})
                if by_arn[arn].kind == "role":
                    frontier.append((arn, [arn, *chain]))
        return answer


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(operations, min_size=5, max_size=45), picks=st.lists(st.floats(0, 1), min_size=2, max_size=4))
def test_who_can_equals_evaluating_every_principal(backend, monkeypatch, tmp_path, history, picks):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / f"{uuid.uuid4().hex}.key"))
    with _fresh_store(backend) as store:
        store.init(ACCOUNT_ID)
        start = store.projector.catch_up()
        # a group's member allowed through it, and a chain: u0 may assume r0, r0 may assume r1 (both by name)
        setup = [
            ("create_user", "u0"),
            ("create_user", "u1"),
            ("create_group", "g0"),
            ("add", "u1", "g0"),
            ("put", ("group", "g0"), "a", _document("Allow", ["s3:*"])),
            ("create_role", "r0", ["u0"], False),
            ("create_role", "r1", ["r0"], False),
            ("put", ("role", "r1"), "a", _document("Allow", ["iam:List*"])),
            ("put", ("role", "r0"), "b", _document("Allow", ["ec2:RunInstances"])),
        ]
        for op in [*setup, *history]:
            _run(store, op)
        head = store.projector.catch_up()
        moments = sorted({head, *(start + round(p * (head - start)) for p in picks)})
        for at in moments:
            for action in QUESTIONS:
                answer = store.who_can(ActionName=action, At=at)
                mine = {p["Arn"]: [path for path in p["Paths"] if path["Via"] == "role"] for p in answer["Principals"]}
                assert mine == _brute_force(store, action, at), (action, at)


def test_the_index_names_the_services_an_allow_can_match():
    assert permissions.services_allowed(_document("Allow", ["s3:GetObject", "EC2:Run*"])) == {
        "s3",
        "ec2",
    }
    assert permissions.services_allowed(_document("Allow", ["*"])) == {"*"}
    assert permissions.services_allowed(_document("Allow", ["iam:*"], not_action=True)) == {"*"}
    assert permissions.services_allowed(_document("Deny", ["s3:*"])) == set()


def test_a_store_whose_views_predate_the_index_rebuilds_them(store_url, monkeypatch, tmp_path):
    import sqlalchemy

    with IdentityStore.open(store_url) as store:
        store.init(ACCOUNT_ID)
        store.create_user(UserName="alice")
        store.put_user_policy(UserName="alice", PolicyName="s3", PolicyDocument=_document("Allow", ["s3:*"]))
        store.projector.catch_up()
        with store.engine.begin() as conn:
            conn.execute(sqlalchemy.text("DROP TABLE iamledger_policy_services"))
    with IdentityStore.open(store_url) as store:
        answer = store.who_can(ActionName="s3:GetObject")
        assert [p["Arn"] for p in answer["Principals"]] == [_arn("user", "alice")]
