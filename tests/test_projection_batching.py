"""Batched projection: applying events a thousand at a time (rows kept in memory, written with one executemany per
table) gives exactly the views of applying them one at a time, and those of the plain SQL path with no batch at all:
the same rows, the same intervals, the same row ids."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

from eventsourcing.utils import construct_topic, get_topic
from sqlalchemy import Connection, select

from iamledger import IdentityStore
from iamledger.projections.engine import registry
from iamledger.projections.engine.write_batches import bulk_loading
from iamledger.projections.views.tables import GROUP_MEMBERS, TAGS, TRACKING, USERS, metadata

DOC = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}})
DOC2 = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "ec2:*", "Resource": "*"}})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _snapshot(store: IdentityStore) -> dict[str, list[tuple[str, ...]]]:
    """Every view row with every column, row ids included, in row id order."""
    tables = {}
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table is TRACKING:
                continue
            rows = conn.execute(select(table).order_by(table.c.row_id)).all()
            tables[table.name] = [tuple(str(v) for v in row) for row in rows]
    return tables


def _empty_views(store: IdentityStore) -> None:
    views = [t for t in metadata.sorted_tables if t is not TRACKING]
    metadata.drop_all(store.engine, tables=views)
    metadata.create_all(store.engine)


def _events(store: IdentityStore) -> list[tuple[Any, int]]:
    notifications = store.recorder.select_notifications(start=1, limit=1_000_000)
    return [(store.mapper.to_domain_event(n), n.id) for n in notifications]


def _replay_one_per_batch(store: IdentityStore) -> None:
    _empty_views(store)
    for event, position in _events(store):
        with store.engine.begin() as conn:
            registry.dispatch_batch(conn, [(event, position)])


def _replay_without_batch(store: IdentityStore) -> None:
    """Every handler called directly: each temporal write is its own SQL statement, as before batching existed."""
    _empty_views(store)
    with store.engine.begin() as conn:
        for event, position in _events(store):
            _apply_directly(conn, event, position)


def _replay_in_small_batches(store: IdentityStore, *, bulk: bool) -> None:
    """Batches of 7 events, each its own transaction: later batches load (or, in a bulk load, keep in memory) the
    rows earlier ones wrote."""
    _empty_views(store)
    events = _events(store)
    chunks = [events[i : i + 7] for i in range(0, len(events), 7)]
    with store.engine.connect() as conn:
        with bulk_loading(conn) if bulk else contextlib.nullcontext():
            for chunk in chunks:
                registry.dispatch_batch(conn, chunk)
                conn.commit()
        conn.commit()


def _apply_directly(conn: Connection, event: Any, position: int) -> None:
    # the handlers are registered by topic; an event class of eventsourcing's can have a base of the same topic
    for topic in dict.fromkeys(construct_topic(klass) for klass in type(event).__mro__):
        for handler in registry.HANDLERS.get(topic, ()):
            handler(conn, event, position)


def _history(iam: IdentityStore) -> None:
    """One batch: entities created, renamed, tagged, changed and deleted, with every kind of view row."""
    iam.create_account_alias(AccountAlias="batching-test")
    iam.create_user(UserName="carol", Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}])
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="carol")
    iam.update_user(UserName="carol", NewUserName="caroline")
    iam.tag_user(UserName="caroline", Tags=[{"Key": "TEAM", "Value": "b"}, {"Key": "x", "Value": "1"}])
    iam.untag_user(UserName="caroline", TagKeys=["env"])
    key = iam.create_access_key(UserName="caroline")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="caroline", AccessKeyId=key, Status="Inactive")
    iam.update_user(UserName="caroline", NewUserName="carrie", NewPath="/eng/")
    iam.update_access_key(UserName="carrie", AccessKeyId=key, Status="Active")
    iam.delete_access_key(UserName="carrie", AccessKeyId=key)
    arn = iam.create_policy(PolicyName="p", PolicyDocument=DOC, Tags=[{"Key": "k", "Value": "v"}])["Policy"]["Arn"]
    iam.attach_user_policy(UserName="carrie", PolicyArn=arn)
    iam.attach_group_policy(GroupName="devs", PolicyArn=arn)
    iam.attach_group_policy(GroupName="devs", PolicyArn=READ_ONLY)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=DOC2, SetAsDefault=True)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=DOC, SetAsDefault=False)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v3")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.put_user_policy(UserName="carrie", PolicyName="inline", PolicyDocument=DOC)
    iam.put_user_policy(UserName="carrie", PolicyName="inline", PolicyDocument=DOC2)
    iam.put_group_policy(GroupName="devs", PolicyName="g", PolicyDocument=DOC)
    iam.update_group(GroupName="devs", NewGroupName="developers")
    iam.put_user_permissions_boundary(UserName="carrie", PermissionsBoundary=arn)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=TRUST, Tags=[{"Key": "a", "Value": "b"}])
    iam.attach_role_policy(RoleName="app", PolicyArn=arn)
    iam.update_assume_role_policy(RoleName="app", PolicyDocument=TRUST.replace("ec2", "lambda"))
    iam.update_role(RoleName="app", Description="the app", MaxSessionDuration=7200)
    iam.tag_role(RoleName="app", Tags=[{"Key": "A", "Value": "c"}])
    iam.create_instance_profile(InstanceProfileName="web")
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="app")
    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "t", "Value": "1"}])
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="app")
    iam.delete_instance_profile(InstanceProfileName="web")
    # a user created, joined, tagged, given policies, then stripped and deleted, all in the same batch
    iam.create_user(UserName="temp", Tags=[{"Key": "t", "Value": "1"}])
    iam.add_user_to_group(GroupName="developers", UserName="temp")
    iam.attach_user_policy(UserName="temp", PolicyArn=READ_ONLY)
    iam.put_user_policy(UserName="temp", PolicyName="i", PolicyDocument=DOC)
    iam.remove_user_from_group(GroupName="developers", UserName="temp")
    iam.detach_user_policy(UserName="temp", PolicyArn=READ_ONLY)
    iam.delete_user_policy(UserName="temp", PolicyName="i")
    iam.delete_user(UserName="temp")
    iam.create_user(UserName="temp")  # the same name again: a new entity


def _random_history(iam: IdentityStore, rng: random.Random, steps: int) -> None:
    users: list[str] = []
    groups = ["g0", "g1", "g2"]
    for group in groups:
        iam.create_group(GroupName=group)
    arn = iam.create_policy(PolicyName="shared", PolicyDocument=DOC)["Policy"]["Arn"]
    for step in range(steps):
        choice = rng.randrange(9)
        if choice == 0 or not users:
            users.append(f"u{step}")
            iam.create_user(UserName=users[-1], Tags=[{"Key": "n", "Value": str(step)}])
        elif choice == 1:
            iam.add_user_to_group(GroupName=rng.choice(groups), UserName=rng.choice(users))
        elif choice == 2:
            user = rng.choice(users)
            for group in iam.list_groups_for_user(UserName=user)["Groups"][:1]:
                iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user)
        elif choice == 3:
            iam.tag_user(UserName=rng.choice(users), Tags=[{"Key": rng.choice("abc"), "Value": str(step)}])
        elif choice == 4:
            iam.untag_user(UserName=rng.choice(users), TagKeys=[rng.choice("abcn")])
        elif choice == 5:
            old = users.pop(rng.randrange(len(users)))
            users.append(f"r{step}")
            iam.update_user(UserName=old, NewUserName=users[-1])
        elif choice == 6:
            holder = rng.choice(users)
            if iam.list_attached_user_policies(UserName=holder)["AttachedPolicies"]:
                iam.detach_user_policy(UserName=holder, PolicyArn=arn)
            else:
                iam.attach_user_policy(UserName=holder, PolicyArn=arn)
        elif choice == 7:
            iam.put_group_policy(GroupName=rng.choice(groups), PolicyName="p", PolicyDocument=rng.choice([DOC, DOC2]))
        else:
            user = rng.choice(users)
            if iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]:
                continue
            for group in iam.list_groups_for_user(UserName=user)["Groups"]:
                iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user)
            iam.delete_user(UserName=user)
            users.remove(user)


def _check_all_ways_agree(iam: IdentityStore) -> dict[str, list[tuple[str, ...]]]:
    iam.projector.rebuild()  # from the first event, in one bulk load
    batched = _snapshot(iam)
    _replay_in_small_batches(iam, bulk=True)
    assert batched == _snapshot(iam)
    _replay_in_small_batches(iam, bulk=False)
    assert batched == _snapshot(iam)
    _replay_one_per_batch(iam)
    assert batched == _snapshot(iam)
    _replay_without_batch(iam)
    assert batched == _snapshot(iam)
    return batched


def test_a_batch_with_create_rename_and_delete_gives_the_views_of_one_event_per_batch(iam: IdentityStore):
    _history(iam)
    views = _check_all_ways_agree(iam)

    names = [row[4] for row in views[USERS.name] if row[4].startswith("car")]
    assert ["carol", "caroline", "carrie", "carrie"] == names, "renamed twice, then given a boundary"
    assert 1 == sum(1 for row in views[GROUP_MEMBERS.name] if row[-1] == "None")
    tags = iam.get_user(UserName="carrie")["User"]["Tags"]
    assert [("team", "b"), ("x", "1")] == [(t["Key"].casefold(), t["Value"]) for t in tags]


def test_random_histories_project_the_same_in_batches_and_one_by_one(iam: IdentityStore):
    _random_history(iam, random.Random(11), 120)
    views = _check_all_ways_agree(iam)
    assert views[TAGS.name]


def test_reads_between_writes_split_the_log_into_several_batches(iam: IdentityStore):
    """Reads catch the views up part-way, so later batches start from stored rows they must load and close."""
    iam.create_user(UserName="dave", Tags=[{"Key": "a", "Value": "1"}])
    iam.create_group(GroupName="ops")
    iam.list_users()
    iam.add_user_to_group(GroupName="ops", UserName="dave")
    iam.list_users()
    iam.tag_user(UserName="dave", Tags=[{"Key": "b", "Value": "2"}])
    iam.update_user(UserName="dave", NewUserName="david")
    iam.remove_user_from_group(GroupName="ops", UserName="david")
    iam.list_users()
    incremental = _snapshot(iam)
    assert incremental == _check_all_ways_agree(iam)


def test_a_handler_that_is_not_batch_aware_sees_the_effects_of_earlier_events(iam: IdentityStore):
    """A handler registered without ``batched=True`` may use its own SQL: the batch is written out before it."""
    from iamledger.domain.users import User

    seen: list[list[str]] = []

    def count_groups(conn: Connection, event: Any, position: int) -> None:
        del position
        rows = conn.execute(
            select(GROUP_MEMBERS.c.group_uuid).where(
                GROUP_MEMBERS.c.user_uuid == str(event.originator_id), GROUP_MEMBERS.c.valid_to.is_(None)
            )
        ).all()
        seen.append([r[0] for r in rows])

    registry.handles(User.AddedToGroup)(count_groups)
    try:
        iam.create_user(UserName="erin")
        iam.create_group(GroupName="a")
        iam.create_group(GroupName="b")
        iam.add_user_to_group(GroupName="a", UserName="erin")
        iam.add_user_to_group(GroupName="b", UserName="erin")
        iam.projector.catch_up()
    finally:
        registry.HANDLERS[get_topic(User.AddedToGroup)].remove(count_groups)
        registry._PLANS.clear()
    assert [1, 2] == [len(s) for s in seen]
    assert ["a", "b"] == [g["GroupName"] for g in iam.list_groups_for_user(UserName="erin")["Groups"]]


def test_views_far_behind_from_empty_are_caught_up_in_bulk_like_one_event_at_a_time(
    iam: IdentityStore, monkeypatch: Any
):
    from iamledger.projections.engine import projector

    _random_history(iam, random.Random(5), 60)
    iam.list_users()
    incremental = _snapshot(iam)
    _empty_views(iam)
    with iam.engine.begin() as conn:
        conn.execute(TRACKING.update().values(position=0))
    monkeypatch.setattr(projector, "BULK_MIN_EVENTS", 10)
    assert iam.projector.head() == iam.projector.catch_up()
    assert incremental == _snapshot(iam)
    assert iam.projector.verify_views()["Consistent"]
