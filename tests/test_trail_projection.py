"""The trail as a projection equals the trail by replay (:mod:`tests.trail_oracle`), record for record, for random
histories: caught up in steps or at once, rebuilt, and through every combination of lookup attributes."""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select as sa_select

from iamledger import AuditContext, IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.errors import IdentityStoreError, NoSuchEntityError
from iamledger.domain.names import NameIndex
from iamledger.projections.trail import index as trail_index
from iamledger.projections.trail.lookup import stored_records
from iamledger.projections.trail.query import entity_history, lookup_events
from iamledger.projections.trail.render import Trail
from iamledger.projections.trail.tables import TRAIL_STATE
from tests.conftest import ACCOUNT_ID
from tests.test_time_travel import GROUPS, POLICIES, USERS, _apply, _fresh_store, _policy_arn, operations
from tests.trail_oracle import replayed_entity_history, replayed_lookup_events

ROLES = ["r0", "r1"]
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}, "Action": "sts:*"}],
    }
)

more_operations = st.one_of(
    operations,
    st.tuples(st.just("delete_user"), st.sampled_from(USERS)),
    st.tuples(st.just("create_role"), st.sampled_from(ROLES)),
    st.tuples(st.just("delete_role"), st.sampled_from(ROLES)),
    st.tuples(st.just("tag_user"), st.sampled_from(USERS), st.sampled_from(["k", "team"])),
    st.tuples(st.just("access_key"), st.sampled_from(USERS)),
    st.tuples(st.just("assume_role"), st.sampled_from(ROLES)),
    st.tuples(st.just("as_user"), st.sampled_from(USERS), st.sampled_from(USERS)),
    st.tuples(st.just("catch_up")),
)


def _run(store: IdentityStore, op: tuple[Any, ...]) -> None:
    kind, *args = op
    extra: dict[str, Any] = {
        "delete_user": lambda u: store.delete_user(UserName=u),
        "create_role": lambda r: store.create_role(RoleName=r, AssumeRolePolicyDocument=TRUST),
        "delete_role": lambda r: store.delete_role(RoleName=r),
        "tag_user": lambda u, k: store.tag_user(UserName=u, Tags=[{"Key": k, "Value": "v"}]),
        "access_key": lambda u: store.create_access_key(UserName=u),
        "assume_role": lambda r: store.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/{r}", RoleSessionName="s"),
        "as_user": lambda actor, target: _as_user(store, actor, target),
        "catch_up": store.trail.catch_up,
    }
    if kind in extra:
        with contextlib.suppress(IdentityStoreError):
            extra[kind](*args)
    else:
        _apply(store, op)


def _as_user(store: IdentityStore, actor: str, target: str) -> None:
    """A call by a user (refused unless its policies allow it: the refusal is a record of the security log)."""
    context = AuditContext(actor=f"arn:aws:iam::{ACCOUNT_ID}:user/{actor}", request_id=str(uuid.uuid4()))
    with bound_audit_context(context), contextlib.suppress(IdentityStoreError):
        store.create_group(GroupName=f"by-{target}")


def _key(record: Any) -> tuple[Any, ...]:
    return record.order


def _comparable(record: Any) -> dict[str, Any]:
    return {
        "record": record.record,
        "username": record.username,
        "resources": sorted((r.type, r.name, sorted(r.aliases)) for r in record.resources),
        "keys": sorted(record.access_key_ids),
        "entities": sorted(str(e) for e in record.entities),
        "accounts": sorted(record.accounts),
    }


