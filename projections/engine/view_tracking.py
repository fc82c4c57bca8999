"""The views' position in the tracking table: reading it, and moving it on only from where a process read it (so
of two processes catching up at once only one applies a batch)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Connection, bindparam, select, update

from iamledger.projections.engine.row_statements import driver_execute
from iamledger.projections.views.tables import TRACKING

PROJECTION_NAME: Final = "identity_views"

TRACKED: Final = select(TRACKING.c.position).where(TRACKING.c.name == PROJECTION_NAME)
ADVANCE: Final = (
    update(TRACKING)
    .where(TRACKING.c.name == PROJECTION_NAME, TRACKING.c.position == bindparam("from_position"))
    .values(position=bindparam("to_position"))
)
"""Move the views' position on, only from where this process read it (another process may have moved it)."""


SQLITE_ADVANCE: Final = f"UPDATE {TRACKING.name} SET position = ? WHERE name = ? AND position = ?"


def advance(conn: Connection, start: int, end: int) -> int:
    """:data:`ADVANCE` the views' position from ``start`` to ``end`` (on SQLite without SQLAlchemy's execution
    work: a write request's hot path); 1 when it moved, 0 when another process had moved it."""
    if conn.dialect.name == "sqlite":
        return driver_execute(conn, SQLITE_ADVANCE, [(end, PROJECTION_NAME, start)])
    return int(conn.execute(ADVANCE, {"from_position": start, "to_position": end}).rowcount)


def tracked(conn: Connection) -> int:
    value = conn.execute(TRACKED).scalar()
    return int(value or 0)
