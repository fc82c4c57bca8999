"""The aggregates an import touches, loaded once and saved in batches (:class:`ImportWorkspace`), the names they claim
and release, and the count of what the import changed (:class:`Changes`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import AggregateNotFoundError

from iamledger.domain.names import NameIndex
from iamledger.services.base import ServiceBase

ProgressCallback = Callable[[int, int], None]


@functools.lru_cache(maxsize=65536)
def name_index_id(account_id: str, kind: str, name: str) -> uuid.UUID:
    """:meth:`NameIndex.create_id`, remembered: an import asks for each name's index several times."""
    return NameIndex.create_id(account_id, kind, name)


@dataclass(slots=True)
class Changes:
    """What an import changed, counted by kind of change (the keys of the import's summary)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, number: int = 1) -> None:
        if number:
            self.counts[what] = self.counts.get(what, 0) + number

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class ImportWorkspace:
    """The aggregates an import touches, loaded once and saved in batches of ``batch_size`` aggregates."""

    def __init__(self, service: ServiceBase, batch_size: int, progress: ProgressCallback | None) -> None:
        self.service = service
        self.batch_size = batch_size
        self.progress = progress
        self.cache: dict[uuid.UUID, Any] = {}
        self.missing: set[uuid.UUID] = set()
        self.dirty: dict[uuid.UUID, Any] = {}
        self.saved_events = 0
        self.expected_events = 0
        self.after_save: list[Callable[[], None]] = []  # vault clean-ups of deleted credentials

    def get(self, entity_id: uuid.UUID) -> Any:
        if entity_id in self.cache:
            return self.cache[entity_id]
        if entity_id in self.missing:
            return None
        try:
            aggregate: Any = self.service.repository.get(entity_id)
        except AggregateNotFoundError:
            self.missing.add(entity_id)
            return None
        self.cache[entity_id] = aggregate
        return aggregate

    def known_absent(self, entity_ids: list[uuid.UUID]) -> None:
        """Learn in one query which of ``entity_ids`` have no events, so that loading them costs nothing."""
        unknown = [i for i in entity_ids if i not in self.cache and i not in self.missing]
        self.missing.update(set(unknown) - self.service.existing_aggregates(unknown))

    def touch(self, *aggregates: Any) -> None:
        for aggregate in aggregates:
            self.cache[aggregate.id] = aggregate
            self.missing.discard(aggregate.id)
            self.dirty[aggregate.id] = aggregate
        if len(self.dirty) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        batch = [a for a in self.dirty.values() if a.pending_events]
        self.dirty.clear()
        if not batch:
            return
        events = sum(len(a.pending_events) for a in batch)
        self.service.save(*batch)
        self.saved_events += events
        for action in self.after_save:
            action()
        self.after_save.clear()
        if self.progress is not None:
            self.progress(self.saved_events, max(self.expected_events, self.saved_events))

    # -- names ----------------------------------------------------------------------------------------------------

    def index(self, account_id: str, kind: str, name: str) -> NameIndex | None:
        found: NameIndex | None = self.get(name_index_id(account_id, kind, name))
        return found

    def holder(self, account_id: str, kind: str, name: str) -> Any:
        """The live entity holding ``name``, or ``None``."""
        index = self.index(account_id, kind, name)
        if index is None or index.entity_id is None:
            return None
        return self.get(index.entity_id)

    def claim(self, account_id: str, kind: str, name: str, entity_id: uuid.UUID) -> None:
        index = self.index(account_id, kind, name)
        if index is None:  # created with the id already computed (NameIndex(...) would compute it again)
            index = NameIndex.create_with_id(
                name_index_id(account_id, kind, name), account_id=account_id, kind=kind, name=name, entity_id=entity_id
            )
        else:
            index.claim(name, entity_id, f"The {kind} name {name} is taken.")
        self.touch(index)

    def release(self, account_id: str, kind: str, name: str) -> None:
        index = self.index(account_id, kind, name)
        if index is not None:
            index.release()
            self.touch(index)