def _all_pages(call: Any, **params: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    token = None
    while True:
        page = call(**params, MaxResults=7, NextToken=token) if token else call(**params, MaxResults=7)
        events += page["Events"]
        token = page.get("NextToken")
        if not token:
            return events


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(more_operations, min_size=5, max_size=40), seed=st.integers(0, 2**16))
def test_the_projected_trail_equals_the_replayed_one(backend, monkeypatch, tmp_path, history, seed):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / f"{uuid.uuid4().hex}.key"))
    with _fresh_store(backend) as store:
        store.init(ACCOUNT_ID)
        for op in [("create_user", "u0"), ("create_group", "g0"), ("catch_up",), *history]:
            _run(store, op)
        store.trail.catch_up()
        replayed = Trail.of_store(store).records
        with store.engine.connect() as conn:
            projected = list(stored_records(conn))
        expected = sorted((_key(r), json.dumps(_comparable(r), sort_keys=True, default=str)) for r in replayed)
        actual = sorted((_key(r), json.dumps(_comparable(r), sort_keys=True, default=str)) for r in projected)
        assert actual == expected

        # every lookup, by every attribute alone and in pairs, equals a brute-force filter of the replayed records
        values: dict[str, set[str]] = {}
        for event in replayed_lookup_events(store, account_id=ACCOUNT_ID, MaxResults=50)["Events"]:
            values.setdefault("EventName", set()).add(event["EventName"])
            values.setdefault("Username", set()).add(event["Username"])
            values.setdefault("EventSource", set()).add(event["EventSource"])
            values.setdefault("ReadOnly", set()).add(event["ReadOnly"])
            values.setdefault("EventId", set()).add(event["EventId"])
            for resource in event["Resources"]:
                values.setdefault("ResourceName", set()).add(resource["ResourceName"])
                values.setdefault("ResourceType", set()).add(resource["ResourceType"])
            if event.get("AccessKeyId"):
                values.setdefault("AccessKeyId", set()).add(event["AccessKeyId"])
        chosen = [(key, sorted(found)[seed % len(found)]) for key, found in sorted(values.items())]
        combinations = [[pair] for pair in chosen] + [list(pair) for pair in itertools.combinations(chosen, 2)]
        for attributes in [[], *combinations]:
            lookup = [{"AttributeKey": k, "AttributeValue": v} for k, v in attributes]
            mine = _all_pages(lookup_events, store=store, LookupAttributes=lookup, account_id=ACCOUNT_ID)
            oracle = _all_pages(replayed_lookup_events, store=store, LookupAttributes=lookup, account_id=ACCOUNT_ID)
            assert mine == oracle, attributes

        # the history of every entity ever named; a name never created (at most tried) is NoSuchEntity
        named = [
            (kind, name) for kind, names in (("user", USERS), ("group", GROUPS), ("role", ROLES)) for name in names
        ]
        for kind, name in [*named, *(("policy", _policy_arn(name)) for name in POLICIES)]:
            oracle_history = replayed_entity_history(store, kind, name, account_id=ACCOUNT_ID)
            try:
                mine_history = entity_history(store, kind, name, account_id=ACCOUNT_ID)
            except NoSuchEntityError:
                assert all(r.record.get("errorCode") for r in oracle_history), name
                continue
            assert [_comparable(r) for r in mine_history] == [_comparable(r) for r in oracle_history], name

        # a rebuild from scratch writes the same records as the steps did
        store.trail.rebuild()
        with store.engine.connect() as conn:
            rebuilt = sorted(
                (_key(r), json.dumps(_comparable(r), sort_keys=True, default=str)) for r in stored_records(conn)
            )
        assert rebuilt == expected


def test_lookups_and_histories_never_replay_the_logs(iam, monkeypatch):
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(UserName="alice", GroupName="admins")

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the trail was replayed to answer a question")

    monkeypatch.setattr(Trail, "of_store", refuse)
    page = iam.lookup_events(LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}])
    assert {"CreateUser", "CreateGroup", "AddUserToGroup"} <= {e["EventName"] for e in page["Events"]}
    assert [r.record["eventName"] for r in iam.entity_history("user", "alice")] == ["CreateUser", "AddUserToGroup"]


def test_verify_finds_a_changed_record_and_a_rebuild_mends_it(iam, store_url, capsys):
    import zlib

    from iamledger.projections.trail.tables import TRAIL_RECORDS
    from tests.clirunner import run

    iam.create_user(UserName="alice")
    iam.create_user(UserName="bob")
    iam.trail.catch_up()
    assert iam.trail.verify()["Consistent"]
    with iam.engine.begin() as conn:
        row = conn.execute(sa_select(TRAIL_RECORDS.c.position, TRAIL_RECORDS.c.body).limit(1)).one()
        body = json.loads(zlib.decompress(row.body))
        body["record"]["sourceIPAddress"] = "203.0.113.66"
        conn.execute(
            TRAIL_RECORDS.update()
            .where(TRAIL_RECORDS.c.position == row.position)
            .values(body=zlib.compress(json.dumps(body).encode()))
        )
    report = iam.trail.verify()
    assert (report["Consistent"], report["Missing"], report["Unexpected"]) == (False, 1, 1)
    assert report["UnexpectedExamples"][0]["sourceIPAddress"] == "203.0.113.66"
    assert run(capsys, "--db", store_url, "projections", "verify").exit_code == 1
    assert run(capsys, "--db", store_url, "projections", "rebuild").exit_code == 0
    assert iam.trail.verify()["Consistent"]


