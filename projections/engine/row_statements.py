"""The statements behind temporal rows: built once and cached, the clauses that select current rows, and the
plain driver path (a statement compiled once and run on the driver connection, without SQLAlchemy's per-execution
work) for hot writes on SQLite."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
)

_STATEMENTS: dict[Hashable, Any] = {}


def built_once(key: Hashable, build: Callable[[], Any]) -> Any:
    """The statement ``build`` makes, built once per ``key``: on a request's hot path building a statement (and its
    cache key) costs more than running it."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def current_by(table: Table, columns: tuple[str, ...], prefix: str = "") -> ColumnElement[bool]:
    """The current rows whose ``columns`` equal the bound parameters ``<prefix><column>``."""
    return and_(table.c.valid_to.is_(None), *(table.c[c] == bindparam(prefix + c) for c in columns))


BOOKKEEPING: Final = frozenset({"row_id", "valid_from", "valid_to"})
IN_CHUNK: Final = 500  # values per ``IN (...)`` of a bulk load


def driver_execute(conn: Connection, statement: str, rows: list[tuple[Any, ...]]) -> int:
    """Run a plain SQL ``statement`` (the driver's parameter style) once per row of ``rows`` on ``conn``'s driver
    connection, in ``conn``'s transaction (begun here if need be): for hot statements (compiled once, their values
    processed by the caller: :func:`plain_form`), without SQLAlchemy's per-execution work (which costs more than
    SQLite's). The rows changed."""
    if not conn.in_transaction():
        conn.begin()
    cursor = conn.connection.cursor()
    try:
        if len(rows) == 1:
            cursor.execute(statement, rows[0])
        else:
            cursor.executemany(statement, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def current_where(table: Table, where: dict[str, Any]) -> Any:
    return and_(table.c.valid_to.is_(None), *(table.c[k] == v for k, v in where.items()))


@dataclass(frozen=True)
class Plain:
    """A statement compiled once for :func:`driver_execute`: its SQL, the names of its parameters in order, and each
    one's bind processing (``None``: passed as it is), as SQLAlchemy's ``execute`` would apply it."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def row(self, values: dict[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters for ``values``."""
        return tuple(
            values[name] if process is None else process(values[name])
            for name, process in zip(self.names, self.processors, strict=True)
        )


_PLAIN: Final[dict[tuple[Hashable, str], Plain | None]] = {}


def plain_form(conn: Connection, key: Hashable, statement: Any, column_keys: tuple[str, ...] | None) -> Plain | None:
    """On SQLite, ``statement`` compiled once (for ``column_keys``, an insert's columns) for :func:`driver_execute`,
    when SQLAlchemy would pass each value to the driver as it is or through its type's bind processor (a timestamp
    written as text, say), and nothing is computed at execution. ``None`` otherwise."""
    dialect = conn.dialect
    if dialect.name != "sqlite":
        return None
    cache_key = (key, dialect.name)
    try:
        return _PLAIN[cache_key]
    except KeyError:
        pass
    compiled: Any = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
    computed = compiled.insert_prefetch or compiled.update_prefetch or compiled.postfetch
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[name] for name in names]
    literal = any(bind.value is not None and not bind.required for bind in binds)
    # each parameter's bind processing as execute() applies it: its type's, for this dialect
    processors = tuple(bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds)
    plain = (
        None
        if computed or literal or compiled.literal_execute_params or compiled.post_compile_params
        else Plain(compiled.string, names, processors)
    )
    _PLAIN[cache_key] = plain
    return plain
