"""Batches of temporal writes: :func:`batched` (a batch of events) and :func:`bulk_loading` (empty tables loaded in
one pass).

Inside :func:`batched` (the projector's dispatch of a batch of events) the write functions of
:mod:`iamledger.projections.engine.temporal_rows` and its ``current_row`` / ``current_rows`` work on an in-memory copy
of the current rows they touch instead of issuing SQL for each call: rows are loaded once (in bulk with ``prefetch``,
else on first use by their key), opened, closed and replaced in memory, and written when the batch ends with one
``executemany`` per table (inserts of the new rows, with their final ``valid_to``; updates of the closed stored rows
by ``row_id``). The result is exactly that of applying the events one by one: rows opened at position p have
``valid_from = p``, closed at q have ``valid_to = q``, later events see the effects of earlier ones, and new rows are
inserted in the order they were opened (so ``row_id`` order is unchanged). Code in a batch must not read or write
the view tables with its own SQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
)

from iamledger.projections.engine.table_batches import TableBatch


class _Batch:
    def __init__(self, conn: Connection, bulk: bool = False) -> None:
        self.conn = conn
        self.bulk = bulk
        self.tables: dict[Table, TableBatch] = {}
        self.memo: dict[Any, Any] = {}

    def table(self, table: Table) -> TableBatch:
        found = self.tables.get(table)
        if found is None:
            found = self.tables[table] = TableBatch(self.conn, table, self.bulk)
        return found

    def checkpoint(self) -> None:
        """In a bulk load: write the rows closed so far (the caller commits), and start the memo afresh (a whole
        load's worth of remembered facts would cost more memory than finding them again)."""
        for table_batch in self.tables.values():
            table_batch.flush_bulk(final=False)
        self.memo.clear()

    def flush(self) -> None:
        """Write what the batch changed and forget it (the next use loads afresh)."""
        for table_batch in self.tables.values():
            table_batch.flush()
        self.tables.clear()
        self.memo.clear()


_batch: ContextVar[_Batch | None] = ContextVar("iamledger_projection_batch", default=None)


def active_batch(conn: Connection) -> _Batch | None:
    batch = _batch.get()
    return batch if batch is not None and batch.conn is conn else None


@contextmanager
def batched(conn: Connection) -> Iterator[None]:
    """Buffer the temporal writes made on ``conn`` in this block and write them when it ends (see the module
    docstring). On an error nothing more is written: the caller's transaction is rolled back anyway."""
    batch = _Batch(conn)
    token = _batch.set(batch)
    try:
        yield
        batch.flush()
    finally:
        _batch.reset(token)


def bulk_loading_active(conn: Connection) -> bool:
    """Whether a :func:`bulk_loading` block is active on ``conn``."""
    batch = active_batch(conn)
    return batch is not None and batch.bulk


def bulk_checkpoint(conn: Connection) -> None:
    """Inside :func:`bulk_loading`: write the rows closed so far (they are final); the caller commits."""
    batch = active_batch(conn)
    if batch is not None and batch.bulk:
        batch.checkpoint()


@contextmanager
def bulk_loading(conn: Connection) -> Iterator[None]:
    """Load empty view tables through ``conn`` (a scratch copy being built) in one pass: every current row stays in
    memory for the whole block (no query finds them), a row is written once, when it is closed (with its final
    ``valid_to``, at the next :func:`bulk_checkpoint`), and the rows still current when the block ends are written
    then. Row for row (row ids included) the result is what applying the events one at a time gives. Nothing in
    the tables is complete before the block ends: only for tables nobody reads as views until then."""
    batch = _Batch(conn, bulk=True)
    token = _batch.set(batch)
    try:
        yield
        for table_batch in batch.tables.values():
            table_batch.flush_bulk(final=True)
            if conn.dialect.name == "postgresql" and table_batch.next_id > 1:  # row ids were given explicitly
                conn.exec_driver_sql(
                    "SELECT setval(pg_get_serial_sequence(%(table)s, 'row_id'), %(last)s)",
                    {"table": table_batch.table.name, "last": table_batch.next_id - 1},
                )
    finally:
        _batch.reset(token)


@contextmanager
def unbatched(conn: Connection) -> Iterator[None]:
    """Inside :func:`batched`: write what the batch holds so far, and let this block read and write ``conn``
    directly (for code that issues its own SQL); the batch starts afresh after it."""
    batch = active_batch(conn)
    if batch is None:
        yield
        return
    batch.flush()
    token = _batch.set(None)
    try:
        yield
    finally:
        _batch.reset(token)
