"""The audit trail as a projection: each CloudTrail record written once, when its events are projected, and indexed
by what ``LookupEvents`` and the history of an entity look for.

The records are rendered by the same code the replay used (:class:`~iamledger.projections.trail.render.Trail`),
which needs to know, for each event, what came before it: which entity an id names, the ids a name has had, the
sessions behind temporary keys, the MFA devices and certificates. That state is kept in a table of its own
(``iamledger_trail_state``), read through a cache while a batch is projected and written with the batch, so a
process that catches the trail up reads only the state the new events touch, never the log before them.

Three tables:

* ``iamledger_trail_records``: one row per record (per call, refused attempt or failed sign-in): the rendered
  CloudTrail record as JSON, what the lookup shape needs besides (the user name, the resources), and the key that
  orders records (the event time, the log it came from, the position in that log).
* ``iamledger_trail_index``: one row per (account, lookup attribute, value) of each record, carrying the order key,
  so that a page of any lookup is one range of one index read newest first (keyset pagination), and each further
  attribute is one probe of the same index.
* ``iamledger_trail_state``: the renderer's state (above), and the bookkeeping events whose call is not projected
  yet (a writer that saves aggregate by aggregate, as ``bench generate`` and an import do, may record a call's
  bookkeeping before the call, and a batch or a catch-up may end between them).

Two tracking rows say how far the trail has read: the identity log's position and the security log's. A catch-up
moves each only from the value it read, in the transaction that writes the batch's rows, as the views' projector does,
so two processes catching up at once never write a record twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import structlog
from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    select,
    update,
)

from iamledger.projections.engine.commits import derived_data_commit
from iamledger.projections.trail.calls import _calls, _may_join_stored, _stored_calls
from iamledger.projections.trail.records import TrailRecord, _Fact
from iamledger.projections.trail.stored_state import PENDING, StoredState
from iamledger.projections.trail.tables import (
    BATCH,
    IDENTITY_LOG,
    IDENTITY_TRACKING,
    LOOKAHEAD,
    SECURITY_LOG,
    SECURITY_TRACKING,
    TRAIL_INDEX,
    TRAIL_RECORDS,
    TRAIL_STATE,
    _write_records,
    trail_metadata,
)
from iamledger.projections.views.tables import TRACKING

if TYPE_CHECKING:
    from iamledger.projections.trail.render import Trail

log = structlog.wrap_logger(logging.getLogger(__name__))

TRAIL_VERSION: Final = 2
"""How the records are rendered, kept in the tracking table under :data:`TRAIL_VERSION_NAME`: a trail an older
version rendered (no such row: version 1) is projected again. Bump it when the renderer makes other records of the
same events. 2: bookkeeping folded into the call it is about, also when saved before it (``trail_calls``)."""
TRAIL_VERSION_NAME: Final = "audit_trail_version"

# -- projecting ---------------------------------------------------------------------------------------------------

_SKIPPED_TOPICS: Final = frozenset(
    {
        "iamledger.domain.users:User.AccessKeyUsed",
        "iamledger.domain.accounts:Account.RootAccessKeyUsed",
        "iamledger.domain.roles:Role.LastUsed",
    }
)
"""Events that are no call of their own and change nothing the renderer knows (recorded key uses)."""

KEPT_STATE: Final = 50_000
"""The most keys of the renderer's state kept cached from one catch-up to the next (:attr:`TrailProjection._kept`),
some tens of MB; beyond (a rebuild's of a large store: it caches every key) the next catch-up reads what it needs."""


class TrailProjection:
    """Writes the trail's records and index as events and incidents are recorded (:meth:`catch_up`)."""

    def __init__(self, app: Any, security_log: Any, engine: Engine) -> None:
        self._app = app
        self._security = security_log
        self._engine = engine
        self._kept: tuple[int, Trail, StoredState] | None = None
        """The renderer of the last catch-up with the position it reached: its cached state is the stored state as
        long as the trail is still at that position (whoever moves the trail writes its state in the same
        transaction), so a catch-up after each write reads none of it again."""

    def create_tables(self) -> None:
        """Create the trail's tables and tracking rows if they do not exist yet. A trail an older version rendered
        (:data:`TRAIL_VERSION`) is forgotten, to be projected again by the next catch-up (the first question)."""
        trail_metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            for name in (IDENTITY_TRACKING, SECURITY_TRACKING):
                if conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == name)).first() is None:
                    conn.execute(insert(TRACKING).values(name=name, position=0))
            version = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == TRAIL_VERSION_NAME)).first()
            if version is not None and int(version[0]) >= TRAIL_VERSION:
                return
            if _both_tracked(conn) != (0, 0):
                log.warning("trail_reprojected_for_new_version", version=1 if version is None else int(version[0]))
                _forget(conn)
            if version is None:
                conn.execute(insert(TRACKING).values(name=TRAIL_VERSION_NAME, position=TRAIL_VERSION))
            else:
                conn.execute(
                    update(TRACKING).where(TRACKING.c.name == TRAIL_VERSION_NAME).values(position=TRAIL_VERSION)
                )

    def positions(self) -> tuple[int, int]:
        """How far the trail has read the identity log and the security log."""
        with self._engine.connect() as conn:
            return _both_tracked(conn)

    def status(self) -> dict[str, Any]:
        """How far the trail has read each log, and how many records it holds."""
        identity, security = self.positions()
        with self._engine.connect() as conn:
            records = conn.execute(select(func.count()).select_from(TRAIL_RECORDS)).scalar()
        return {"Position": identity, "SecurityPosition": security, "Records": int(records or 0)}

    def verify(self) -> dict[str, Any]:
        """The stored records compared with a replay of both logs (:func:`verify`)."""
        from iamledger.projections.trail.lookup import verify

        return verify(self._app)

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Project every event and incident recorded since the trail last read; the positions reached."""
        with self._engine.connect() as conn:
            identity, security = _both_tracked(conn)
        return self._catch_up_identity(identity, progress), self._catch_up_security(security)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Forget the trail and project it again from the first event (the state table along with it)."""
        with self._engine.begin() as conn:
            _forget(conn)
        self._kept = None
        return self.catch_up(progress)

    # -- the identity log -------------------------------------------------------------------------------------

    def _catch_up_identity(self, position: int, progress: Callable[[int, int], None] | None) -> int:
        head = int(self._app.recorder.max_notification_id() or 0)
        if position >= head:
            return position
        from iamledger.projections.trail.render import Trail  # with the aggregates' modules: only when there is work

        kept, self._kept = self._kept, None  # (kept again only when this catch-up ends well)
        if kept is not None and kept[0] == position:
            _, trail, state = kept
        else:
            state = StoredState(empty=position == 0)
            trail = Trail(state)
        while position < head:
            batch = self._read(position, head)
            if not batch:
                break
            last = batch[-1][0]
            with self._engine.begin() as conn:
                derived_data_commit(conn)
                if _advance(conn, IDENTITY_TRACKING, position, last) != 1:
                    conn.rollback()
                    state = StoredState()  # another process moved on: what was cached may be stale
                    trail = Trail(state)
                    position = self.positions()[0]
                    continue
                state.conn = conn
                self._project(conn, trail, state, batch)
                state.flush(conn)
                state.conn = None
            position = last
            if progress is not None:
                progress(position, head)
        if state.cached <= KEPT_STATE:
            self._kept = (position, trail, state)
        return position

    def _read(self, position: int, head: int) -> list[tuple[int, Any]]:
        """The decoded events after ``position`` (a batch), extended so that it does not end inside a request: the
        events of one save are recorded together, and a record is assembled from all of its call's events."""
        recorder = self._app.recorder
        mapper = self._app.mapper
        notifications = list(recorder.select_notifications(start=position + 1, limit=BATCH, stop=head))
        if not notifications:
            return []
        batch = [(n.id, mapper.to_domain_event(n)) for n in notifications if n.topic not in _SKIPPED_TOPICS]
        last_id = notifications[-1].id
        request = batch[-1][1].request_id if batch else None
        while batch and last_id < head:
            more = list(recorder.select_notifications(start=last_id + 1, limit=LOOKAHEAD, stop=head))
            if not more:
                break
            ended = False
            for notification in more:
                if notification.topic in _SKIPPED_TOPICS:
                    last_id = notification.id
                    continue
                event = mapper.to_domain_event(notification)
                if event.request_id != request:
                    ended = True
                    break
                batch.append((notification.id, event))
                last_id = notification.id
            if ended:
                break
        if not batch or batch[-1][0] != last_id:
            batch.append((last_id, None))  # the batch's end: events skipped up to here
        return batch

    def _project(self, conn: Connection, trail: Trail, state: StoredState, batch: Sequence[tuple[int, Any]]) -> None:
        facts: list[_Fact] = []
        for position, event in batch:
            if event is None:
                continue
            fact = trail.fact(position, event)
            if fact is not None:
                facts.append(fact)
            trail.apply(event)
        by_request: dict[str, list[_Fact]] = {}
        for fact in facts:
            by_request.setdefault(fact.event.request_id, []).append(fact)
        # bookkeeping of earlier batches still waiting for its call (saved before it: see StoredState.pending)
        pending = state.pending.get(PENDING) or {}
        waiting = {r: found for r, found in pending.items() if r not in by_request}
        # the records stored by earlier batches that a fact may fold into, for all the batch's requests in one query
        stored = _stored_calls(conn, [r for r, group in by_request.items() if _may_join_stored(group)])
        records: list[TrailRecord] = []
        for request_id, group in by_request.items():
            calls, unfolded = _calls(conn, pending.get(request_id, []), group, stored.get(request_id, []))
            if unfolded and request_id is not None:
                waiting[request_id] = unfolded
            records.extend(trail._record(call.facts) for call in sorted(calls, key=lambda c: c.position))  # noqa: SLF001
        if any(r in pending or r in waiting for r in by_request):
            if waiting:
                state.pending[PENDING] = waiting
            else:
                state.pending.pop(PENDING)
        _write_records(conn, IDENTITY_LOG, records)

    # -- the security log -------------------------------------------------------------------------------------

    def _catch_up_security(self, position: int) -> int:
        if self._security is None:
            return 0
        recorder = self._security.recorder
        head = int(recorder.max_notification_id() or 0)
        if position >= head:
            return position
        from iamledger.projections.trail.render import Trail

        state = StoredState()
        trail = Trail(state)
        while position < head:
            notifications = list(recorder.select_notifications(start=position + 1, limit=BATCH, stop=head))
            if not notifications:
                break
            last = notifications[-1].id
            with self._engine.begin() as conn:
                derived_data_commit(conn)
                if _advance(conn, SECURITY_TRACKING, position, last) != 1:
                    conn.rollback()
                    position = self.positions()[1]
                    continue
                state.conn = conn
                records = []
                for notification in notifications:
                    incident = self._security.mapper.to_domain_event(notification)
                    if type(incident).__name__ == "Recorded":
                        record = trail.incident_record(notification.id, incident)
                        if record is not None:
                            records.append(record)
                _write_records(conn, SECURITY_LOG, records)
                state.conn = None
            position = last
        return position


def _forget(conn: Connection) -> None:
    """Empty the trail: its records, index and renderer state gone, both logs to be read from the start."""
    for table in (TRAIL_INDEX, TRAIL_RECORDS, TRAIL_STATE):
        conn.execute(delete(table))
    conn.execute(update(TRACKING).where(TRACKING.c.name.in_([IDENTITY_TRACKING, SECURITY_TRACKING])).values(position=0))


def _both_tracked(conn: Connection) -> tuple[int, int]:
    """How far the trail has read the identity log and the security log, in one query."""
    rows = dict(
        conn.execute(
            select(TRACKING.c.name, TRACKING.c.position).where(
                TRACKING.c.name.in_([IDENTITY_TRACKING, SECURITY_TRACKING])
            )
        ).all()
    )
    return int(rows.get(IDENTITY_TRACKING) or 0), int(rows.get(SECURITY_TRACKING) or 0)


def _tracked(conn: Connection, name: str) -> int:
    value = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == name)).scalar()
    return int(value or 0)


def _advance(conn: Connection, name: str, start: int, end: int) -> int:
    moved = conn.execute(
        update(TRACKING).where(TRACKING.c.name == name, TRACKING.c.position == start).values(position=end)
    )
    return int(moved.rowcount)
