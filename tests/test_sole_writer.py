"""The write path of the only writer of a store (``ServingConfig(sole_writer=True)``, as ``serve --ephemeral`` opens
its stores): outside a request a save is recorded, applied to the views and checkpointed in one transaction; in a
request it is recorded at once and applied from memory by the next catch-up (a later read, else the one after the
response); anything that does not line up falls back to the ordinary catch-up from the log."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from iamledger import IdentityStore, ServingConfig
from iamledger.domain.errors import IdentityStoreError
from iamledger.masterkey import KEY_BYTES
from iamledger.projections.engine.projector import Projector
from iamledger.projections.engine.serving import ServingProjector
from iamledger.projections.log.ledger import EventLogCorruptedError
from iamledger.repository import TemporalRepository

ONLY_WRITER = ServingConfig(sole_writer=True, disposable=True)
"""As ``serve --ephemeral`` opens its stores (``iamledger.server.ephemeral.SERVING``)."""


@pytest.fixture
def only_writer(tmp_path: Path) -> Iterator[tuple[IdentityStore, str]]:
    """A store opened as its only writer, initialized, its views current; and its URL."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = IdentityStore.open(url, master_key=secrets.token_bytes(KEY_BYTES), serving=ONLY_WRITER)
    try:
        store.init("123456789012")
        assert isinstance(store.projector, ServingProjector)
        store.projector.catch_up()  # as the first request does: the views are known current from here
        yield store, url
    finally:
        store.close()


