"""Temporal rows: writing them (open a row at a position, close rows at a position, replace a current row) and
reading them as of a position.

Reads select rows with :func:`live`, which means "current" (``valid_to IS NULL``) unless a read position is bound
with :func:`reading_at`; then it means "true at that position" (``valid_from <= P AND (valid_to IS NULL OR valid_to >
P)``). Every read function of the views therefore answers as of any position without a second copy of its query.
Writes (the projector's handlers) always work on current rows: :func:`reading_now` unbinds the position around them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, and_, insert, or_, select, update

_read_position: ContextVar[int | None] = ContextVar("iamledger_read_position", default=None)


def read_position() -> int | None:
    """The position reads are bound to, or ``None`` for the current state."""
    return _read_position.get()


@contextmanager
def reading_at(position: int | None) -> Iterator[None]:
    """Answer every view read in this block as of notification id ``position`` (``None``: the current state)."""
    token = _read_position.set(position)
    try:
        yield
    finally:
        _read_position.reset(token)


def reading_now() -> Any:
    """A block whose reads see the current state, whatever position an outer block bound."""
    return reading_at(None)


def live(table: Table) -> ColumnElement[bool]:
    """The rows of ``table`` true at the bound read position (the current rows when none is bound)."""
    position = _read_position.get()
    if position is None:
        return table.c.valid_to.is_(None)
    return and_(table.c.valid_from <= position, or_(table.c.valid_to.is_(None), table.c.valid_to > position))


def _current(table: Table, where: dict[str, Any]) -> Any:
    return and_(table.c.valid_to.is_(None), *(table.c[k] == v for k, v in where.items()))


def open_row(conn: Connection, table: Table, position: int, **values: Any) -> None:
    """Insert a row that is true from ``position`` on."""
    conn.execute(insert(table).values(**values, valid_from=position, valid_to=None))


def close_rows(conn: Connection, table: Table, position: int, **where: Any) -> int:
    """End, at ``position``, every current row matching ``where``; returns how many were ended."""
    result = conn.execute(update(table).where(_current(table, where)).values(valid_to=position))
    return int(result.rowcount)


def current_row(conn: Connection, table: Table, **where: Any) -> dict[str, Any] | None:
    """The current row matching ``where``, as a dict without its bookkeeping columns."""
    row = conn.execute(select(table).where(_current(table, where))).mappings().first()
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in {"row_id", "valid_from", "valid_to"}}


def replace_row(conn: Connection, table: Table, position: int, key: dict[str, Any], **changes: Any) -> None:
    """End the current row matching ``key`` at ``position`` and open its successor with ``changes`` applied."""
    row = current_row(conn, table, **key)
    if row is None:
        return
    close_rows(conn, table, position, **key)
    row.update(changes)
    open_row(conn, table, position, **row)
