"""Writing temporal rows: open a row at a position, close rows at a position, replace a current row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, and_, insert, select, update


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
