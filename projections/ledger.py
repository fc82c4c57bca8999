"""The time index and the hash chain of the notification log, kept by the projector.

For each event the projector applies it appends one row to ``iamledger_positions``, in the same transaction as the
views it updates:

* ``recorded_at``: a monotonic recorded time, ``max(previous recorded_at, event timestamp)``. Event timestamps come
  from the writers' clocks and are not in notification order, so a wall-clock time maps to a position by binary
  search over this column only because it is kept monotonic here.
* ``link``: ``sha256(previous link || position || originator id || version || topic || state)`` over the stored
  event's bytes (the genesis link is 32 zero bytes). Re-computing the chain from the log and comparing it with these
  checkpoints names the first position where a stored event was changed, removed or reordered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select

from iamledger.projections.tables import POSITIONS

GENESIS: Final = "0" * 64


def link(previous: str, position: int, originator_id: Any, version: int, topic: str, state: bytes) -> str:
    """The chain link of one stored event, given the link before it."""
    digest = hashlib.sha256(bytes.fromhex(previous))
    digest.update(f"{position}\n{originator_id}\n{version}\n{topic}\n".encode())
    digest.update(state)
    return digest.hexdigest()


def head(conn: Connection) -> tuple[int, datetime | None, str]:
    """The last indexed position, its recorded time and its link (``0, None, GENESIS`` for an empty index)."""
    row = conn.execute(
        select(POSITIONS.c.position, POSITIONS.c.recorded_at, POSITIONS.c.link)
        .order_by(POSITIONS.c.position.desc())
        .limit(1)
    ).first()
    if row is None:
        return 0, None, GENESIS
    return int(row[0]), row[1], str(row[2])


def append(conn: Connection, notifications: Sequence[Any], timestamps: Sequence[datetime]) -> None:
    """Index ``notifications`` (with their events' timestamps) that are past the index's head."""
    last, recorded, previous = head(conn)
    rows = []
    for notification, timestamp in zip(notifications, timestamps, strict=True):
        if notification.id <= last:
            continue
        recorded = timestamp if recorded is None or timestamp > recorded else recorded
        previous = link(
            previous,
            notification.id,
            notification.originator_id,
            notification.originator_version,
            notification.topic,
            notification.state,
        )
        rows.append({"position": notification.id, "recorded_at": recorded, "event_time": timestamp, "link": previous})
    if rows:
        conn.execute(insert(POSITIONS), rows)


def count(conn: Connection) -> int:
    """How many positions are indexed."""
    return int(conn.execute(select(func.count()).select_from(POSITIONS)).scalar() or 0)
