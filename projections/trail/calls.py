"""How a request's facts become calls: which call a bookkeeping event folds into (the rule the replay,
:meth:`~iamledger.projections.trail.render.Trail.assemble`, and the projection share), and, for the projection
(:mod:`~iamledger.projections.trail.index`), the calls of a batch's requests and the records earlier batches stored.

A request may hold several calls of one operation (a user onboarded into three groups, an import), and a writer that
saves aggregate by aggregate (``bench generate``'s bulk load, an import) records their events out of call order: a
group's copy of a membership may come before the user's own event, with other requests' events between. A bookkeeping
event folds into the call it is about (:func:`_fits`), not merely the nearest, wherever it was saved; and when the
projection reads it before its call (an earlier batch or catch-up), it waits for the call in the renderer's state
(:attr:`~iamledger.projections.trail.stored_state.StoredState.pending`).
"""

from __future__ import annotations

import dataclasses
import heapq
import uuid
from bisect import bisect_left, insort
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Final, Generic, Protocol, TypeVar

from sqlalchemy import Connection, delete, select, update

from iamledger.projections.trail.records import POSITION_KEY, Resource, TrailRecord, _Fact, _joins
from iamledger.projections.trail.tables import (
    IDENTITY_LOG,
    TRAIL_INDEX,
    TRAIL_RECORDS,
    _body,
    _index_rows,
    _insert,
    record_of_row,
)

IN_CHUNK: Final = 500
"""Values per ``IN (...)``."""

# -- the rule: which call a bookkeeping event folds into ----------------------------------------------------------


def _fits(fact: _Fact, resources: Collection[Resource], entities: Collection[uuid.UUID]) -> bool:
    """Whether bookkeeping ``fact`` is about the call with ``resources`` and ``entities``: every resource it names is
    the call's, or every entity it touched is (a group's copy of a membership names the group and the user the call
    names; a policy's count of attachments, the policy the call attached). Bookkeeping that names nothing (a name
    index) fits every call it joins. A primary fact that may join a call (a root key made with its account) joins
    by operation alone."""
    if fact.primary or not (fact.resources or fact.entities):
        return True
    if fact.resources and all(r in resources for r in fact.resources):
        return True
    return bool(fact.entities) and all(e in entities for e in fact.entities)


class _Joinable(Protocol):
    """A call as :func:`_nearest` weighs it: where it starts, its operation, and what it names so far."""

    @property
    def position(self) -> int: ...

    @property
    def operation(self) -> str: ...

    @property
    def resources(self) -> Collection[Resource]: ...

    @property
    def entities(self) -> Collection[uuid.UUID]: ...


@dataclasses.dataclass
class _Call:
    """A call being assembled: its facts (the one that opened it first) and what they name so far."""

    facts: list[_Fact]
    resources: list[Resource]
    entities: set[uuid.UUID]

    @classmethod
    def of(cls, primary: _Fact) -> _Call:
        return cls([primary], list(primary.resources), set(primary.entities))

    @property
    def position(self) -> int:
        return self.facts[0].position

    @property
    def operation(self) -> str:
        return self.facts[0].operation

    def add(self, fact: _Fact) -> None:
        self.facts.append(fact)
        self.resources += [r for r in fact.resources if r not in self.resources]
        self.entities |= fact.entities


J = TypeVar("J", bound=_Joinable)


class Calls(Generic[J]):
    """A request's calls as :func:`_nearest` searches them: by operation, each operation's in the log's order.

    A request may hold thousands of calls (an import is one request); searching all of them for each bookkeeping
    event made an import's trail quadratic (a 2,000-user import: 211 s, 96 events/s). By operation and position,
    the search reads only the calls of the operations the event joins, nearest first, and stops at the first that
    fits: in a log in call order, the nearest."""

    def __init__(self, calls: Iterable[J] = ()) -> None:
        self._by_operation: dict[str, list[tuple[int, int, J]]] = {}
        self._added = 0
        for call in calls:
            self.add(call)

    def add(self, call: J) -> None:
        """Another call of the request (its operation and position are fixed; what it names may grow)."""
        insort(self._by_operation.setdefault(call.operation, []), (call.position, self._added, call))
        self._added += 1

    def __iter__(self) -> Iterator[J]:
        """The calls in the order they were added."""
        found = [entry for entries in self._by_operation.values() for entry in entries]
        return (call for _, _, call in sorted(found, key=lambda entry: entry[1]))

    def nearest_first(self, fact: _Fact) -> Iterator[J]:
        """The calls ``fact`` joins (:func:`_joins`), nearest to it in the log first, the earlier of two as near,
        then the one added first."""
        walks = [
            _outwards(entries, fact.position)
            for operation, entries in self._by_operation.items()
            if _joins(fact, operation)
        ]
        return (call for _, _, _, call in heapq.merge(*walks))


def _outwards(entries: list[tuple[int, int, J]], position: int) -> Iterator[tuple[int, int, int, J]]:
    """``entries`` (sorted by position) as ``(distance, position, order added, call)``, nearest to ``position``
    first: a walk outwards from where ``position`` would be, on both sides."""
    after = bisect_left(entries, (position,))
    before = after - 1
    while before >= 0 or after < len(entries):
        if after >= len(entries) or (before >= 0 and position - entries[before][0] <= entries[after][0] - position):
            call_position, added, call = entries[before]
            before -= 1
        else:
            call_position, added, call = entries[after]
            after += 1
        yield abs(call_position - position), call_position, added, call


