"""Scratch copies of the view tables, for rebuilding and verifying the views beside the live ones.

The view handlers write to the view tables by their unqualified names. A scratch copy is therefore reached through a
connection of its own on which those names mean the scratch tables: on PostgreSQL a connection whose
``search_path`` is a scratch schema (``<live schema>_iamledger_<purpose>``); on SQLite a connection to a second
database file beside the store (``<db file>.<purpose>``). The handlers run unchanged on it, whatever SQL they issue.

The switch to rebuilt tables happens in one transaction on a live connection: on PostgreSQL the live view tables are
dropped and the rebuilt ones moved into the live schema (``ALTER TABLE ... SET SCHEMA``); on SQLite the scratch file
is attached and the live tables' rows are replaced by the rebuilt ones.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, create_engine, func, select, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateIndex, CreateTable

from iamledger.domain.errors import ConcurrentModificationError
from iamledger.projections.views.tables import TRACKING, metadata

SQLITE_SCRATCH: Final = "iamledger_scratch"
MAX_EXAMPLES: Final = 5
SWITCH_CACHE_SIZE: Final = -2048  # KiB of page cache for the SQLite switch (the default size)

try:  # advisory file locks exist on POSIX systems only
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


def view_tables() -> list[Table]:
    """Every view table (not the tracking table), parents first."""
    return [t for t in metadata.sorted_tables if t is not TRACKING]


class Scratch:
    """A scratch copy of the view tables, reached through the connection :meth:`open` yields."""

    def __init__(self, engine: Engine, purpose: str) -> None:
        self._engine = engine
        self._purpose = purpose
        self._sqlite = engine.dialect.name == "sqlite"
        self._path = Path(f"{engine.url.database}.{purpose}") if self._sqlite else None
        self.schema = ""
        self.live_schema = ""
        self.indexed = True

    def _create(self, conn: Connection, indexes: bool) -> None:
        self.indexed = indexes
        if indexes:
            metadata.create_all(conn, tables=view_tables())
            return
        for table in view_tables():
            conn.execute(CreateTable(table))

    def create_indexes(self, conn: Connection) -> None:
        """Create the indexes of the scratch tables (made without them by ``open(indexes=False)``), if not yet."""
        if not self.indexed:
            for table in view_tables():
                for index in sorted(table.indexes, key=lambda i: str(i.name)):
                    conn.execute(CreateIndex(index))
            conn.commit()
            self.indexed = True

    def finish_bulk(self, conn: Connection) -> None:
        """After a bulk load into tables made without indexes: on PostgreSQL create them now (the tables move into
        the live schema with them); on SQLite the switch copies the rows into the live tables and indexes them
        there, so the scratch file needs none."""
        if self._path is None:
            self.create_indexes(conn)

    @contextlib.contextmanager
    def open(self, *, indexes: bool = True) -> Iterator[Connection]:
        """A connection on which the view tables' names mean an empty scratch copy; it is dropped afterwards.
        ``indexes=False`` creates the tables without their secondary indexes (for a bulk load, see
        :meth:`finish_bulk`)."""
        if self._path is not None:
            with self._file_lock():
                self._remove_files()
                engine = create_engine(URL.create("sqlite", database=str(self._path)), poolclass=NullPool)
                try:
                    with engine.connect() as conn:
                        conn.exec_driver_sql("PRAGMA journal_mode = MEMORY")
                        conn.exec_driver_sql("PRAGMA synchronous = OFF")
                        self._create(conn, indexes)
                        conn.commit()
                        yield conn
                finally:
                    engine.dispose()
                    self._remove_files()
            return
        with self._engine.connect() as live:
            self.live_schema = str(live.execute(text("SELECT current_schema()")).scalar())
        self.schema = f"{self.live_schema}_iamledger_{self._purpose}"[:63]
        engine = create_engine(
            self._engine.url, connect_args={"options": f"-csearch_path={self.schema}"}, poolclass=NullPool
        )
        try:
            with engine.connect() as conn:
                self._advisory_lock(conn)
                try:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                    conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
                    self._create(conn, indexes)
                    conn.commit()
                    yield conn
                finally:
                    if conn.in_transaction():
                        conn.rollback()
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
                    conn.commit()
        finally:
            engine.dispose()

    def _busy(self) -> ConcurrentModificationError:
        return ConcurrentModificationError(f"Another `iamledger projections {self._purpose}` is running on this store.")

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """One build of this purpose at a time on one SQLite store."""
        lock_path = f"{self._path}.lock"
        with open(lock_path, "a+b") as lock:  # noqa: PTH123
            if fcntl is not None:
                try:
                    fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise self._busy() from None
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(lock_path)  # noqa: PTH108

    def _advisory_lock(self, conn: Connection) -> None:
        """One build of this purpose at a time on one PostgreSQL schema (released when ``conn`` closes)."""
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": zlib.crc32(self.schema.encode())}
        ).scalar()
        conn.commit()
        if not got:
            raise self._busy()

    def _remove_files(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self._path}{suffix}")  # noqa: PTH108

    @contextlib.contextmanager
    def attached(self, live: Connection) -> Iterator[None]:
        """On SQLite, the scratch file attached to the live connection ``live`` (outside any transaction)."""
        if self._path is None:
            yield
            return
        live.exec_driver_sql(f"ATTACH DATABASE ? AS {SQLITE_SCRATCH}", (str(self._path),))
        try:
            yield
        finally:
            if live.in_transaction():
                live.rollback()
            live.exec_driver_sql(f"DETACH DATABASE {SQLITE_SCRATCH}")

    def switch(self, live: Connection) -> None:
        """Make the scratch copy the live view tables, in the caller's transaction on the live connection ``live``
        (on SQLite, inside :meth:`attached`). On SQLite the live tables' indexes are dropped while the rows are
        copied and created again afterwards (indexing sorted rows at once costs much less than row by row)."""
        tables = view_tables()
        if self._path is not None:
            indexes = [index for table in tables for index in sorted(table.indexes, key=lambda i: str(i.name))]
            # a small page cache while the copy is written: the connection's usual 32 MiB would fill with the
            # transaction's pages on top of the memory the bulk load just used (a fifth more peak memory at
            # 1,000,000 events; the copy takes no longer)
            cache_size = int(live.exec_driver_sql("PRAGMA main.cache_size").scalar() or SWITCH_CACHE_SIZE)
            live.exec_driver_sql(f"PRAGMA main.cache_size = {SWITCH_CACHE_SIZE}")
            try:
                for index in indexes:
                    live.exec_driver_sql(f'DROP INDEX IF EXISTS main."{index.name}"')
                for table in reversed(tables):
                    live.exec_driver_sql(f'DELETE FROM main."{table.name}"')
                for table in tables:
                    columns = ", ".join(f'"{c.name}"' for c in table.c)
                    live.exec_driver_sql(
                        f'INSERT INTO main."{table.name}" ({columns}) '
                        f'SELECT {columns} FROM {SQLITE_SCRATCH}."{table.name}"'
                    )
                for index in indexes:
                    ddl = str(CreateIndex(index).compile(dialect=live.dialect))
                    live.exec_driver_sql(ddl.replace("CREATE INDEX ", "CREATE INDEX main.", 1))
            finally:
                live.exec_driver_sql(f"PRAGMA main.cache_size = {cache_size}")
            return
        for table in reversed(tables):
            live.execute(text(f'DROP TABLE "{self.live_schema}"."{table.name}"'))
        for table in tables:
            live.execute(text(f'ALTER TABLE "{self.schema}"."{table.name}" SET SCHEMA "{self.live_schema}"'))


def compare(live: Connection, scratch: Connection, position: int) -> list[dict[str, Any]]:
    """Each view table's rows, live and in the scratch copy, compared as of ``position`` (rows with ``valid_from``
    after it left out, a ``valid_to`` after it read as still open), ignoring ``row_id``."""
    results = []
    for table in view_tables():
        current = _rows_at(live, table, position)
        rebuilt = _rows_at(scratch, table, position)
        unexpected = current - rebuilt
        missing = rebuilt - current
        names = [c.name for c in table.c if c.name != "row_id"]
        results.append(
            {
                "Table": table.name,
                "LiveRows": sum(current.values()),
                "RebuiltRows": sum(rebuilt.values()),
                "Missing": sum(missing.values()),
                "Unexpected": sum(unexpected.values()),
                "MissingExamples": [dict(zip(names, r, strict=True)) for r in list(missing)[:MAX_EXAMPLES]],
                "UnexpectedExamples": [dict(zip(names, r, strict=True)) for r in list(unexpected)[:MAX_EXAMPLES]],
            }
        )
    return results


def _rows_at(conn: Connection, table: Table, position: int) -> Counter[tuple[Any, ...]]:
    columns = [c for c in table.c if c.name != "row_id"]
    valid_to = columns.index(table.c.valid_to)
    rows: Counter[tuple[Any, ...]] = Counter()
    for row in conn.execute(select(*columns).where(table.c.valid_from <= position)):
        values = list(row)
        if values[valid_to] is not None and values[valid_to] > position:
            values[valid_to] = None
        rows[tuple(values)] += 1
    return rows


def row_counts(conn: Connection) -> list[dict[str, Any]]:
    """Each view table's number of rows, and of current rows (``valid_to`` null)."""
    counts = []
    for table in view_tables():
        total, current = conn.execute(
            select(func.count(), func.count().filter(table.c.valid_to.is_(None))).select_from(table)
        ).one()
        counts.append({"Table": table.name, "Rows": int(total or 0), "CurrentRows": int(current or 0)})
    return counts
