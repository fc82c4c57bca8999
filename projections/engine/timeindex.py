"""Resolving a moment to a position of the log.

A moment is given as an ISO 8601 time (``2026-11-01T09:00:00Z``; no offset means UTC), a date (``2026-11-01``,
midnight UTC), a time relative to now (``90s``, ``90m``, ``12h``, ``7d``, ``2w`` ago), seconds since the epoch
(``1793523600``, as the aws CLI accepts), ``now``, or an exact position (``position:1234``, or ``#1234``). A time
maps to the last position whose monotonic recorded time is at or before it (0 when it is before the first event), by
one probe of the index on ``recorded_at``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import Connection, func, select

from iamledger.domain.errors import ValidationError
from iamledger.projections.views.tables import POSITIONS

_RELATIVE: Final = re.compile(r"^(?P<amount>\d+)\s*(?P<unit>s|m|h|d|w)$")
_POSITION: Final = re.compile(r"^(?:position:|#)(?P<position>\d+)$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class Moment:
    """A resolved moment: the position answers are computed at, and the time they describe."""

    position: int
    time: datetime

    def describe(self) -> dict[str, object]:
        """The moment in the shape audit answers report it: ``{"Position": 1234, "Time": ...}``."""
        return {"Position": self.position, "Time": self.time}


def parse_time(text: str, now: datetime) -> datetime:
    """A wall-clock time from ``text`` (absolute, relative to ``now``, or epoch seconds); ``ValidationError``
    otherwise."""
    value = text.strip()
    if value.lower() == "now":
        return now
    relative = _RELATIVE.match(value)
    try:
        if relative:
            return now - timedelta(**{_UNITS[relative["unit"]]: int(relative["amount"])})
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
        moment = datetime.fromisoformat(value.replace("z", "Z"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError, OSError):  # not a time, or one before year 1 or after 9999
        raise ValidationError(
            f"Invalid time '{text}': use an ISO 8601 time (2026-11-01T09:00:00Z), a date (2026-11-01), a duration ago "
            "(90m, 12h, 7d), epoch seconds, now, or position:N."
        ) from None


def position_at(conn: Connection, moment: datetime) -> int:
    """The last position recorded at or before ``moment`` (0 before the first event)."""
    # Recorded times are monotonic, so the answer is the newest row at or before ``moment``: one index probe
    # (``max(position) WHERE recorded_at <= t`` would walk every earlier row).
    query = (
        select(POSITIONS.c.position)
        .where(POSITIONS.c.recorded_at <= moment)
        .order_by(POSITIONS.c.recorded_at.desc(), POSITIONS.c.position.desc())
        .limit(1)
    )
    value = conn.execute(query).scalar()
    return int(value or 0)


def time_of(conn: Connection, position: int) -> datetime | None:
    """The monotonic recorded time of ``position`` (``None`` for 0 or an unknown position)."""
    value = conn.execute(select(POSITIONS.c.recorded_at).where(POSITIONS.c.position == position)).scalar()
    return value if isinstance(value, datetime) else None


def indexed_head(conn: Connection) -> int:
    """The last indexed position."""
    return int(conn.execute(select(func.max(POSITIONS.c.position))).scalar() or 0)


def resolve(conn: Connection, when: str | int | datetime, now: datetime) -> Moment:
    """The moment ``when`` names (a position, a time, or text as described in this module's docstring)."""
    if isinstance(when, int):
        return _at_position(conn, int(when), now)
    if isinstance(when, datetime):
        moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        return Moment(position_at(conn, moment), moment)
    exact = _POSITION.match(when.strip())
    if exact:
        return _at_position(conn, int(exact["position"]), now)
    moment = parse_time(when, now)
    return Moment(position_at(conn, moment), moment)


def requested_position(when: str | int | datetime | None) -> int | None:
    """The position ``when`` names exactly (a number, ``position:N`` or ``#N``), else ``None``."""
    if isinstance(when, int):
        return int(when)
    exact = _POSITION.match(when.strip()) if isinstance(when, str) else None
    return int(exact["position"]) if exact else None


def settle(
    conn: Connection, when: str | int | datetime | None, now: datetime, reach: Callable[[int | None], int]
) -> Moment:
    """The moment ``when`` names, once the views are current to it; ``None`` (or ``""``) is the position the views are
    current to, described at ``now`` (or at its recorded time, when the writer's clock ran ahead).

    ``reach(P)`` brings the views to at least position ``P`` (``None``: as far as they go) and returns the position
    they are at (:meth:`~iamledger.projections.engine.projector.Projector.reach`): on the primary a catch-up, on a
    standby a bounded wait for replication. An exact position is reached before it is resolved (a standby's time index
    may not have it yet either); a time is resolved first, and reached when it maps past the views (writers index what
    they save at once, so the time index runs ahead of views that another process catches up)."""
    current = reach(requested_position(when))
    if when is None or when == "":
        recorded = time_of(conn, current)
        return Moment(current, max(now, recorded) if recorded is not None else now)
    moment = resolve(conn, when, now)
    if moment.position > current:
        reach(moment.position)
    return moment


def _at_position(conn: Connection, position: int, now: datetime) -> Moment:
    head = indexed_head(conn)
    if position < 0 or position > head:
        raise ValidationError(f"Position {position} is outside the log (0 to {head}).")
    recorded = time_of(conn, position)
    if recorded is None:
        first = time_of(conn, 1)
        recorded = first - timedelta(microseconds=1) if first else now
    return Moment(position, recorded)
