"""Reading temporal rows as of a position: the bound read position and the blocks that bind it.

Reads select rows with :func:`live`, which means "current" (``valid_to IS NULL``) unless a read position is bound
with :func:`reading_at`; then it means "true at that position" (``valid_from <= P AND (valid_to IS NULL OR valid_to >
P)``). Every read function of the views therefore answers as of any position without a second copy of its query.
Writes (the projector's handlers) always work on current rows: :func:`reading_now` unbinds the position around them.
The writes are in :mod:`iamledger.projections.engine.temporal_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar, Token
from typing import Any, Final

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    CursorResult,
    Executable,
    Table,
    and_,
    bindparam,
    or_,
)

from iamledger.projections.engine.row_statements import built_once

_read_position: ContextVar[int | None] = ContextVar("iamledger_read_position", default=None)


def read_position() -> int | None:
    """The position reads are bound to, or ``None`` for the current state."""
    return _read_position.get()


def reading_at(position: int | None) -> ReadingAt:
    """Answer every view read in this block as of notification id ``position`` (``None``: the current state)."""
    return ReadingAt(position)


def reading_now() -> ReadingAt:
    """A block whose reads see the current state, whatever position an outer block bound."""
    return ReadingAt(None)


class ReadingAt:
    """The block :func:`reading_at` gives (a class rather than a generator: reads and commands enter several)."""

    __slots__ = ("_position", "_token")

    def __init__(self, position: int | None) -> None:
        self._position = position
        self._token: Token[int | None] | None = None

    def __enter__(self) -> None:
        self._token = _read_position.set(self._position)

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            _read_position.reset(self._token)
            self._token = None


def live(table: Table) -> ColumnElement[bool]:
    """The rows of ``table`` true at the bound read position (the current rows when none is bound).

    The position is the bound parameter ``read_position`` (its value given here), so a statement built once can be
    run again at another position (:func:`execute_prepared`)."""
    position = _read_position.get()
    if position is None:
        return table.c.valid_to.is_(None)
    at: BindParameter[int] = bindparam(READ_POSITION, position)
    return and_(table.c.valid_from <= at, or_(table.c.valid_to.is_(None), table.c.valid_to > at))


READ_POSITION: Final = "read_position"


def execute_prepared(
    conn: Connection, key: Hashable, build: Callable[[], Executable], **values: Any
) -> CursorResult[Any]:
    """Run the statement ``build`` makes, built once per ``key`` (and per read mode: current, or at a position): a
    view read on a request's hot path costs less to run than to build. ``build`` writes each value as
    ``bindparam(name)`` and reads rows with :func:`live`; ``values`` are the parameters, to which the bound read
    position is added."""
    position = _read_position.get()
    statement = built_once(("prepared", key, position is not None), build)
    if position is not None:
        values[READ_POSITION] = position
    return conn.execute(statement, values)
