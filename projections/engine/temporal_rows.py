"""Writing temporal rows (open a row at a position, close rows at a position, replace a current row) and reading
the current ones a write works from.

Inside a batch (:mod:`iamledger.projections.engine.write_batches`) these functions work on the batch's in-memory copy
of the current rows instead of issuing SQL for each call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from iamledger.projections.engine.row_statements import (
    BOOKKEEPING,
    built_once,
    current_by,
    current_where,
    driver_execute,
    plain_form,
)
from iamledger.projections.engine.write_batches import active_batch

_writes: dict[str, int] = {}


def writes_to(table: Table) -> int:
    """How many times this process has asked to change rows of ``table`` (open, close or replace; a rolled-back
    change counts too): equal counts before and after some work mean it did not touch the table."""
    return _writes.get(table.name, 0)


def _count_write(table: Table) -> None:
    _writes[table.name] = _writes.get(table.name, 0) + 1


def open_row(conn: Connection, table: Table, position: int, **values: Any) -> None:
    """Insert a row that is true from ``position`` on."""
    _count_write(table)
    batch = active_batch(conn)
    if batch is not None:
        batch.table(table).open(position, values)
        return
    params = {**values, "valid_from": position, "valid_to": None}
    statement = built_once(("open", table), lambda: insert(table))
    plain = plain_form(conn, ("open", table, tuple(params)), statement, tuple(params))
    if plain is not None:
        driver_execute(conn, plain.sql, [plain.row(params)])
        return
    conn.execute(statement, params)


def close_rows(conn: Connection, table: Table, position: int, **where: Any) -> int:
    """End, at ``position``, every current row matching ``where``; returns how many were ended."""
    _count_write(table)
    batch = active_batch(conn)
    if batch is not None:
        return batch.table(table).close(position, where)
    if None in where.values():  # ``= NULL`` never matches: ``current_where`` writes ``IS NULL``
        result = conn.execute(update(table).where(current_where(table, where)).values(valid_to=position))
    else:
        # parameters ``where_<column>``: in an update, a parameter named after a column would also set it
        columns = tuple(where)
        statement = built_once(
            ("close", table, columns),
            lambda: (
                update(table).where(current_by(table, columns, "where_")).values(valid_to=bindparam("closing_position"))
            ),
        )
        values = {f"where_{c}": v for c, v in where.items()}
        values["closing_position"] = position
        plain = plain_form(conn, ("close", table, columns), statement, None)
        if plain is not None:
            return driver_execute(conn, plain.sql, [plain.row(values)])
        result = conn.execute(statement, values)
    return int(result.rowcount)


def current_row(conn: Connection, table: Table, **where: Any) -> dict[str, Any] | None:
    """The current row matching ``where``, as a dict without its bookkeeping columns."""
    batch = active_batch(conn)
    if batch is not None:
        table_batch = batch.table(table)
        rows = table_batch.current(where)
        return table_batch.as_dict(rows[0]) if rows else None
    if None in where.values():  # ``= NULL`` never matches: ``current_where`` writes ``IS NULL``
        row = conn.execute(select(table).where(current_where(table, where))).mappings().first()
    else:
        columns = tuple(where)
        statement = built_once(("current", table, columns), lambda: select(table).where(current_by(table, columns)))
        row = conn.execute(statement, where).mappings().first()
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in BOOKKEEPING}


def current_rows(conn: Connection, table: Table, **where: Any) -> list[dict[str, Any]]:
    """Every current row matching ``where``, oldest first (``row_id`` order), without the bookkeeping columns."""
    batch = active_batch(conn)
    if batch is not None:
        table_batch = batch.table(table)
        return [table_batch.as_dict(r) for r in table_batch.current(where)]
    if None in where.values():  # ``= NULL`` never matches: ``current_where`` writes ``IS NULL``
        result = conn.execute(select(table).where(current_where(table, where)).order_by(table.c.row_id))
    else:
        columns = tuple(where)
        statement = built_once(
            ("current_rows", table, columns),
            lambda: select(table).where(current_by(table, columns)).order_by(table.c.row_id),
        )
        result = conn.execute(statement, where)
    return [{k: v for k, v in r.items() if k not in BOOKKEEPING} for r in result.mappings()]


def replace_row(conn: Connection, table: Table, position: int, key: dict[str, Any], **changes: Any) -> None:
    """End the current row matching ``key`` at ``position`` and open its successor with ``changes`` applied."""
    _count_write(table)
    batch = active_batch(conn)
    if batch is not None:
        table_batch = batch.table(table)
        rows = table_batch.current(key)
        if rows:
            values = {**table_batch.as_dict(rows[0]), **changes}
            table_batch.end(rows, position)
            table_batch.open(position, values)
        return
    row = current_row(conn, table, **key)
    if row is None:
        return
    close_rows(conn, table, position, **key)
    row.update(changes)
    open_row(conn, table, position, **row)


def known_rows(conn: Connection, table: Table, **where: Any) -> list[dict[str, Any]]:
    """The rows matching ``where`` that the active batch holds in memory, current or not (none outside a batch):
    a way to learn what the batch already knows without a query."""
    batch = active_batch(conn)
    if batch is None:
        return []
    table_batch = batch.table(table)
    return [table_batch.as_dict(r) for r in table_batch.known(where)]


def prefetch(conn: Connection, table: Table, column: str, values: Iterable[Any]) -> None:
    """Load, in bulk, the current rows of ``table`` whose ``column`` is one of ``values`` into the active batch (a
    no-op outside a batch), so that later reads and writes by that key need no query."""
    batch = active_batch(conn)
    if batch is not None:
        batch.table(table).load_many(column, values)


def batch_memo(conn: Connection) -> dict[Any, Any] | None:
    """A scratch dict that lives as long as the active batch (``None`` outside a batch), for facts that cannot
    change within it (the account of an entity)."""
    batch = active_batch(conn)
    return None if batch is None else batch.memo