def test_the_store_builds_the_projector_its_configuration_names(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with IdentityStore.open(url) as plain:
        assert type(plain.projector) is Projector  # the library's own use: every read catches up
        assert plain.serving is None
    with IdentityStore.open(url, serving=ServingConfig()) as serving:
        assert isinstance(serving.projector, ServingProjector)
        assert not serving.projector.sole_writer
        repository = serving.repository
        assert isinstance(repository, TemporalRepository)
        assert repository.known is None  # other processes write: aggregates are fast-forwarded from the log
    with IdentityStore.open(url, serving=ONLY_WRITER) as only:
        assert isinstance(only.projector, ServingProjector)
        assert (only.projector.sole_writer, only.projector.disposable) == (True, True)
        repository = only.repository
        assert isinstance(repository, TemporalRepository)
        assert repository.known is not None  # the only writer trusts its cached aggregates
    with pytest.raises(ValueError, match="sole_writer"):
        ServingConfig(disposable=True)


def test_an_ephemeral_endpoint_opens_its_stores_as_their_only_writer():
    from iamledger.server import EphemeralStores

    stores = EphemeralStores(access_key_id="AKIASOLEWRITERTEST00", secret_access_key="sole-writer-secret")
    holder = stores.holder()
    try:
        store = holder.current()
        assert store.serving == ONLY_WRITER
        assert isinstance(store.projector, ServingProjector)
    finally:
        holder.close()


def _head(store: IdentityStore) -> int:
    return int(store.recorder.max_notification_id() or 0)


def test_a_save_moves_log_views_and_chain_together(only_writer):
    store, _ = only_writer
    store.create_user(UserName="ann", Tags=[{"Key": "team", "Value": "blue"}])
    store.create_group(GroupName="devs")
    store.add_user_to_group(GroupName="devs", UserName="ann")
    head = _head(store)
    assert store.projector.position() == head  # applied in the save's own transaction, no catch-up needed
    report = store.verify_log(extend=False)
    assert report.verified
    assert (report.position, report.unverified_tail) == (head, 0)
    assert store.get_group(GroupName="devs")["Users"][0]["UserName"] == "ann"
    assert store.projector.verify_views()["Consistent"]


def test_a_save_whose_views_cannot_be_applied_records_nothing(only_writer, monkeypatch: pytest.MonkeyPatch):
    store, _ = only_writer
    store.create_user(UserName="ann")
    before = _head(store)

    def broken(*_: Any) -> None:
        raise ValueError("a view handler failed")

    monkeypatch.setattr("iamledger.projections.engine.projector.dispatch_batch", broken)
    with pytest.raises(IdentityStoreError):
        store.create_user(UserName="bob")
    monkeypatch.undo()
    assert _head(store) == before  # the events were rolled back with the views
    assert store.projector.position() == before
    store.create_user(UserName="bob")  # and the name is still free
    assert store.projector.verify_views()["Consistent"]


def test_a_conflicting_event_is_an_integrity_error_and_records_nothing(only_writer):
    store, _ = only_writer
    store.create_user(UserName="ann")
    views = store.projector
    assert isinstance(views, ServingProjector)
    stored = store.recorder.select_notifications(start=_head(store), limit=1)[0]
    again = store.mapper.to_domain_event(stored)  # the same originator and version as a stored event
    before = _head(store)
    with store.engine.connect() as conn, pytest.raises(IntegrityError):
        views.record_and_apply(conn, views.position(), [again], None)
    assert _head(store) == before


def test_another_writer_sends_the_views_back_to_the_log(only_writer):
    store, url = only_writer
    store.create_user(UserName="ann")
    with IdentityStore.open(url, create=False) as other:  # breaks the only-writer promise
        other.create_user(UserName="made-elsewhere")
    store.create_user(UserName="bob")  # its events do not follow the views: they are recorded, not applied
    names = {u["UserName"] for u in store.list_users()["Users"]}  # the next read catches up from the log
    assert names == {"ann", "made-elsewhere", "bob"}
    assert store.projector.position() == _head(store)
    assert store.projector.verify_views()["Consistent"]


def _views(store: IdentityStore) -> ServingProjector:
    views = store.projector
    assert isinstance(views, ServingProjector)
    return views


def test_in_a_request_a_save_is_recorded_at_once_and_applied_by_the_next_catch_up(
    only_writer, monkeypatch: pytest.MonkeyPatch
):
    store, _ = only_writer
    views = _views(store)
    before = views.position()
    views.begin_request()
    store.create_user(UserName="ann", Tags=[{"Key": "team", "Value": "blue"}])
    store.create_group(GroupName="devs")
    assert _head(store) == before + 4  # in the log (committed) before the response: a name index and an entity each
    assert views.position() == before  # the views follow once the response is on its way
    assert views.end_request()  # the request wrote: the endpoint catches up after its response

    def read_back(*_: Any) -> None:
        raise AssertionError("the views read the log back")

    monkeypatch.setattr(views, "_select", read_back)
    views.catch_up()  # applied from memory
    monkeypatch.undo()
    assert views.position() == _head(store)
    report = store.verify_log(extend=False)
    assert report.verified
    assert (report.position, report.unverified_tail) == (_head(store), 0)
    assert views.verify_views()["Consistent"]


def test_a_read_after_a_save_in_the_same_request_sees_it(only_writer):
    store, _ = only_writer
    views = _views(store)
    views.begin_request()
    store.create_user(UserName="ann")
    assert [u["UserName"] for u in store.list_users()["Users"]] == ["ann"]
    views.end_request()
    assert views.position() == _head(store)


def test_another_writer_between_a_request_and_its_catch_up_sends_the_views_back_to_the_log(only_writer):
    store, url = only_writer
    views = _views(store)
    views.begin_request()
    with IdentityStore.open(url, create=False) as other:  # breaks the only-writer promise
        other.create_user(UserName="made-elsewhere")
    store.create_user(UserName="ann")  # recorded after the other writer's event: it does not follow the views
    views.end_request()
    views.catch_up()
    assert {u["UserName"] for u in store.list_users()["Users"]} == {"made-elsewhere", "ann"}
    assert views.position() == _head(store)
    assert views.verify_views()["Consistent"]


def test_a_view_failure_after_the_response_leaves_the_save_in_the_log_for_the_catch_up(
    only_writer, monkeypatch: pytest.MonkeyPatch
):
    store, _ = only_writer
    views = _views(store)
    views.begin_request()
    store.create_user(UserName="ann")
    views.end_request()
    head = _head(store)

    def broken(*_: Any) -> None:
        raise ValueError("a view handler failed")

    monkeypatch.setattr("iamledger.projections.engine.projector.dispatch_batch", broken)
    with pytest.raises(EventLogCorruptedError, match="a view handler failed"):
        views.catch_up()
    monkeypatch.undo()
    assert _head(store) == head  # the save stays recorded (its caller was answered)
    assert views.position() < head
    views.catch_up()  # the ordinary catch-up from the log takes over
    assert views.position() == head
    assert [u["UserName"] for u in store.list_users()["Users"]] == ["ann"]
    assert views.verify_views()["Consistent"]


# -- a command's aggregates: lent from the cache, not copied -------------------------------------------------------


def _cached_user(store: IdentityStore, name: str) -> Any:
    """The user aggregate as the repository hands it out outside a command (a copy of the cached one)."""
    account_id = store.default_account_id()
    return store._entity_only(account_id, "user", name, "no such user")


def test_a_command_is_lent_the_cached_aggregate_and_a_read_gets_a_copy(only_writer):
    store, _ = only_writer
    store.create_user(UserName="ann")
    seen: list[Any] = []

    def body(account_id: str) -> dict[str, Any]:
        seen.append(store._entity_only(account_id, "user", "ann", "no such user"))
        seen.append(store._entity_only(account_id, "user", "ann", "no such user"))
        return {}

    store._command("GetUser", {"UserName": "ann"}, body)
    assert seen[0] is seen[1]  # the cached aggregate itself, twice
    assert _cached_user(store, "ann") is not _cached_user(store, "ann")  # outside a command: copies


def test_a_failed_command_leaves_no_change_in_the_cache(only_writer, monkeypatch: pytest.MonkeyPatch):
    store, _ = only_writer
    store.create_user(UserName="ann", Tags=[{"Key": "team", "Value": "blue"}])

    def refused(*_: Any, **__: Any) -> None:
        raise IdentityStoreError("the save was refused")

    with monkeypatch.context() as patched:
        patched.setattr(store, "save", refused)
        with pytest.raises(IdentityStoreError, match="the save was refused"):
            store.tag_user(UserName="ann", Tags=[{"Key": "env", "Value": "prod"}])
    assert _cached_user(store, "ann").tags == [("team", "blue")]  # the tag the failed command added is gone
    store.tag_user(UserName="ann", Tags=[{"Key": "owner", "Value": "ops"}])
    assert _cached_user(store, "ann").tags == [("team", "blue"), ("owner", "ops")]
    assert store.list_user_tags(UserName="ann")["Tags"] == [
        {"Key": "team", "Value": "blue"},
        {"Key": "owner", "Value": "ops"},
    ]


def test_a_change_a_command_does_not_save_is_dropped_from_the_cache(only_writer):
    store, _ = only_writer
    store.create_user(UserName="ann")

    def body(account_id: str) -> dict[str, Any]:
        user = store._entity_only(account_id, "user", "ann", "no such user")
        user.tag([("env", "prod")])  # changed, never saved
        return {}

    store._command("TagUser", {"UserName": "ann", "Tags": []}, body)
    assert _cached_user(store, "ann").tags == []
    assert store.list_user_tags(UserName="ann")["Tags"] == []


def test_a_retried_command_starts_from_what_the_log_holds(only_writer):
    from iamledger.domain.errors import ConcurrentModificationError

    store, _ = only_writer
    store.create_user(UserName="ann")
    attempts: list[list[tuple[str, str]]] = []

    def body(account_id: str) -> dict[str, Any]:
        user = store._entity_only(account_id, "user", "ann", "no such user")
        attempts.append(list(user.tags))
        user.tag([("try", str(len(attempts)))])
        if len(attempts) == 1:
            raise ConcurrentModificationError("lost a race")
        store._save(user)
        return {}

    store._command("TagUser", {"UserName": "ann", "Tags": []}, body)
    assert attempts == [[], []]  # the second attempt did not see the first one's unsaved tag
    assert _cached_user(store, "ann").tags == [("try", "2")]


def test_the_only_writers_cache_answers_as_eventsourcings_lru_cache():
    import random
    import uuid

    from eventsourcing.application import LRUCache

    from iamledger.repository import OrderedLRUCache

    keys = [uuid.uuid4() for _ in range(12)]
    ours, theirs = OrderedLRUCache(maxsize=5), LRUCache(maxsize=5)
    chooser = random.Random(7)
    for step in range(5_000):
        key = chooser.choice(keys)
        action = chooser.choice(["get", "get", "put", "evict"])
        if action == "put":
            ours.put(key, step)
            theirs.put(key, step)
            continue
        answers = []
        for cache in (ours, theirs):
            try:
                answers.append(cache.get(key, evict=action == "evict"))
            except KeyError:
                answers.append("absent")
        assert answers[0] == answers[1], (step, action)
    assert len(ours.ordered) == len(theirs.cache) == 5
