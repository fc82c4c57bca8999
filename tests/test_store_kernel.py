"""The store's kernel (iamledger/kernel.py) keeps what the stores written before it rely on."""

from __future__ import annotations

from sqlalchemy import inspect

from iamledger.kernel import StoreKernel
from iamledger.standby import StandbyStore
from iamledger.store import IdentityStore


class _AnotherStore(IdentityStore):
    pass


def test_every_store_class_keeps_the_application_s_name():
    # eventsourcing names an application after its class unless told otherwise, and its log's tables after the name:
    # a store class named differently would open an empty log beside the one a store was written with.
    assert {"iamledger"} == {cls.name for cls in (StoreKernel, IdentityStore, StandbyStore, _AnotherStore)}


def test_the_log_is_the_table_the_stores_before_wrote(store_url: str):
    with IdentityStore.open(store_url) as store:
        store.init("123456789012")
        store.create_user(UserName="alice")
        table = store.events_table()
        schema, _, name = table.rpartition(".")
        names = inspect(store.engine).get_table_names(schema=schema.strip('"') or None)
        assert name.strip('"') in names
        if store.store_url.backend == "postgres":
            assert name.strip('"') == "iamledger_events"
    with _AnotherStore.open(store_url) as again:
        assert "alice" in [u["UserName"] for u in again.list_users()["Users"]]
