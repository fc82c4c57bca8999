"""The projector: it applies new events from the log to the views, in order, exactly once.

Each batch of events is applied in one transaction that also advances the tracking position; the transaction first
moves the position from the value it read (``UPDATE ... WHERE position = old``), so of two processes catching up at
once only one applies a batch and the other starts again from the new position. A crash leaves the views and the
position as they were before the batch. Reads call :meth:`Projector.catch_up` first, so a write in one process is
visible to the next read in any process (one cheap ``max(id)`` query when nothing is new).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from eventsourcing.application import Application
from sqlalchemy import Engine, insert, select, update

import iamledger.projections.views  # noqa: F401 - registers every view's handlers
from iamledger.projections import ledger
from iamledger.projections.registry import dispatch_batch
from iamledger.projections.tables import TRACKING, ledger_metadata, metadata
from iamledger.projections.temporal import reading_now

PROJECTION_NAME: Final = "identity_views"
BATCH_SIZE: Final = 1000

Progress = Callable[[int, int], None]


class Projector:
    """Keeps the SQL views of one store current."""

    def __init__(self, app: Application[Any], engine: Engine) -> None:
        self._app = app
        self._engine = engine

    def create_tables(self) -> None:
        """Create the view tables and the tracking row if they do not exist yet."""
        metadata.create_all(self._engine)
        ledger_metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            exists = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == PROJECTION_NAME)).first()
            if exists is None:
                conn.execute(insert(TRACKING).values(name=PROJECTION_NAME, position=0))

    def position(self) -> int:
        """The notification id up to which the views are current."""
        with self._engine.connect() as conn:
            value = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == PROJECTION_NAME)).scalar()
        return int(value or 0)

    def head(self) -> int:
        """The notification id of the newest event in the log (0 when it is empty)."""
        return int(self._app.recorder.max_notification_id() or 0)

    def catch_up(self, progress: Progress | None = None) -> int:
        """Apply every event recorded after the views' position; returns the position reached."""
        with reading_now():
            return self._catch_up(progress)

    def _index_up_to(self, position: int) -> None:
        """Extend the time index and hash chain to ``position`` (for views that are ahead of the index, as after
        an upgrade from a version without one)."""
        with self._engine.connect() as conn:
            indexed = ledger.head(conn)[0]
        while indexed < position:
            notifications = self._app.recorder.select_notifications(start=indexed + 1, limit=BATCH_SIZE, stop=position)
            if not notifications:
                break
            timestamps = [_timestamp(self._app.mapper.to_domain_event(n)) for n in notifications]
            with self._engine.begin() as conn:
                ledger.append(conn, notifications, timestamps)
            indexed = notifications[-1].id

    def _catch_up(self, progress: Progress | None) -> int:
        position = self.position()
        head = self.head()
        if position < head:
            self._index_up_to(position)
        while position < head:
            notifications = self._app.recorder.select_notifications(start=position + 1, limit=BATCH_SIZE, stop=head)
            if not notifications:
                break
            last = notifications[-1].id
            with self._engine.begin() as conn:
                moved = conn.execute(
                    update(TRACKING)
                    .where(TRACKING.c.name == PROJECTION_NAME, TRACKING.c.position == position)
                    .values(position=last)
                ).rowcount
                if moved == 1:
                    events = [self._app.mapper.to_domain_event(n) for n in notifications]
                    dispatch_batch(conn, [(e, n.id) for e, n in zip(events, notifications, strict=True)])
                    ledger.append(conn, notifications, [_timestamp(e) for e in events])
            position = last if moved == 1 else self.position()
            if progress is not None:
                progress(position, head)
        return position

    def rebuild(self, progress: Progress | None = None) -> int:
        """Drop the views, build them again from the first event, and return the position reached."""
        views = [t for t in metadata.sorted_tables if t is not TRACKING]
        metadata.drop_all(self._engine, tables=views)
        metadata.create_all(self._engine)
        ledger_metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            conn.execute(update(TRACKING).where(TRACKING.c.name == PROJECTION_NAME).values(position=0))
        return self.catch_up(progress)


def _timestamp(domain_event: Any) -> datetime:
    """The time the writer's clock gave an event."""
    moment: datetime = domain_event.timestamp
    return moment