def test_refused_requests_with_text_no_database_keeps_are_still_projected(iam):
    """A refused write's parameters are recorded as sent: a NUL (which PostgreSQL's text refuses) must neither stop
    the trail nor be lost from the record. (A lone surrogate is not recorded in the security log at all: its JSON
    encoder refuses it; the trail is not stopped by it either.)"""
    for name in ("bad\x00name", "bad\udc80name"):
        with contextlib.suppress(IdentityStoreError):
            iam.create_user(UserName=name)
    iam.create_user(UserName="after")
    page = iam.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}])
    records = [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]
    assert [r.get("errorCode") for r in records] == [None, "ValidationError"]
    assert records[1]["requestParameters"]["userName"] == "bad\x00name"


def _records_of(store: IdentityStore) -> tuple[list[str], list[str]]:
    store.trail.catch_up()
    replayed = Trail.of_store(store).records
    with store.engine.connect() as conn:
        projected = list(stored_records(conn))
    as_text = lambda records: sorted(json.dumps(_comparable(r), sort_keys=True, default=str) for r in records)  # noqa: E731
    return as_text(projected), as_text(replayed)


def test_a_record_names_the_user_who_held_the_arn_when_it_was_made(iam):
    """The trail may read a refused call before or after its user is deleted and a new user takes the name: either
    way the record names the user that held the ARN when the call was made (its unique id), as a replay does."""
    iam.create_user(UserName="u1")
    first = iam.get_user(UserName="u1")["User"]["UserId"]
    _as_user(iam, "u1", "a")
    iam.trail.catch_up()  # the refusal is projected while the first u1 exists
    iam.delete_user(UserName="u1")
    iam.create_user(UserName="u1")
    second = iam.get_user(UserName="u1")["User"]["UserId"]
    _as_user(iam, "u1", "b")
    _as_user(iam, "nobody", "c")  # a caller no user ever was
    iam.create_user(UserName="nobody")  # then one is: the earlier record still names no id
    projected, replayed = _records_of(iam)
    assert projected == replayed
    page = iam.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateGroup"}])
    ids = [json.loads(e["CloudTrailEvent"])["userIdentity"]["principalId"] for e in page["Events"]]
    assert ids == ["nobody", second, first]


def test_a_catch_up_after_another_process_moved_the_trail_reads_the_state_again(iam, store_url):
    """A catch-up keeps its renderer's state for the next one (no state read after each write); once another process
    has moved the trail on, that state is stale and must not be used."""
    iam.create_user(UserName="alice")
    iam.create_access_key(UserName="alice")
    iam.trail.catch_up()
    with IdentityStore.open(store_url, create=False) as other:
        for key in other.list_access_keys(UserName="alice")["AccessKeyMetadata"]:
            other.delete_access_key(UserName="alice", AccessKeyId=key["AccessKeyId"])
        other.delete_user(UserName="alice")
        other.create_user(UserName="alice")  # a new user of the same name: a new entity, a new unique id
        other.trail.catch_up()
    iam.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "blue"}])
    iam.trail.catch_up()
    assert iam.trail.verify()["Consistent"]
    history = iam.entity_history("user", "alice")
    assert [r.record["eventName"] for r in history][-2:] == ["CreateUser", "TagUser"]


# -- a request's events out of call order (as `bench generate` and an import save them) ----------------------------

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _aggregate(store: IdentityStore, kind: str, name: str) -> Any:
    index = store.repository.get(NameIndex.create_id(ACCOUNT_ID, kind, name))
    return store.repository.get(index.entity_id)


def _request(request_id: str) -> Any:
    return bound_audit_context(AuditContext(actor=ROOT, request_id=request_id))


