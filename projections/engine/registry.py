"""Which function updates the views for which event class.

View modules register their handlers with :func:`handles`; the projector dispatches each event to the handlers of
its class and of its base classes, in registration order. An event class is named by its topic, the string its
events are stored under (``"iamledger.domain.users:User.Created"``), or by the class itself: a topic lets a view
module name the events of an aggregate without importing the aggregate's module, which cost a read command 0.17 s
to start (eventsourcing makes each event class a dataclass as the module is imported; docs/performance.md).
The aggregate's module is imported when the first of its events is decoded. A topic that names no event class fails
:func:`check_topics` (tests/test_projector_registry.py).

A batch of events (:func:`dispatch_batch`) is applied inside
:func:`iamledger.projections.engine.write_batches.batched`: the temporal write functions then buffer their work in
memory and write it with one ``executemany`` per table at the end of the batch. Handlers registered with
``batched=True`` promise to touch the views only through those functions (``open_row``, ``close_rows``,
``replace_row``, ``current_row``, ``current_rows``, ...), never with their own SQL; any other handler runs with the
batch written out before it and started afresh after it, so it may use ``conn`` as it likes. Before the handlers run,
the functions registered with :func:`prefetches` name the rows the batch's events will need, and they are loaded in
bulk (one query per table and key column).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar

from eventsourcing.utils import construct_topic, get_topic, resolve_topic
from sqlalchemy import Connection, Table

from iamledger.projections.engine.temporal_rows import prefetch
from iamledger.projections.engine.write_batches import batched, bulk_checkpoint, bulk_loading_active, unbatched

Handler = Callable[[Connection, Any, int], None]
Prefetch = Callable[[Any], Iterable[tuple[Table, str, Any]]]
F = TypeVar("F", bound=Handler)
P = TypeVar("P", bound=Prefetch)

HANDLERS: Final[dict[str, list[Handler]]] = {}  # by the topic of the event class
PREFETCHES: Final[dict[str, list[Prefetch]]] = {}
_BATCHED: Final[set[Handler]] = set()
_PLANS: Final[dict[type, tuple[list[tuple[Handler, bool]], list[Prefetch]]]] = {}
_TOPICS: Final[dict[str, bool]] = {}  # whether a topic's events have handlers
SMALL_BATCH: Final = 2
"""Up to this many events are applied without a batch (:func:`~iamledger.projections.engine.write_batches.batched`)."""


def _topic(event_type: type | str) -> str:
    return event_type if isinstance(event_type, str) else get_topic(event_type)


def handles(*event_types: type | str, batched: bool = False) -> Callable[[F], F]:
    """Register the decorated function ``(conn, event, position)`` for ``event_types`` (classes or their topics);
    ``batched=True`` when it works on the views only through the temporal functions (see the module docstring)."""

    def register(func: F) -> F:
        for event_type in event_types:
            HANDLERS.setdefault(_topic(event_type), []).append(func)
        if batched:
            _BATCHED.add(func)
        _PLANS.clear()
        _TOPICS.clear()
        return func

    return register


def prefetches(*event_types: type | str) -> Callable[[P], P]:
    """Register the decorated function ``event -> [(table, column, value), ...]``: the current rows a batch
    containing such an event (a class or its topic) should load in bulk before its handlers run."""

    def register(func: P) -> P:
        for event_type in event_types:
            PREFETCHES.setdefault(_topic(event_type), []).append(func)
        _PLANS.clear()
        _TOPICS.clear()
        return func

    return register


def _plan(event_type: type) -> tuple[list[tuple[Handler, bool]], list[Prefetch]]:
    """The handlers (with whether each is batch-aware) and prefetches of an event class, its bases' included."""
    plan = _PLANS.get(event_type)
    if plan is None:
        # (an event class of eventsourcing's making can have a base of the same name: each topic counts once)
        topics = dict.fromkeys(construct_topic(klass) for klass in event_type.__mro__ if klass is not object)
        handlers = [(h, h in _BATCHED) for topic in topics for h in HANDLERS.get(topic, ())]
        loads = [p for topic in topics for p in PREFETCHES.get(topic, ())]
        plan = _PLANS[event_type] = (handlers, loads)
    return plan


def handles_topic(topic: str) -> bool:
    """Whether some view handles the events of ``topic`` (a topic whose class cannot be resolved counts as handled,
    so that decoding its events reports the problem): the projector need not decode the others. A topic registered
    as such is answered without importing its class's module."""
    found = _TOPICS.get(topic)
    if found is None:
        if topic in HANDLERS:
            return True
        try:
            found = bool(_plan(resolve_topic(topic))[0])
        except Exception:  # noqa: BLE001 - decoding the event reports it, with its position
            return True
        _TOPICS[topic] = found
    return found


def dispatch(conn: Connection, event: Any, position: int) -> None:
    """Apply ``event``, recorded at notification id ``position``, to every view that handles it."""
    dispatch_batch(conn, [(event, position)])


def all_batched() -> bool:
    """Whether every registered handler is batch-aware (a bulk load needs them all to be)."""
    return all(h in _BATCHED for handlers in HANDLERS.values() for h in handlers)


def _dispatch_bulk(conn: Connection, events: list[tuple[Any, int]]) -> None:
    """In a bulk load every current row is in memory: nothing to prefetch; the rows closed are written after."""
    _dispatch_each(conn, events)
    bulk_checkpoint(conn)


def _dispatch_each(conn: Connection, events: list[tuple[Any, int]]) -> None:
    for event, position in events:
        for handler, _ in (_PLANS.get(type(event)) or _plan(type(event)))[0]:
            handler(conn, event, position)


def dispatch_batch(conn: Connection, events: list[tuple[Any, int]]) -> None:
    """Apply a batch of ``(event, position)`` pairs, in order, in the caller's transaction."""
    if bulk_loading_active(conn):
        _dispatch_bulk(conn, events)
    elif len(events) <= SMALL_BATCH:  # a request's few events: statements one by one cost less than a batch's set-up
        _dispatch_each(conn, events)
    else:
        _dispatch_batched(conn, events)


def _dispatch_batched(conn: Connection, events: list[tuple[Any, int]]) -> None:
    with batched(conn):
        plans = [(_PLANS.get(type(event)) or _plan(type(event)), event, position) for event, position in events]
        wanted: dict[tuple[Table, str], list[Any]] = {}
        for (_, loads), event, _ in plans:
            for load in loads:
                for table, column, value in load(event):
                    found = wanted.get((table, column))
                    if found is None:
                        wanted[table, column] = [value]
                    else:
                        found.append(value)
        for (table, column), values in wanted.items():
            prefetch(conn, table, column, values)
        for (handlers, _), event, position in plans:
            for handler, aware in handlers:
                if aware:
                    handler(conn, event, position)
                else:
                    with unbatched(conn):
                        handler(conn, event, position)


def check_topics() -> list[str]:
    """The registered topics that name no class (a misspelt event or module): none, when the views are right."""
    wrong = []
    for topic in {*HANDLERS, *PREFETCHES}:
        try:
            resolve_topic(topic)
        except Exception:  # noqa: BLE001 - any failure to resolve is what this reports
            wrong.append(topic)
    return sorted(wrong)
