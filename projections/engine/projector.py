"""The projector: it applies new events from the log to the views, in order, exactly once.

Each batch of events is applied in one transaction that also advances the tracking position; the transaction first
moves the position from the value it read (``UPDATE ... WHERE position = old``), so of two processes catching up at
once only one applies a batch and the other starts again from the new position. A crash leaves the views and the
position as they were before the batch. Reads call :meth:`Projector.catch_up` first, so a write in one process is
visible to the next read in any process (one cheap ``max(id)`` query when nothing is new).

The projector also keeps the time index and hash chain of the log (:mod:`iamledger.projections.log.ledger`), checks it
(:meth:`Projector.verify_log`), rebuilds the views beside the live ones and switches over (:meth:`Projector.rebuild`),
compares rebuilt views with the live ones (:meth:`Projector.verify_views`), and runs as a long-lived process
(:meth:`Projector.follow`). An event that cannot be read or decoded stops it with
:class:`~iamledger.projections.log.ledger.EventLogCorruptedError` naming the position, never a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Final

import structlog
from eventsourcing.application import Application
from eventsourcing.persistence import Notification, Recording, StoredEvent
from sqlalchemy import Connection, Engine, insert, inspect, select, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError

import iamledger.projections.views.registered  # noqa: F401 - registers every view's handlers
from iamledger.domain.errors import ConcurrentModificationError
from iamledger.projections.engine.commits import derived_data_commit
from iamledger.projections.engine.registry import all_batched, dispatch_batch, handles_topic
from iamledger.projections.engine.scratch import row_counts
from iamledger.projections.engine.temporal import reading_now
from iamledger.projections.engine.temporal_rows import writes_to
from iamledger.projections.engine.view_rebuild import BATCH_SIZE, Progress, ViewRebuilding
from iamledger.projections.engine.view_tracking import ADVANCE, PROJECTION_NAME, advance, tracked
from iamledger.projections.log import ledger
from iamledger.projections.log.chain_report import Problem, VerifyReport
from iamledger.projections.log.ledger import EventLogCorruptedError
from iamledger.projections.log.recording import directly_follow, insert_stored_events, recordings_of
from iamledger.projections.views.tables import ACCESS_KEYS, TRACKING, ledger_metadata, metadata

# What the views' rows hold, kept in the tracking table under VIEWS_VERSION_NAME: views built by an older version
# (no such row: version 1) are rebuilt when the store is opened, as views whose table is new are. Bump it when the
# handlers write other rows for the same events. 2: the permission index's time marker (permissions.TIME_MARKER).
VIEWS_VERSION: Final = 2
VIEWS_VERSION_NAME: Final = "identity_views_version"
BULK_MIN_EVENTS: Final = 5000  # views this far behind from empty are built in bulk beside the live ones (rebuild)
_MAX_REASON: Final = 200

# What iamledger.logconfig.get_logger gives, written out: the library's logging module sits above the views.
log = structlog.wrap_logger(logging.getLogger(__name__))


class Projector(ViewRebuilding):
    """Keeps the SQL views of one store current."""

    def __init__(self, app: Application[Any], engine: Engine) -> None:
        self._app = app
        self._engine = engine

    @property
    def events_table(self) -> str:
        """The (possibly schema-qualified) name of the table the log is stored in."""
        return str(getattr(self._app.recorder, "events_table_name", "stored_events"))

    def create_tables(self) -> None:
        """Create the view tables and the tracking row if they do not exist yet. A view added by a newer version
        to views already built is filled by rebuilding them all (its rows would otherwise begin only with the
        events recorded from now on), and so are views whose rows an older version wrote (:data:`VIEWS_VERSION`)."""
        existing = set(inspect(self._engine).get_table_names())
        metadata.create_all(self._engine)
        ledger_metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            tracked = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == PROJECTION_NAME)).first()
            if tracked is None:
                conn.execute(insert(TRACKING).values(name=PROJECTION_NAME, position=0))
            version = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == VIEWS_VERSION_NAME)).first()
        added = sorted(table.name for table in metadata.sorted_tables if table.name not in existing)
        built_by = 1 if version is None else int(version[0])
        if tracked is not None and tracked[0] > 0 and (added or built_by < VIEWS_VERSION):
            log.warning("views_rebuilt_for_new_views", tables=added, version=built_by, to_version=VIEWS_VERSION)
            self.rebuild()
        if built_by < VIEWS_VERSION:  # a store a newer version built keeps its number
            with self._engine.begin() as conn:
                if version is None:
                    conn.execute(insert(TRACKING).values(name=VIEWS_VERSION_NAME, position=VIEWS_VERSION))
                else:
                    conn.execute(
                        update(TRACKING).where(TRACKING.c.name == VIEWS_VERSION_NAME).values(position=VIEWS_VERSION)
                    )

    def position(self) -> int:
        """The notification id up to which the views are current."""
        with self._engine.connect() as conn:
            return tracked(conn)

    def head(self) -> int:
        """The notification id of the newest event in the log (0 when it is empty)."""
        return int(self._app.recorder.max_notification_id() or 0)

    # -- reading the log ---------------------------------------------------------------------------------------------

    def _select(self, start: int, stop: int, limit: int = BATCH_SIZE) -> Sequence[Notification]:
        """The stored events from ``start`` to ``stop`` (at most a batch); a row the recorder cannot read becomes
        :class:`EventLogCorruptedError` naming its position."""
        try:
            return self._app.recorder.select_notifications(start=start, limit=limit, stop=stop)
        except (ValueError, TypeError, AttributeError) as error:
            with self._engine.connect() as conn:
                position = ledger.unreadable_position(conn, self.events_table, start - 1, stop)
            where = f"at position {position}" if position is not None else f"between positions {start} and {stop}"
            raise EventLogCorruptedError(
                f"The stored event {where} cannot be read ({_reason(error)}); the log was edited or damaged: "
                "`iamledger audit verify` names the first changed position.",
                position,
            ) from error

    def _decode(self, notification: Notification) -> Any:
        """The domain event of ``notification``; one that cannot be decoded becomes :class:`EventLogCorruptedError`."""
        try:
            return self._app.mapper.to_domain_event(notification)
        except Exception as error:
            raise EventLogCorruptedError(
                f"The stored event at position {notification.id} cannot be decoded ({_reason(error)}); the log was "
                "edited or damaged: `iamledger audit verify` names the first changed position.",
                notification.id,
            ) from error

    def _apply(self, conn: Connection, notifications: Sequence[Notification], events: Sequence[Any]) -> None:
        try:
            dispatch_batch(conn, [(e, n.id) for e, n in zip(events, notifications, strict=True)])
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            first, last = notifications[0].id, notifications[-1].id
            raise EventLogCorruptedError(
                f"The stored events between positions {first} and {last} could not be applied to the views "
                f"({_reason(error)}); if the log was edited by hand, `iamledger audit verify` names the first "
                "changed position.",
                first,
            ) from error

    # -- the time index and hash chain -------------------------------------------------------------------------------

    def index(self, up_to: int | None = None) -> int:
        """Extend the time index and hash chain (the checkpoints) to ``up_to`` (default: the log's head) without
        touching the views; returns the indexed head. Writers call it right after saving, so every event is covered
        by the chain from the moment it is recorded. Safe to run in several processes at once."""
        target = self.head() if up_to is None else up_to
        with self._engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # checkpoints can be derived again: no fsync per commit (WAL keeps them consistent)
                conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
            indexed = ledger.head(conn)[0]
            conn.rollback()
            while indexed < target:
                notifications = self._select(indexed + 1, target)
                if not notifications:
                    break
                timestamps = [_timestamp(self._decode(n)) for n in notifications]
                if not sqlite:  # likewise: do not wait for the WAL flush
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                ledger.append(conn, notifications, timestamps)
                conn.commit()
                indexed = notifications[-1].id
        return indexed

    def index_recorded(self, recordings: Sequence[Any]) -> int:
        """Checkpoint the events a writer has just saved (the ``Recording`` list ``Application.save`` returns, as
        handed to ``Application._notify``), in one short transaction, without reading them back; falls back to
        :meth:`index` when the index does not end right before them. Returns the indexed head. The save has
        happened: a failure here is logged, not raised (the projector writes the missing checkpoints later)."""
        if not recordings:
            return 0
        try:
            return self._index_recorded(recordings)
        except (SQLAlchemyError, EventLogCorruptedError) as error:  # the save stands: the projector will catch up
            log.warning("checkpoints_deferred", error=_reason(error))
            return 0

    def _index_recorded(self, recordings: Sequence[Any]) -> int:
        notifications = [r.notification for r in recordings]
        with self._engine.connect() as conn:
            derived_data_commit(conn)
            last = ledger.head(conn)
            if last[0] >= notifications[-1].id:
                conn.rollback()
                return last[0]
            if last[0] == notifications[0].id - 1:
                timestamps = [_timestamp(r.domain_event) for r in recordings]
                ledger.append(conn, notifications, timestamps, after=last)
                conn.commit()
                return int(notifications[-1].id)
            conn.rollback()
        return self.index(notifications[-1].id)

    def verify_log(
        self, *, progress: Progress | None = None, expect_head: str | None = None, extend: bool = True
    ) -> VerifyReport:
        """Re-compute the hash chain from the stored events and compare it with the checkpoints.

        Nothing is decoded before the indexed part of the log is found intact; then, with ``extend``, the events
        recorded since (the unverified tail) are indexed, so the chain covers the whole log (an event there that
        cannot be decoded is reported). ``expect_head`` (``[POSITION:]HASH``, a head an earlier run printed) must be
        a link of the chain: otherwise the log was rewritten together with its checkpoints."""
        if expect_head is not None:
            ledger.parse_expected_head(expect_head)
        with reading_now(), self._engine.connect() as conn:
            report = ledger.verify_chain(conn, self.events_table, progress=progress)
        if report.verified and report.unverified_tail and extend:
            with self._engine.connect() as conn:
                before = ledger.count(conn)
            try:
                self.index()
            except EventLogCorruptedError as error:
                report.add(Problem(error.position, "undecodable", reason=_reason(error.__cause__ or error)))
            with self._engine.connect() as conn:
                position, report.recorded_at, report.head = ledger.head(conn)
                report.extended = ledger.count(conn) - before
                report.position = position
                report.unverified_tail = ledger.events_after(conn, self.events_table, position)
                report.log_head = ledger.log_head(conn, self.events_table)
        if expect_head is not None:
            with self._engine.connect() as conn:
                ledger.check_expected_head(conn, report, expect_head)
        return report

    # -- catching up -------------------------------------------------------------------------------------------------

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply every event recorded after the views' position; returns the position reached."""
        with reading_now():
            return self._catch_up(progress)

    def reach(self, position: int | None = None) -> int:
        """The position the views are current to, at least ``position`` when that is written (default: the
        log's head): a catch-up, here where the views are written. A standby's views wait for replication instead
        (:class:`~iamledger.projections.engine.standby.StandbyViews`)."""
        del position  # a catch-up reaches the log's head, so any written position
        return self.catch_up()

    def _index_up_to(self, position: int) -> None:
        """Extend the time index and hash chain to ``position`` (for views that are ahead of the index, as after
        an upgrade from a version without one)."""
        self.index(position)

    def _bulk_catch_up(self, progress: Progress | None) -> int:
        """Empty views far behind the log: build them in bulk beside the live ones and switch (as :meth:`rebuild`);
        returns the position reached (the live one when another process is building them already)."""
        try:
            return self._rebuild(progress, "projections_built")
        except ConcurrentModificationError:  # another process builds them: catch up batch by batch meanwhile
            return self.position()

    def _indexed_past(self, position: int, indexed: int) -> int:
        """The index's head, the index first extended to ``position`` if it ends before (the views are ahead of the
        index only after an upgrade from a version without one: writers index what they save). ``indexed``: the
        index's head as read a moment ago (it only grows)."""
        if indexed < position:
            self._index_up_to(position)
            with self._engine.connect() as conn:
                indexed = ledger.head(conn)[0]
        return indexed

    def _catch_up(self, progress: Progress | None) -> int:
        with self._engine.connect() as conn:
            position = tracked(conn)
            indexed = ledger.head(conn)[0]
        head = self.head()
        if position == 0 and head >= BULK_MIN_EVENTS and all_batched():
            position = self._bulk_catch_up(progress)
        indexed = self._indexed_past(position, indexed) if position < head else 0
        while position < head:
            notifications = self._select(position + 1, head)
            if not notifications:
                break
            last = notifications[-1].id
            if last <= indexed:  # checkpointed already: decode only the events some view handles
                notifications = [n for n in notifications if handles_topic(n.topic)]
                events = [self._decode(n) for n in notifications]
            else:
                events = [self._decode(n) for n in notifications]
            key_writes = writes_to(ACCESS_KEYS)
            with self._engine.begin() as conn:
                derived_data_commit(conn)
                moved = conn.execute(ADVANCE, {"from_position": position, "to_position": last}).rowcount
                if moved == 1:
                    if notifications:
                        self._apply(conn, notifications, events)
                    if last > indexed:
                        ledger.append(conn, notifications, [_timestamp(e) for e in events])
            if moved == 1:
                self._advanced(position, last, key_writes)
            position = last if moved == 1 else self.position()
            if progress is not None:
                progress(position, head)
        return position

    def _advanced(self, start: int, end: int, key_writes: int) -> None:
        """This process moved the views from ``start`` to ``end``; ``key_writes``: :func:`writes_to` of the access
        key rows before (the remembered key rows of request authentication stay valid when it is unchanged)."""
        rows = getattr(self._app, "access_key_rows", None)
        if rows is not None:
            rows.advanced(start, end, touched=writes_to(ACCESS_KEYS) != key_writes)

    def record_and_apply(
        self,
        conn: Connection,
        position: int,
        events: Sequence[Any],
        indexed: tuple[int, datetime | None, str] | None,
    ) -> tuple[list[Recording[Any]], tuple[int, tuple[int, datetime | None, str]] | None]:
        """Record ``events`` in the log (SQLite) and, in the same transaction on ``conn``, apply them to the views
        from memory and checkpoint them, without reading anything back. For the only writer of a store whose views
        are at ``position`` (and whose index's head is ``indexed``, when known): one transaction a save instead of
        two, and the views never lag the log. Returns the recordings (what ``Application.save`` returns) and the
        position the views reached with the index's new head; ``None`` for the latter when the events do not
        directly follow ``position`` (another writer's got in between): they are recorded, and the views are left
        to the ordinary catch-up. A save that conflicts with a stored event raises eventsourcing's
        ``IntegrityError`` and records nothing; so does a failure to apply the events."""
        stored = self._stored(events)
        key_writes = writes_to(ACCESS_KEYS)
        with reading_now(), conn.begin():
            recordings = recordings_of(events, stored, insert_stored_events(conn, self.events_table, stored))
            applied = (
                self._apply_recorded_in(conn, position, recordings, indexed)
                if directly_follow(position, recordings)
                else None
            )
        if applied is not None:
            self._advanced(position, applied[0], key_writes)
        return recordings, applied

    def record_in(self, conn: Connection, events: Sequence[Any]) -> list[Recording[Any]]:
        """Record ``events`` in the log (SQLite) in a transaction of their own on ``conn``, as eventsourcing's
        recorder would; their recordings, which :meth:`apply_recorded` applies to the views later (the only writer's
        save while it serves a request: the views follow once the response is on its way). A conflicting event
        raises eventsourcing's ``IntegrityError`` and records nothing."""
        stored = self._stored(events)
        with conn.begin():
            return recordings_of(events, stored, insert_stored_events(conn, self.events_table, stored))

    def apply_recorded(
        self,
        conn: Connection,
        position: int,
        recordings: Sequence[Any],
        indexed: tuple[int, datetime | None, str] | None,
    ) -> tuple[int, tuple[int, datetime | None, str]] | None:
        """Apply ``recordings`` (:meth:`record_in`'s, in order) to views at ``position`` from memory and checkpoint
        them, in one transaction on ``conn``; the position reached and the index's new head, or ``None`` (nothing
        changed) when they do not directly follow ``position``: another writer's events got in between, and the
        ordinary catch-up from the log must take over."""
        key_writes = writes_to(ACCESS_KEYS)
        if not directly_follow(position, recordings):
            return None
        with reading_now(), conn.begin():
            applied = self._apply_recorded_in(conn, position, recordings, indexed)
        if applied is not None:
            self._advanced(position, applied[0], key_writes)
        return applied

    def _stored(self, events: Sequence[Any]) -> list[StoredEvent]:
        mapper = self._app.mapper
        return [mapper.to_stored_event(event) for event in events]

    def _apply_recorded_in(
        self,
        writing: Connection,
        position: int,
        recordings: Sequence[Any],
        indexed: tuple[int, datetime | None, str] | None,
    ) -> tuple[int, tuple[int, datetime | None, str]] | None:
        """Move the views from ``position`` past ``recordings`` (which follow it), apply them and checkpoint them,
        in the caller's transaction on ``writing``; the position reached and the index's head, or ``None`` when
        the views were not at ``position`` after all (nothing is changed then)."""
        notifications = [r.notification for r in recordings]
        last = int(notifications[-1].id)
        events = [r.domain_event for r in recordings]
        if advance(writing, position, last) != 1:
            return None
        applied = [(n, e) for n, e in zip(notifications, events, strict=True) if handles_topic(n.topic)]
        if applied:
            self._apply(writing, [n for n, _ in applied], [e for _, e in applied])
        head = ledger.head(writing) if indexed is None else indexed
        if head[0] < last:
            head = ledger.append(writing, notifications, [_timestamp(e) for e in events], after=head)
        return last, head

    def record(self, events: Sequence[Any]) -> list[Recording[Any]] | None:
        """Record ``events`` for the store, or ``None``: the store records them itself (as here; a projector that
        knows its process is the store's only writer may record and project them at once)."""
        del events
        return None

    def close(self) -> None:
        """Release what this projector holds (the store calls it when it closes)."""

    # -- operating ---------------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Where the views and the chain stand: the views' position, the log's head, how many events the views lag
        behind, the indexed positions, the head link and its recorded time, and each view's row counts."""
        with reading_now(), self._engine.connect() as conn:
            position = tracked(conn)
            head = ledger.log_head(conn, self.events_table)
            lag = ledger.events_after(conn, self.events_table, position)
            indexed_head, recorded_at, head_link = ledger.head(conn)
            indexed = ledger.count(conn)
            views = row_counts(conn)
        return {
            "Position": position,
            "LogHead": head,
            "Lag": lag,
            "Indexed": indexed,
            "IndexedHead": indexed_head,
            "HeadLink": head_link,
            "HeadRecordedAt": recorded_at,
            "Views": views,
        }

    def follow(
        self,
        *,
        interval: float = 1.0,
        until_idle: bool = False,
        max_seconds: float | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        also: Callable[[], Any] | None = None,
    ) -> int:
        """Keep the views current until ``stop`` is set: catch up, then poll for new events every ``interval``
        seconds. ``until_idle`` returns once the views reach the log's head; ``max_seconds`` bounds the run. A
        database that is briefly unreachable is retried at the next poll; ``stop`` is honoured between batches.
        ``also`` runs after each poll (the audit trail's catch-up). Returns the position reached."""
        stop = stop or threading.Event()
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        position = self.position()
        while True:
            position, idle = self._poll(position, stop, progress)
            if also is not None and not stop.is_set():
                try:
                    also()
                except OperationalError as error:
                    log.warning("projections_follow_retrying", error=_reason(error))
            if stop.is_set() or (until_idle and idle):
                return position
            wait = interval if deadline is None else min(interval, deadline - time.monotonic())
            if wait <= 0 or stop.wait(wait):
                return position

    def _poll(self, position: int, stop: threading.Event, progress: Progress | None) -> tuple[int, bool]:
        """One catch-up of :meth:`follow`: the position reached and whether the views are at the log's head."""

        def advanced(done: int, total: int) -> None:
            if progress is not None:
                progress(done, total)
            if stop.is_set():  # called after each committed batch: stop between batches
                raise _Stopped(done)

        try:
            reached = self.catch_up(advanced)
            return reached, reached >= self.head()
        except _Stopped:  # the position committed (a bulk build stopped half-way committed nothing)
            return self.position(), False
        except OperationalError as error:
            log.warning("projections_follow_retrying", error=_reason(error))
            return position, False


class _Stopped(Exception):
    """Raised between batches to end a catch-up of :meth:`Projector.follow` that was asked to stop."""

    def __init__(self, position: int) -> None:
        super().__init__(position)
        self.position = position


def _reason(error: BaseException) -> str:
    reason = f"{type(error).__name__}: {error}".strip().splitlines()[0]
    return reason if len(reason) <= _MAX_REASON else reason[: _MAX_REASON - 3] + "..."


def _timestamp(domain_event: Any) -> datetime:
    """The time the writer's clock gave an event."""
    moment: datetime = domain_event.timestamp
    return moment