@pytest.mark.parametrize("split", ["batch", "catch-up", "catch-up in another process"])
def test_bookkeeping_saved_before_its_call_in_an_earlier_catch_up_is_folded_into_it(iam, store_url, monkeypatch, split):
    """A writer that saves aggregate by aggregate (``bench generate``'s bulk load, an import) may record a call's
    bookkeeping (a policy's count of attachments) before the call's own event, with other requests' events between.
    When a catch-up (or one of its batches) ends between the two, the bookkeeping must still fold into the call's
    record when it comes, as the replay folds it: ``projections verify`` found 555 records differing on such a store."""
    iam.create_user(UserName="u")
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(ALLOW_ALL))["Policy"]["Arn"]
    iam.trail.catch_up()
    user, policy = _aggregate(iam, "user", "u"), _aggregate(iam, "policy", "p")
    with _request("attach"):
        user.attach_policy(arn)
        policy.record_attachment(user.id, "user")
    with _request("tag"):  # another request's event between the two
        policy.tag([{"Key": "team", "Value": "blue"}])
    if split == "batch":  # one save, the policy's events first; catch-up batches of one event (and its request's run)
        monkeypatch.setattr(trail_index, "BATCH", 1)
        iam.save(policy, user)
        iam.trail.catch_up()
    else:  # the request saved twice: the bookkeeping, a catch-up, then the call
        iam.save(policy)
        iam.trail.catch_up()
        iam.save(user)
        if split == "catch-up":  # the state kept from the last catch-up
            iam.trail.catch_up()
        else:
            with IdentityStore.open(store_url, create=False) as other:  # only the state the first one stored
                other.trail.catch_up()
    projected, replayed = _records_of(iam)
    assert projected == replayed
    assert iam.trail.verify()["Consistent"]
    attach = iam.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AttachUserPolicy"}])
    assert [[(r["ResourceType"], r["ResourceName"]) for r in e["Resources"]] for e in attach["Events"]] == [
        [("AWS::IAM::User", "u"), ("AWS::IAM::Policy", arn)]
    ]
    history = iam.entity_history("policy", arn)
    assert [r.record["eventName"] for r in history] == ["CreatePolicy", "AttachUserPolicy", "TagPolicy"]
    assert policy.id in history[1].entities
    with iam.engine.connect() as conn:  # nothing left waiting
        assert conn.execute(sa_select(TRAIL_STATE).where(TRAIL_STATE.c.kind == "pending")).all() == []


def test_a_request_of_several_calls_folds_each_bookkeeping_event_into_its_own_call(iam):
    """A user onboarded into two groups in one request, saved aggregate by aggregate: both groups' copies of the
    membership come before the user's two ``AddUserToGroup`` events. Each copy belongs to the call that names its
    group (as CloudTrail records each call with its own group and user), not merely to the nearest call."""
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g1")
    iam.create_group(GroupName="g2")
    user, g1, g2 = _aggregate(iam, "user", "u"), _aggregate(iam, "group", "g1"), _aggregate(iam, "group", "g2")
    with _request("onboard"):
        for group in (g1, g2):
            user.join_group(group.id, group.group_name)
            group.add_member(user.id)
    iam.save(g1, g2, user)
    projected, replayed = _records_of(iam)
    assert projected == replayed
    page = iam.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AddUserToGroup"}])
    resources = [[r["ResourceName"] for r in e["Resources"]] for e in reversed(page["Events"])]
    assert resources == [["g1", "u"], ["g2", "u"]]
    records = [r for r in Trail.of_store(iam).records if r.record["eventName"] == "AddUserToGroup"]
    assert [sorted(r.entities) for r in records] == [sorted({user.id, g.id}) for g in (g1, g2)]
    assert [h.record["eventName"] for h in iam.entity_history("group", "g2")] == ["CreateGroup", "AddUserToGroup"]


def test_a_trail_an_older_version_rendered_is_projected_again(iam, store_url):
    """A record made by an older renderer (here: one changed, and the version mark of version 1, none) is not kept
    when the store is opened by this version: the trail is projected again by the next question."""
    import zlib

    from sqlalchemy import delete as sa_delete

    from iamledger.projections.trail.tables import TRAIL_RECORDS
    from iamledger.projections.views.tables import TRACKING

    iam.create_user(UserName="alice")
    iam.trail.catch_up()
    with iam.engine.begin() as conn:
        row = conn.execute(sa_select(TRAIL_RECORDS.c.position, TRAIL_RECORDS.c.body).limit(1)).one()
        body = json.loads(zlib.decompress(row.body))
        body["record"]["sourceIPAddress"] = "203.0.113.66"
        conn.execute(
            TRAIL_RECORDS.update()
            .where(TRAIL_RECORDS.c.position == row.position)
            .values(body=zlib.compress(json.dumps(body).encode()))
        )
        conn.execute(sa_delete(TRACKING).where(TRACKING.c.name == trail_index.TRAIL_VERSION_NAME))
    assert not iam.trail.verify()["Consistent"]
    with IdentityStore.open(store_url, create=False) as reopened:
        assert reopened.trail.positions() == (0, 0)
        records = reopened.lookup_events(MaxResults=50)["Events"]
        assert [r["EventName"] for r in records if r.get("Username") == "root"].count("CreateUser") == 1
        assert all(json.loads(r["CloudTrailEvent"])["sourceIPAddress"] != "203.0.113.66" for r in records)
        assert reopened.trail.verify()["Consistent"]
    with IdentityStore.open(store_url, create=False) as again:  # the mark is kept: nothing forgotten this time
        assert again.trail.positions() != (0, 0)
