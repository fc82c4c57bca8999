"""The one override of a library's internals that stays (docs/performance.md, "Library internals"):
``IdentityStore.save`` replicates eventsourcing 9.5.6's ``Application.save`` step for step. These tests fail when an
upgrade of eventsourcing changes what it replicates, and check that it saves what eventsourcing's own ``save`` does."""

from __future__ import annotations

import inspect
import textwrap
import uuid
from typing import Any

import pytest
from eventsourcing.application import Application, ProcessingEvent

import iamledger.kernel as store_module
from iamledger import IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.accounts import Account, AccountRegistry
from iamledger.domain.audit import AuditContext
from iamledger.domain.ids import root_arn

ACCOUNT_ID = "123456789012"

# What IdentityStore.save replicates, as eventsourcing 9.5.6 has it.
REPLICATED_SOURCE = {
    "Application.save": '''
    def save(
        self,
        *objs: MutableOrImmutableAggregate[TAggregateID]
        | DomainEventProtocol[TAggregateID]
        | None,
        **kwargs: Any,
    ) -> list[Recording[TAggregateID]]:
        """Collects pending events from given aggregates and
        puts them in the application's event store.
        """
        processing_event: ProcessingEvent[TAggregateID] = ProcessingEvent()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # Deprecated.
        return recordings
''',
    "ProcessingEvent.__init__": '''
    def __init__(self, tracking: Tracking | None = None):
        """Initialises the process event with the given tracking object."""
        self.tracking = tracking
        self.events: list[DomainEventProtocol[TAggregateID]] = []
        self.aggregates: dict[
            TAggregateID, MutableOrImmutableAggregate[TAggregateID]
        ] = {}
        self.saved_kwargs: dict[Any, Any] = {}
''',
    "ProcessingEvent.collect_events": '''
    def collect_events(
        self,
        *objs: MutableOrImmutableAggregate[TAggregateID]
        | DomainEventProtocol[TAggregateID]
        | None,
        **kwargs: Any,
    ) -> None:
        """Collects pending domain events from the given aggregate."""
        for obj in objs:
            if obj is None:
                continue
            if isinstance(obj, DomainEventProtocol):
                self.events.append(obj)
            else:
                if isinstance(obj, CollectEventsProtocol):
                    for event in obj.collect_events():
                        self.events.append(event)
                self.aggregates[obj.id] = obj

        self.saved_kwargs.update(kwargs)
''',
}


@pytest.mark.parametrize("name", sorted(REPLICATED_SOURCE))
def test_what_identity_store_save_replicates_is_eventsourcing_9_5_6s(name: str):
    function = {
        "Application.save": Application.save,
        "ProcessingEvent.__init__": ProcessingEvent.__init__,
        "ProcessingEvent.collect_events": ProcessingEvent.collect_events,
    }[name]
    assert textwrap.dedent(inspect.getsource(function)).strip() == textwrap.dedent(REPLICATED_SOURCE[name]).strip(), (
        f"eventsourcing's {name} changed: bring StoreKernel.save (iamledger/kernel.py) in line with it, or drop the "
        "override if the gain in docs/performance.md no longer holds; then update REPLICATED_SAVE there and this test"
    )


def test_the_installed_eventsourcing_passes_the_import_check():
    store_module.check_replicated_save()


def test_another_eventsourcing_save_fails_the_import_loudly(monkeypatch: pytest.MonkeyPatch):
    def save(self: Any, *objs: Any, **kwargs: Any) -> Any:  # one step more than 9.5.6's
        processing_event: Any = ProcessingEvent()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self._notify_subscribers(recordings)
        self.notify(processing_event.events)
        return recordings

    replicated = dict(store_module.REPLICATED_SAVE)
    replicated[save] = replicated.pop(Application.save)
    monkeypatch.setattr(store_module, "REPLICATED_SAVE", replicated)
    with pytest.raises(
        ImportError, match=r"replicates eventsourcing 9\.5\.6's Application\.save.* has a different .*save"
    ):
        store_module.check_replicated_save()


def _objects() -> list[Any]:
    """Aggregates with pending events (one of them twice), ``None`` and a bare event; their ids fixed, so that two
    calls give equal objects."""
    with bound_audit_context(AuditContext(actor=root_arn(ACCOUNT_ID), request_id="r-1", user_agent="test")):
        registry = AccountRegistry()
        registry.register(ACCOUNT_ID)
        account = Account(account_id=ACCOUNT_ID)
        other = Account(account_id="210987654321")
    return [registry, None, account, other.collect_events()[0], account]


def _steps(store: IdentityStore, monkeypatch: pytest.MonkeyPatch, save: Any) -> list[Any]:
    """The steps ``save`` takes on ``store`` for :func:`_objects`, with what each is given (nothing is recorded)."""
    steps: list[Any] = []

    def events(processing_event: ProcessingEvent[uuid.UUID]) -> list[Any]:
        return [(type(e).__qualname__, e.originator_id, e.originator_version) for e in processing_event.events]

    def record(processing_event: ProcessingEvent[uuid.UUID]) -> list[Any]:
        aggregates = [(i, type(a).__qualname__) for i, a in processing_event.aggregates.items()]
        steps.append(("record", events(processing_event), aggregates, processing_event.saved_kwargs, None))
        return ["recordings"]

    monkeypatch.setattr(store, "_record", record)
    monkeypatch.setattr(store, "_take_snapshots", lambda p: steps.append(("snapshots", events(p))))
    monkeypatch.setattr(store, "_notify", lambda r: steps.append(("notify recordings", r)))
    monkeypatch.setattr(store, "notify", lambda e: steps.append(("notify events", len(e))))
    assert save(store, *_objects(), note="kept") == ["recordings"]
    return steps


def test_identity_store_save_takes_eventsourcings_steps_with_the_same_events(
    store: IdentityStore, monkeypatch: pytest.MonkeyPatch
):
    ours = _steps(store, monkeypatch, IdentityStore.save)
    theirs = _steps(store, monkeypatch, Application.save)
    assert ours == theirs
    assert [step[0] for step in ours] == ["record", "snapshots", "notify recordings", "notify events"]
    assert len(ours[0][1]) == 4  # registry created and registered, account created, the bare event
