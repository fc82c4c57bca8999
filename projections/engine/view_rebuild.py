"""Rebuilding the views into scratch tables beside the live ones and switching over in one transaction
(:meth:`ViewRebuilding.rebuild`), and comparing views rebuilt so with the live ones
(:meth:`ViewRebuilding.verify_views`): the part of :class:`~iamledger.projections.engine.projector.Projector` that
builds views from the first event."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import structlog
from eventsourcing.persistence import Notification
from sqlalchemy import Connection, Engine, update
from sqlalchemy.exc import OperationalError

from iamledger.projections.engine.registry import all_batched, handles_topic
from iamledger.projections.engine.scratch import Scratch, compare
from iamledger.projections.engine.temporal import reading_now
from iamledger.projections.engine.view_tracking import PROJECTION_NAME, tracked
from iamledger.projections.engine.write_batches import bulk_loading
from iamledger.projections.views.tables import TRACKING

BATCH_SIZE: Final = 5000
# events per transaction of a bulk load: its memory holds every current row already, so a batch's own events (read,
# decoded, applied) are kept few; the rate is the same
BULK_BATCH_SIZE: Final = 2000
SWITCH_ATTEMPTS: Final = 3

Progress = Callable[[int, int], None]

# the projector's logger: these are its events
log = structlog.wrap_logger(logging.getLogger("iamledger.projections.engine.projector"))


class ViewRebuilding:
    """Building the views from the first event into scratch tables (a mixin of the projector, which reads, decodes
    and applies the events)."""

    _engine: Engine

    def head(self) -> int:
        raise NotImplementedError

    def position(self) -> int:
        raise NotImplementedError

    def index(self, up_to: int | None = None) -> int:
        raise NotImplementedError

    def _select(self, start: int, stop: int, limit: int) -> Sequence[Notification]:
        raise NotImplementedError

    def _decode(self, notification: Notification) -> Any:
        raise NotImplementedError

    def _apply(self, conn: Connection, notifications: Sequence[Notification], events: Sequence[Any]) -> None:
        raise NotImplementedError

    def _build(self, conn: Connection, start: int, stop: int, progress: Progress | None) -> int:
        """Apply the events after ``start`` up to ``stop`` to the views ``conn`` reaches (a scratch copy), a batch
        per transaction; returns the position reached. From empty tables (``start`` 0) this is a bulk load
        (:func:`~iamledger.projections.engine.write_batches.bulk_loading`): each row is written once, and the tables are
        complete only when it returns. Events no view handles are not decoded (the time index is not built here)."""
        if start == 0 and all_batched():
            with _without_cyclic_gc(), bulk_loading(conn):
                position = self._build_batches(conn, start, stop, progress, BULK_BATCH_SIZE)
            conn.commit()
            return position
        return self._build_batches(conn, start, stop, progress)

    def _build_batches(
        self, conn: Connection, start: int, stop: int, progress: Progress | None, batch: int = BATCH_SIZE
    ) -> int:
        position = start
        while position < stop:
            notifications = self._select(position + 1, stop, batch)
            if not notifications:
                break
            last = notifications[-1].id
            notifications = [n for n in notifications if handles_topic(n.topic)]
            if notifications:
                events = [self._decode(n) for n in notifications]
                self._apply(conn, notifications, events)
                conn.commit()
            position = last
            if progress is not None:
                progress(position, stop)
        return position

    def rebuild(self, progress: Progress | None = None) -> int:
        """Build the views again from the first event into new tables, then switch to them in one transaction; the
        time index and hash chain are kept (they are not views). Returns the position the views are current to."""
        with reading_now():
            return self._rebuild(progress, "projections_rebuilt")

    def _rebuild(self, progress: Progress | None, logged: str) -> int:
        """:meth:`rebuild`; also how empty views far behind the log are caught up (a bulk load beside them, without
        indexes, which are created once it is done)."""
        with reading_now():
            target = self.head()
            self.index(target)
            scratch = Scratch(self._engine, "rebuild")
            with scratch.open(indexes=False) as conn:
                built = [self._build(conn, 0, target, progress)]
                scratch.finish_bulk(conn)
                for attempt in range(1, SWITCH_ATTEMPTS + 1):
                    try:
                        position = self._switch(scratch, conn, built)
                    except OperationalError:
                        if attempt == SWITCH_ATTEMPTS:
                            raise
                        log.warning("projections_switch_retried", attempt=attempt)
                        continue
                    break
        log.info(logged, position=position)
        return position

    def _switch(self, scratch: Scratch, conn: Connection, built: list[int]) -> int:
        """In one transaction on a live connection: hold the tracking row, bring the rebuilt views (on ``conn``,
        current to ``built[0]``) to the live position when the live views moved on during the build, swap the
        tables and set the position."""
        with self._engine.connect() as live, scratch.attached(live):
            live.execute(
                update(TRACKING).where(TRACKING.c.name == PROJECTION_NAME).values(position=TRACKING.c.position)
            )
            target = max(tracked(live), built[0])
            if built[0] < target:
                scratch.create_indexes(conn)
                built[0] = self._build(conn, built[0], target, None)
            scratch.switch(live)
            live.execute(update(TRACKING).where(TRACKING.c.name == PROJECTION_NAME).values(position=target))
            live.commit()
        return target

    def verify_views(self, progress: Progress | None = None) -> dict[str, Any]:
        """Rebuild the views into scratch tables up to the live views' position and compare them, table by table
        and row by row (ignoring ``row_id``). ``{"Consistent": bool, "Position": P, "Tables": [...]}``."""
        with reading_now():
            position = self.position()
            with Scratch(self._engine, "verify").open(indexes=False) as conn:
                self._build(conn, 0, position, progress)
                with self._engine.connect() as live:
                    tables = compare(live, conn, position)
        differing = [t for t in tables if t["Missing"] or t["Unexpected"]]
        return {
            "Consistent": not differing,
            "Position": position,
            "Differences": sum(t["Missing"] + t["Unexpected"] for t in tables),
            "Tables": [
                t if t in differing else {k: v for k, v in t.items() if not k.endswith("Examples")} for t in tables
            ],
        }


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """No cyclic garbage collection in this block (a bulk load): the hundreds of thousands of rows it holds make
    each full collection long, and it triggers them all the time while it allocates (the rate halved at 200,000
    events). The objects of a load do not form cycles worth collecting; reference counting frees the rest."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
