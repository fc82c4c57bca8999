"""The views: rebuilt from scratch they equal the incrementally built ones; writes in one process are visible to
reads in the next; racing creations of one name (in any case) leave exactly one entity."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from iamledger import IdentityStore
from iamledger.projections.views.tables import TRACKING, metadata


def _snapshot(store: IdentityStore) -> dict[str, list[tuple]]:
    """Every view row, without the surrogate key, sorted."""
    tables = {}
    with store.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table is TRACKING:
                continue
            columns = [c for c in table.c if c.name != "row_id"]
            rows = conn.execute(select(*columns)).all()
            tables[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return tables


def _history(iam: IdentityStore) -> None:
    iam.create_user(UserName="alice", Tags=[{"Key": "team", "Value": "a"}])
    iam.create_user(UserName="bob", Path="/eng/")
    iam.list_users()  # the views catch up part-way
    iam.create_group(GroupName="devs")
    iam.add_user_to_group(GroupName="devs", UserName="alice")
    iam.add_user_to_group(GroupName="devs", UserName="bob")
    iam.get_group(GroupName="devs")
    iam.update_user(UserName="bob", NewUserName="robert")
    iam.tag_user(UserName="alice", Tags=[{"Key": "TEAM", "Value": "b"}])
    iam.attach_group_policy(GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    doc = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}'
    iam.put_user_policy(UserName="alice", PolicyName="s3", PolicyDocument=doc)
    iam.list_users()
    iam.remove_user_from_group(GroupName="devs", UserName="robert")
    iam.delete_user(UserName="robert")
    iam.delete_user_policy(UserName="alice", PolicyName="s3")


def test_a_rebuilt_view_equals_the_incrementally_built_one(iam: IdentityStore):
    _history(iam)
    iam.projector.catch_up()
    incremental = _snapshot(iam)
    assert incremental["iamledger_users"], "the history produced user rows"

    position = iam.projector.rebuild()

    assert iam.projector.head() == position
    assert incremental == _snapshot(iam)


def test_rows_carry_the_interval_in_which_they_were_true(iam: IdentityStore):
    iam.create_user(UserName="bob")
    iam.update_user(UserName="bob", NewUserName="robert")
    iam.projector.catch_up()
    from iamledger.projections.views.tables import USERS

    with iam.engine.connect() as conn:
        rows = conn.execute(select(USERS.c.user_name, USERS.c.valid_from, USERS.c.valid_to)).all()
    (old,) = [r for r in rows if r.user_name == "bob"]
    (new,) = [r for r in rows if r.user_name == "robert"]
    assert old.valid_to == new.valid_from
    assert new.valid_to is None


WRITER = textwrap.dedent(
    """
    import sys
    from iamledger import IdentityStore
    from iamledger.domain.errors import IdentityStoreError
    with IdentityStore.open(sys.argv[1]) as store:
        try:
            store.create_user(UserName=sys.argv[2])
            print("created")
        except IdentityStoreError as error:
            print(error.code)
    """
)


@pytest.mark.slow
def test_two_processes_creating_bob_and_bob_leave_exactly_one_user(iam: IdentityStore, store_url: str):
    for attempt in range(3):
        names = [f"Bob{attempt}", f"bob{attempt}"]
        procs = [
            subprocess.Popen([sys.executable, "-c", WRITER, store_url, name], stdout=subprocess.PIPE, text=True)
            for name in names
        ]
        results = sorted(p.communicate(timeout=120)[0].strip() for p in procs)
        assert ["EntityAlreadyExists", "created"] == results
    users = iam.list_users()["Users"]
    assert 3 == len(users)
    assert {u["UserName"].casefold() for u in users} == {"bob0", "bob1", "bob2"}


def test_a_write_in_one_process_is_visible_to_the_next_read_in_another(iam: IdentityStore, store_url: str):
    script = "import sys; from iamledger import IdentityStore; s = IdentityStore.open(sys.argv[1]); "
    subprocess.run([sys.executable, "-c", script + "s.create_user(UserName='from-elsewhere')", store_url], check=True)
    listed = subprocess.run(
        [sys.executable, "-c", script + "import json; print(json.dumps(s.list_users(), default=str))", store_url],
        check=True,
        capture_output=True,
        text=True,
    )
    assert ["from-elsewhere"] == [u["UserName"] for u in json.loads(listed.stdout)["Users"]]
    assert ["from-elsewhere"] == [u["UserName"] for u in iam.list_users()["Users"]]
