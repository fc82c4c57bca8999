"""The time index and the hash chain of the notification log, kept by the projector, and the check of that chain.

For each event the projector appends one row to ``iamledger_positions`` (the checkpoint of that position), in the
same transaction as the views it updates, or, for a writer that indexes its own events, right after saving them:

* ``recorded_at``: a monotonic recorded time, ``max(previous recorded_at, event timestamp)``. Event timestamps come
  from the writers' clocks and are not in notification order, so a wall-clock time maps to a position by binary
  search over this column only because it is kept monotonic here.
* ``link``: ``sha256(previous link || field(position) || field(originator id) || field(version) || field(topic) ||
  field(state))`` over the stored event's bytes, each field its length as 8 bytes big-endian then its bytes (the
  originator id as the 32 lowercase hex digits of the UUID, as the SQLite recorder stores it); the genesis link is 32
  zero bytes (computed in :mod:`iamledger.projections.log.chain_links`). Links are deterministic: every process that
  indexes a position computes the same row, so concurrent indexers insert with "on conflict do nothing".

:func:`verify_chain` re-reads the stored events as raw rows (never decoding them: a hand-edited row may not even
parse), re-computes every link from the stored previous link and compares it with the checkpoint, and names each
position where a stored event was changed, removed, inserted or moved (reordered), in a report
(:mod:`iamledger.projections.log.chain_report`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.dialects import sqlite

from iamledger.domain.errors import IdentityStoreError, ValidationError
from iamledger.projections.engine.row_statements import driver_execute, plain_form
from iamledger.projections.log.chain_links import GENESIS, link
from iamledger.projections.log.chain_links import links as _links
from iamledger.projections.log.chain_report import MAX_REPORTED_PROBLEMS, Problem, VerifyReport
from iamledger.projections.views.tables import POSITIONS

__all__ = [
    "VERIFY_BATCH",
    "EventLogCorruptedError",
    "Progress",
    "append",
    "check_expected_head",
    "count",
    "events_after",
    "head",
    "link_at",
    "log_head",
    "parse_expected_head",
    "position_of_link",
    "raw_events",
    "raw_events_at",
    "sqlite_time",
    "unreadable_position",
    "verify_chain",
]

VERIFY_BATCH: Final = 5000
_EXPECTED_HEAD: Final = re.compile(r"^(?:(?P<position>\d+):)?(?P<link>[0-9a-fA-F]{64})$")

Progress = Callable[[int, int], None]


class EventLogCorruptedError(IdentityStoreError):
    """A stored event cannot be read or decoded: the log was edited by hand (or damaged)."""

    code = "EventLogCorrupted"

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


# -- the index -----------------------------------------------------------------------------------------------------


_HEAD: Final = (
    select(POSITIONS.c.position, POSITIONS.c.recorded_at, POSITIONS.c.link)
    .order_by(POSITIONS.c.position.desc())
    .limit(1)
)


def head(conn: Connection) -> tuple[int, datetime | None, str]:
    """The last indexed position, its recorded time and its link (``0, None, GENESIS`` for an empty index)."""
    row = conn.execute(_HEAD).first()
    if row is None:
        return 0, None, GENESIS
    return int(row[0]), row[1], str(row[2])


def append(
    conn: Connection,
    notifications: Sequence[Any],
    timestamps: Sequence[datetime],
    after: tuple[int, datetime | None, str] | None = None,
) -> tuple[int, datetime | None, str]:
    """Index ``notifications`` (with their events' timestamps) that are past the index's head (``after``, when the
    caller has just read it with :func:`head`); returns the index's head after them, as :func:`head` would.

    Another process may index the same positions at the same time: it computes the same rows, and whichever inserts
    second does nothing."""
    last, recorded, previous = current = head(conn) if after is None else after
    new = [(n, t) for n, t in zip(notifications, timestamps, strict=True) if n.id > last]
    if not new:
        return current
    links = _links(previous, ((n.id, n.originator_id, n.originator_version, n.topic, n.state) for n, _ in new))
    rows = []
    for (notification, timestamp), value in zip(new, links, strict=True):
        recorded = timestamp if recorded is None or timestamp > recorded else recorded
        rows.append((notification.id, recorded, timestamp, value))
    _insert_positions(conn, rows)
    return int(rows[-1][0]), rows[-1][1], rows[-1][3]


_Row = tuple[int, datetime, datetime, str]  # position, recorded_at, event_time, link


def _insert_positions(conn: Connection, rows: list[_Row]) -> None:
    """Insert index rows, skipping positions another process indexed first. On SQLite one driver-level
    ``executemany`` with the times formatted as the columns' bind processors would (SQLAlchemy's per-row handling
    cost more than the hashing); on PostgreSQL SQLAlchemy's batched multi-row insert."""
    if conn.dialect.name == "postgresql":
        columns = list(zip(*rows, strict=True))
        conn.execute(
            _POSTGRES_INSERT,
            {
                "p": list(columns[0]),
                "r": [_utc(t) for t in columns[1]],
                "e": [_utc(t) for t in columns[2]],
                "l": list(columns[3]),
            },
        )
        return
    if conn.dialect.name != "sqlite":  # pragma: no cover - iamledger runs on SQLite and PostgreSQL
        conn.execute(insert(POSITIONS), [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        return
    plain = plain_form(conn, "ledger_positions_insert", _SQLITE_INSERT, tuple(_COLUMNS))
    if plain is None:  # pragma: no cover - the statement computes nothing at execution
        conn.execute(_SQLITE_INSERT, [dict(zip(_COLUMNS, row, strict=True)) for row in rows])
        return
    if list(plain.names) == _COLUMNS and {n for n, p in zip(plain.names, plain.processors, strict=True) if p} == _TIMES:
        values: list[tuple[Any, ...]] = []
        for position, recorded, event_time, value in rows:
            event_text = sqlite_time(event_time)
            values.append(
                (position, event_text if recorded is event_time else sqlite_time(recorded), event_text, value)
            )
    else:  # pragma: no cover - the table as it is defined takes the path above
        values = [plain.row(dict(zip(_COLUMNS, row, strict=True))) for row in rows]
    driver_execute(conn, plain.sql, values)


def sqlite_time(value: datetime) -> str:
    """What the index's time columns (:class:`iamledger.projections.views.tables.DateTime`: UTC, then SQLAlchemy's
    SQLite ``DateTime``) store for ``value``, ``YYYY-MM-DD HH:MM:SS.ffffff``, in C calls instead of two bind processors
    a value."""
    return _utc(value).isoformat(" ", "microseconds")[:26]


def _utc(value: datetime) -> datetime:
    """``value`` in UTC, as the time columns bind it."""
    return value if value.tzinfo is UTC else value.astimezone(UTC)


_SQLITE_INSERT: Final = sqlite.insert(POSITIONS).on_conflict_do_nothing()
# On PostgreSQL a batch is one statement with a column of values a parameter (SQLAlchemy's multi-row VALUES cost
# about as much as the rest of the save).
_POSTGRES_INSERT: Final = text(
    f"INSERT INTO {POSITIONS.name} (position, recorded_at, event_time, link) "
    "SELECT * FROM unnest(CAST(:p AS bigint[]), CAST(:r AS timestamptz[]), CAST(:e AS timestamptz[]), "
    "CAST(:l AS varchar[])) ON CONFLICT DO NOTHING"
)
_COLUMNS: Final = ["position", "recorded_at", "event_time", "link"]
_TIMES: Final = {"recorded_at", "event_time"}


def count(conn: Connection) -> int:
    """How many positions are indexed."""
    return int(conn.execute(select(func.count()).select_from(POSITIONS)).scalar() or 0)


def link_at(conn: Connection, position: int) -> str | None:
    """The stored link of ``position`` (``GENESIS`` for 0, ``None`` for a position that is not indexed)."""
    if position == 0:
        return GENESIS
    value = conn.execute(select(POSITIONS.c.link).where(POSITIONS.c.position == position)).scalar()
    return None if value is None else str(value)


def position_of_link(conn: Connection, value: str) -> int | None:
    """The position whose stored link is ``value`` (0 for the genesis link), or ``None``."""
    if value == GENESIS:
        return 0
    found = conn.execute(select(func.min(POSITIONS.c.position)).where(POSITIONS.c.link == value)).scalar()
    return None if found is None else int(found)


# -- the raw log ---------------------------------------------------------------------------------------------------


def _position_column(conn: Connection) -> str:
    return "rowid" if conn.dialect.name == "sqlite" else "notification_id"


def raw_events(conn: Connection, events_table: str, after: int, stop: int | None, limit: int) -> list[tuple[Any, ...]]:
    """``(position, originator_id, version, topic, state)`` of the stored events after ``after`` (up to ``stop``),
    exactly as stored: nothing is decoded."""
    column = _position_column(conn)
    bound = f" AND {column} <= :stop" if stop is not None else ""
    query = text(
        f"SELECT {column}, originator_id, originator_version, topic, state FROM {events_table} "
        f"WHERE {column} > :after{bound} ORDER BY {column} LIMIT :limit"
    )
    params: dict[str, int] = {"after": after, "limit": limit}
    if stop is not None:
        params["stop"] = stop
    return [tuple(row) for row in conn.execute(query, params).all()]


def raw_events_at(conn: Connection, events_table: str, positions: Iterable[int]) -> list[tuple[Any, ...]]:
    """:func:`raw_events`' rows for the given positions (those that exist), read a few hundred at a time."""
    column = _position_column(conn)
    wanted = sorted(set(positions))
    found: list[tuple[Any, ...]] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        names = {f"p{i}": position for i, position in enumerate(chunk)}
        query = text(
            f"SELECT {column}, originator_id, originator_version, topic, state FROM {events_table} "
            f"WHERE {column} IN ({', '.join(':' + name for name in names)})"
        )
        found += [tuple(row) for row in conn.execute(query, names).all()]
    return found


def log_head(conn: Connection, events_table: str) -> int:
    """The newest position of the log (0 when it is empty)."""
    column = _position_column(conn)
    return int(conn.execute(text(f"SELECT max({column}) FROM {events_table}")).scalar() or 0)


def events_after(conn: Connection, events_table: str, position: int) -> int:
    """How many stored events come after ``position``."""
    column = _position_column(conn)
    query = text(f"SELECT count(*) FROM {events_table} WHERE {column} > :position")
    return int(conn.execute(query, {"position": position}).scalar() or 0)


def unreadable_position(conn: Connection, events_table: str, after: int, stop: int) -> int | None:
    """The first stored event after ``after`` (up to ``stop``) whose originator id is no UUID, or ``None``."""
    while after < stop:
        rows = raw_events(conn, events_table, after, stop, VERIFY_BATCH)
        if not rows:
            return None
        for position, originator_id, *_ in rows:
            if isinstance(originator_id, uuid.UUID):
                continue
            try:
                uuid.UUID(str(originator_id))
            except ValueError:
                return int(position)
        after = int(rows[-1][0])
    return None


# -- verification --------------------------------------------------------------------------------------------------

# A bad position followed by a good one re-computed from the bad one's true link: its checkpoint was edited.
_CHECKPOINT_EDITS: Final = {"changed": "checkpoint-changed", "inserted": "checkpoint-removed"}


@dataclass(slots=True)
class _Suspect:
    problem: Problem
    previous: str | None
    stored: str | None
    content: tuple[Any, ...] | None


def _pages(fetch: Callable[[int], list[tuple[Any, ...]]]) -> Iterator[tuple[Any, ...]]:
    after = -1
    while True:
        rows = fetch(after)
        if not rows:
            return
        yield from rows
        after = int(rows[-1][0])


class _Scan:
    """The merge of the log and the index in position order, with the state the checks need."""

    def __init__(self, report: VerifyReport) -> None:
        self.report = report
        self.suspects: list[_Suspect] = []
        self.stored_previous = GENESIS  # the checkpoint of the previous indexed position
        self.true_previous = GENESIS  # the link re-computed for the previous position
        self.previous_problem: Problem | None = None  # the problem found at the previous position, if any

    def _suspect(self, problem: Problem, previous: str | None, stored: str | None, content: Any) -> None:
        self.report.add(problem)
        if len(self.suspects) < MAX_REPORTED_PROBLEMS:
            self.suspects.append(_Suspect(problem, previous, stored, content))
        self.previous_problem = problem

    def removed(self, at: int, stored: str) -> None:
        """A checkpoint without its event."""
        self._suspect(Problem(at, "removed"), self.stored_previous, stored, None)
        self.stored_previous = self.true_previous = stored

    def inserted(self, at: int, content: tuple[Any, ...]) -> None:
        """An event without its checkpoint, below the index's head."""
        self._suspect(Problem(at, "inserted"), None, None, None)
        self.true_previous = link(self.true_previous, at, *content)

    def matched(self, at: int, stored: str, content: tuple[Any, ...]) -> None:
        """An event and its checkpoint."""
        computed = link(self.stored_previous, at, *content)
        previous_problem, self.previous_problem = self.previous_problem, None
        if computed != stored:
            if (
                previous_problem is not None
                and previous_problem.kind in _CHECKPOINT_EDITS
                and link(self.true_previous, at, *content) == stored
            ):
                previous_problem.kind = _CHECKPOINT_EDITS[previous_problem.kind]
                computed = stored
            else:
                self._suspect(Problem(at, "changed"), self.stored_previous, stored, content)
        self.report.checked += 1
        self.stored_previous, self.true_previous = stored, computed


def verify_chain(
    conn: Connection, events_table: str, *, progress: Progress | None = None, batch: int = VERIFY_BATCH
) -> VerifyReport:
    """Re-compute every indexed position's link from the stored event and the stored previous link, and compare it
    with the checkpoint. Events after the index's head are counted as the unverified tail; nothing is written."""
    position, recorded_at, head_link = head(conn)
    report = VerifyReport(position, head_link, recorded_at, log_head(conn, events_table))
    log = _pages(lambda after: raw_events(conn, events_table, after, position, batch))
    index = _pages(
        lambda after: [
            tuple(r)
            for r in conn.execute(
                select(POSITIONS.c.position, POSITIONS.c.link)
                .where(POSITIONS.c.position > after, POSITIONS.c.position <= position)
                .order_by(POSITIONS.c.position)
                .limit(batch)
            ).all()
        ]
    )
    scan = _Scan(report)
    event, checkpoint = next(log, None), next(index, None)
    while event is not None or checkpoint is not None:
        if event is None or (checkpoint is not None and int(checkpoint[0]) < int(event[0])):
            assert checkpoint is not None  # noqa: S101 - one of the two is present
            scan.removed(int(checkpoint[0]), str(checkpoint[1]))
            checkpoint = next(index, None)
        elif checkpoint is None or int(event[0]) < int(checkpoint[0]):
            scan.inserted(int(event[0]), tuple(event[1:]))
            event = next(log, None)
        else:
            scan.matched(int(checkpoint[0]), str(checkpoint[1]), tuple(event[1:]))
            if progress is not None and report.checked % batch == 0:
                progress(int(checkpoint[0]), position)
            event, checkpoint = next(log, None), next(index, None)
    _find_moves(scan.suspects)
    report.unverified_tail = events_after(conn, events_table, position)
    if progress is not None:
        progress(position, position)
    return report


def _find_moves(suspects: list[_Suspect]) -> None:
    """Relabel a changed position as reordered when its content is the event recorded at another bad position."""
    for moved in suspects:
        if moved.problem.kind != "changed" or moved.content is None:
            continue
        for origin in suspects:
            if origin is moved or origin.previous is None or origin.stored is None:
                continue
            assert origin.problem.position is not None  # noqa: S101 - suspects have positions
            if link(origin.previous, origin.problem.position, *moved.content) == origin.stored:
                moved.problem.kind = "reordered"
                moved.problem.other = origin.problem.position
                break


def parse_expected_head(value: str) -> tuple[int | None, str]:
    """``HASH`` or ``POSITION:HASH`` (a head printed by an earlier ``audit verify``), checked."""
    match = _EXPECTED_HEAD.match(value.strip())
    if match is None:
        raise ValidationError(
            f"Invalid expected head '{value}': give the 64 hex digits of a head link, optionally as POSITION:HASH."
        )
    position = match["position"]
    return (None if position is None else int(position)), match["link"].lower()


def check_expected_head(conn: Connection, report: VerifyReport, expected: str) -> None:
    """Check that the chain holds the link ``expected`` (``[POSITION:]HASH``): as each link covers every event
    before it, finding it proves the log up to that position is the one the hash was taken from."""
    position, value = parse_expected_head(expected)
    found = position_of_link(conn, value) if position is None else position
    matches = found is not None and found <= report.position and link_at(conn, found) == value
    report.expected_head = {"Head": value, "Position": found if matches else position, "Found": matches}
    if not matches:
        report.add(Problem(None, "head-mismatch", other=value if position is None else f"{position}:{value}"))