def _nearest(fact: _Fact, calls: Calls[J]) -> J | None:
    """The call of a request that bookkeeping ``fact`` folds into, if any: one it joins (:func:`_joins`) and fits
    (:func:`_fits`, weighed against what the call names with the facts folded into it so far, the request's facts
    taken in the log's order), the nearest in the log, the earlier of two as near. Nearness alone would give one call
    of a request another's group when the request's events are out of call order (see the module's text)."""
    return next((call for call in calls.nearest_first(fact) if _fits(fact, call.resources, call.entities)), None)


# -- the projection's calls ---------------------------------------------------------------------------------------


def _calls(
    conn: Connection, pending: Sequence[_Fact], group: Sequence[_Fact], stored: list[_StoredCall]
) -> tuple[list[_Call], list[_Fact]]:
    """The calls of one request among a batch's facts, as :meth:`Trail.assemble` groups them, and the bookkeeping that
    joins none of them yet.

    Bookkeeping folds into the call it is about (:func:`_nearest`): one the batch opens, or one an earlier batch
    stored (a request that saved twice, with another writer's events between: the stored record is extended;
    ``stored``: the request's). Bookkeeping saved before its call (a writer that saves aggregate by aggregate, as
    ``bench generate`` and an import do) may come in an earlier batch than the call, or an earlier catch-up: it is
    returned to wait (:attr:`StoredState.pending`), and ``pending`` (the request's, all before this batch) is folded
    into the batch's calls first, as the replay takes a request's facts in the log's order. Waiting bookkeeping was
    weighed against the stored calls when it came: only the batch's calls are new to it."""
    calls = [_Call.of(f) for f in group if f.primary and not f.joins]
    opened = Calls(calls)
    unfolded: list[_Fact] = []
    for fact in pending:
        call = _nearest(fact, opened)
        if call is None:
            unfolded.append(fact)
        else:
            call.add(fact)
    candidates: Calls[_Call | _StoredCall] = Calls([*stored, *calls])
    for fact in group:
        if fact.primary and not fact.joins:
            continue
        chosen = _nearest(fact, candidates)
        if isinstance(chosen, _Call):
            chosen.add(fact)
        elif chosen is not None:
            chosen.extend(conn, fact)
        elif fact.primary:
            new = _Call.of(fact)
            calls.append(new)
            candidates.add(new)
        else:
            unfolded.append(fact)
    return calls, unfolded


def _may_join_stored(group: Sequence[_Fact]) -> bool:
    """Whether a fact of one request's ``group`` may fold into a record stored by an earlier batch (:func:`_calls`):
    one that fits no call the group opens itself."""
    opened = Calls(_Call.of(f) for f in group if f.primary and not f.joins)
    return any(not (fact.primary and not fact.joins) and _nearest(fact, opened) is None for fact in group)


@dataclasses.dataclass
class _StoredCall:
    log: int
    position: int
    operation: str
    body: bytes
    _record: TrailRecord | None = None

    @property
    def record(self) -> TrailRecord:
        """The stored record, read once."""
        if self._record is None:
            self._record = record_of_row(self.log, self.position, self.body)
        return self._record

    @property
    def resources(self) -> list[Resource]:
        return self.record.resources

    @property
    def entities(self) -> set[uuid.UUID]:
        return self.record.entities

    def extend(self, conn: Connection, fact: _Fact) -> None:
        """Fold a later event of the same call into the stored record (as the replay would have)."""
        record = self.record
        old = _index_rows(record)
        for resource in fact.resources:
            if resource not in record.resources:
                record.resources.append(resource)
        record.access_key_ids |= fact.key_ids
        record.entities |= fact.entities
        record.record[POSITION_KEY] = max(int(record.record[POSITION_KEY]), fact.position)
        self.body = _body(record)
        conn.execute(
            update(TRAIL_RECORDS)
            .where(TRAIL_RECORDS.c.log == self.log, TRAIL_RECORDS.c.position == self.position)
            .values(body=self.body)
        )
        columns = [TRAIL_INDEX.c[name] for name in ("account_id", "attribute", "value", "at", "log", "position")]
        for row in old:
            conn.execute(
                delete(TRAIL_INDEX).where(*(column == value for column, value in zip(columns, row, strict=True)))
            )
        _insert(conn, TRAIL_INDEX, _index_rows(record))


def _stored_calls(conn: Connection, request_ids: Sequence[str | None]) -> dict[str, list[_StoredCall]]:
    """The identity log's stored records of each of ``request_ids``."""
    wanted = sorted({r for r in request_ids if r is not None})
    found: dict[str, list[_StoredCall]] = {}
    for start in range(0, len(wanted), IN_CHUNK):
        rows = conn.execute(
            select(
                TRAIL_RECORDS.c.request_id,
                TRAIL_RECORDS.c.log,
                TRAIL_RECORDS.c.position,
                TRAIL_RECORDS.c.event_name,
                TRAIL_RECORDS.c.body,
            )
            .where(TRAIL_RECORDS.c.request_id.in_(wanted[start : start + IN_CHUNK]))
            .order_by(TRAIL_RECORDS.c.log, TRAIL_RECORDS.c.position)
        ).all()
        for request_id, log, position, operation, body in rows:
            if log == IDENTITY_LOG:
                found.setdefault(request_id, []).append(_StoredCall(log, position, operation, body))
    return found
