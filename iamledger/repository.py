"""The store's repository: aggregates read as of a bound past position (:meth:`IdentityStore.at`), the cache of
aggregates kept between commands, and, for the only writer of a store, the cached aggregates lent to a command as
they are rather than copied."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final

from eventsourcing.application import AggregateNotFoundError, Cache, LRUCache, Repository

from iamledger.projections.engine.temporal import read_position

AGGREGATE_CACHE_DEFAULT: Final = 4096


def aggregate_cache_size() -> int | None:
    """How many aggregates a store keeps in memory between commands (``$IAMLEDGER_AGGREGATE_CACHE``, default 4,096;
    0 turns the cache off). A cached aggregate is fast-forwarded with the events saved since it was cached, by this
    process or any other, before each use: one query instead of replaying its whole history."""
    value = os.environ.get("IAMLEDGER_AGGREGATE_CACHE", "")
    size = int(value) if value.strip().isdigit() else AGGREGATE_CACHE_DEFAULT
    return size if size > 0 else None


class OrderedLRUCache(LRUCache[uuid.UUID, Any]):
    """eventsourcing's ``LRUCache`` (the same answers, the least recently used entry evicted past ``maxsize``) on an
    ``OrderedDict``, whose reordering is one C call, for a single-threaded writer: the only writer's repository
    reads it a few times every command, and eventsourcing's linked list under a lock cost about 3 µs a read."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.ordered: OrderedDict[uuid.UUID, Any] = OrderedDict()

    def get(self, key: uuid.UUID, *, evict: bool = False) -> Any:
        ordered = self.ordered
        if evict:
            return ordered.pop(key)
        value = ordered[key]  # KeyError when absent, as LRUCache raises
        ordered.move_to_end(key)
        return value

    def put(self, key: uuid.UUID, value: Any) -> Any | None:
        ordered = self.ordered
        ordered[key] = value
        ordered.move_to_end(key)
        if len(ordered) > self.maxsize:
            return ordered.popitem(last=False)
        return None, None


class TemporalRepository(Repository[uuid.UUID]):
    """The application's repository; inside a read bound to a past position (:meth:`IdentityStore.at`) an aggregate
    is loaded at the version it had at that position, and one created later is not found."""

    version_at: Callable[[uuid.UUID, int], int | None]
    known: set[uuid.UUID] | None = None
    """With :meth:`only_writer`: the ids of every aggregate in the store (an id not here has no events)."""
    lent: list[Any] | None = None
    """Inside :meth:`lending`: the cached aggregates handed out as they are, not copied."""

    def only_writer(self, known: set[uuid.UUID]) -> None:
        """This process is the only one writing the store from now on (``serve --ephemeral``), whose aggregates
        have the ids ``known``: a cached aggregate is current without asking the log for events saved since (what
        this process saves replaces it in the cache as it is recorded), and an aggregate whose id is not known does
        not exist. What was cached before is forgotten: saves did not update it while it was fast-forwarded on
        use."""
        if isinstance(self.cache, LRUCache):
            self.cache = OrderedLRUCache(maxsize=self.cache.maxsize)
        elif self.cache is not None:
            self.cache = Cache()
        self.fastforward = False
        self.known = known

    def get(self, aggregate_id: uuid.UUID, *, version: int | None = None, **kwargs: Any) -> Any:
        position = read_position()
        if version is None and position is not None:
            version = self.version_at(aggregate_id, position)
            if version is None:
                raise AggregateNotFoundError(aggregate_id)
        if version is None and self.known is not None and aggregate_id not in self.known:
            raise AggregateNotFoundError(aggregate_id)
        lent = self.lent
        if lent is not None and version is None:
            aggregate = super().get(aggregate_id, **{**kwargs, "deepcopy_from_cache": False})
            lent.append(aggregate)
            return aggregate
        return super().get(aggregate_id, version=version, **kwargs)

    def lending(self) -> AbstractContextManager[None]:
        """A block (a command) in which the only writer's cached aggregates are handed out as they are rather than
        deep-copied (a copy per aggregate per command was a twentieth of a write call's work). What the copy
        protected, the block's end restores: an aggregate the block changed without saving the change (events
        still pending), and every aggregate it was handed when it ends with an error, is dropped from the cache, so
        the next command loads it from the log. Elsewhere (reads, stores with other writers) aggregates are copied
        as before."""
        if self.known is None or self.cache is None or self.lent is not None:
            return nullcontext()
        return Lending(self)

    def forget_lent(self, *, failed: bool) -> None:
        """Drop from the cache what :meth:`lending` hands back changed, or everything lent when ``failed``."""
        lent, self.lent = self.lent, []
        cache = self.cache
        if not lent or cache is None:
            return
        for aggregate in lent:
            if failed or aggregate.pending_events:
                with contextlib.suppress(KeyError):
                    cache.get(aggregate.id, evict=True)

    def saved(self, aggregate_ids: Iterable[uuid.UUID]) -> None:
        """These aggregates exist now."""
        if self.known is not None:
            self.known.update(aggregate_ids)


class Lending:
    """The block :meth:`TemporalRepository.lending` gives."""

    __slots__ = ("_repository",)

    def __init__(self, repository: TemporalRepository) -> None:
        self._repository = repository

    def __enter__(self) -> None:
        self._repository.lent = []

    def __exit__(self, kind: object, _error: object, _traceback: object) -> None:
        repository = self._repository
        try:
            repository.forget_lent(failed=kind is not None)
        finally:
            repository.lent = None
