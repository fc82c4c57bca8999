"""Temporal rows: writing them (open a row at a position, close rows at a position, replace a current row) and
reading them as of a position.

Reads select rows with :func:`live`, which means "current" (``valid_to IS NULL``) unless a read position is bound
with :func:`reading_at`; then it means "true at that position" (``valid_from <= P AND (valid_to IS NULL OR valid_to >
P)``). Every read function of the views therefore answers as of any position without a second copy of its query.
Writes (the projector's handlers) always work on current rows: :func:`reading_now` unbinds the position around them.

**Batches.** Inside :func:`batched` (the projector's dispatch of a batch of events) the write functions below and
:func:`current_row` / :func:`current_rows` work on an in-memory copy of the current rows they touch instead of
issuing SQL for each call: rows are loaded once (in bulk with :func:`prefetch`, else on first use by their key),
opened, closed and replaced in memory, and written when the batch ends with one ``executemany`` per table (inserts
of the new rows, with their final ``valid_to``; updates of the closed stored rows by ``row_id``). The result is
exactly that of applying the events one by one: rows opened at position p have ``valid_from = p``, closed at q have
``valid_to = q``, later events see the effects of earlier ones, and new rows are inserted in the order they were
opened (so ``row_id`` order is unchanged). Code in a batch must not read or write the view tables with its own SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from sys import intern
from typing import Any, Final

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    CursorResult,
    Dialect,
    Executable,
    Table,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)

_read_position: ContextVar[int | None] = ContextVar("iamledger_read_position", default=None)
_writes: dict[str, int] = {}


def writes_to(table: Table) -> int:
    """How many times this process has asked to change rows of ``table`` (open, close or replace; a rolled-back
    change counts too): equal counts before and after some work mean it did not touch the table."""
    return _writes.get(table.name, 0)


def _count_write(table: Table) -> None:
    _writes[table.name] = _writes.get(table.name, 0) + 1


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
_STATEMENTS: dict[Hashable, Any] = {}


def _once(key: Hashable, build: Callable[[], Any]) -> Any:
    """The statement ``build`` makes, built once per ``key``: on a request's hot path building a statement (and its
    cache key) costs more than running it."""
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build()
    return statement


def _current_by(table: Table, columns: tuple[str, ...], prefix: str = "") -> ColumnElement[bool]:
    """The current rows whose ``columns`` equal the bound parameters ``<prefix><column>``."""
    return and_(table.c.valid_to.is_(None), *(table.c[c] == bindparam(prefix + c) for c in columns))


def execute_prepared(
    conn: Connection, key: Hashable, build: Callable[[], Executable], **values: Any
) -> CursorResult[Any]:
    """Run the statement ``build`` makes, built once per ``key`` (and per read mode: current, or at a position): a
    view read on a request's hot path costs less to run than to build. ``build`` writes each value as
    ``bindparam(name)`` and reads rows with :func:`live`; ``values`` are the parameters, to which the bound read
    position is added."""
    position = _read_position.get()
    statement = _once(("prepared", key, position is not None), build)
    if position is not None:
        values[READ_POSITION] = position
    return conn.execute(statement, values)


_BOOKKEEPING: Final = frozenset({"row_id", "valid_from", "valid_to"})
_CHUNK: Final = 500  # values per ``IN (...)`` of a bulk load


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


def _current(table: Table, where: dict[str, Any]) -> Any:
    return and_(table.c.valid_to.is_(None), *(table.c[k] == v for k, v in where.items()))


def open_row(conn: Connection, table: Table, position: int, **values: Any) -> None:
    """Insert a row that is true from ``position`` on."""
    _count_write(table)
    batch = _active(conn)
    if batch is not None:
        batch.table(table).open(position, values)
        return
    params = {**values, "valid_from": position, "valid_to": None}
    statement = _once(("open", table), lambda: insert(table))
    plain = plain_form(conn, ("open", table, tuple(params)), statement, tuple(params))
    if plain is not None:
        driver_execute(conn, plain.sql, [plain.row(params)])
        return
    conn.execute(statement, params)


def close_rows(conn: Connection, table: Table, position: int, **where: Any) -> int:
    """End, at ``position``, every current row matching ``where``; returns how many were ended."""
    _count_write(table)
    batch = _active(conn)
    if batch is not None:
        return batch.table(table).close(position, where)
    if None in where.values():  # ``= NULL`` never matches: ``_current`` writes ``IS NULL``
        result = conn.execute(update(table).where(_current(table, where)).values(valid_to=position))
    else:
        # parameters ``where_<column>``: in an update, a parameter named after a column would also set it
        columns = tuple(where)
        statement = _once(
            ("close", table, columns),
            lambda: (
                update(table)
                .where(_current_by(table, columns, "where_"))
                .values(valid_to=bindparam("closing_position"))
            ),
        )
        values = {f"where_{c}": v for c, v in where.items()}
        values["closing_position"] = position
        plain = plain_form(conn, ("close", table, columns), statement, None)
        if plain is not None:
            return driver_execute(conn, plain.sql, [plain.row(values)])
        result = conn.execute(statement, values)
    return int(result.rowcount)


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


def current_row(conn: Connection, table: Table, **where: Any) -> dict[str, Any] | None:
    """The current row matching ``where``, as a dict without its bookkeeping columns."""
    batch = _active(conn)
    if batch is not None:
        table_batch = batch.table(table)
        rows = table_batch.current(where)
        return table_batch.as_dict(rows[0]) if rows else None
    if None in where.values():  # ``= NULL`` never matches: ``_current`` writes ``IS NULL``
        row = conn.execute(select(table).where(_current(table, where))).mappings().first()
    else:
        columns = tuple(where)
        statement = _once(("current", table, columns), lambda: select(table).where(_current_by(table, columns)))
        row = conn.execute(statement, where).mappings().first()
    if row is None:
        return None
    return {k: v for k, v in row.items() if k not in _BOOKKEEPING}


def current_rows(conn: Connection, table: Table, **where: Any) -> list[dict[str, Any]]:
    """Every current row matching ``where``, oldest first (``row_id`` order), without the bookkeeping columns."""
    batch = _active(conn)
    if batch is not None:
        table_batch = batch.table(table)
        return [table_batch.as_dict(r) for r in table_batch.current(where)]
    if None in where.values():  # ``= NULL`` never matches: ``_current`` writes ``IS NULL``
        result = conn.execute(select(table).where(_current(table, where)).order_by(table.c.row_id))
    else:
        columns = tuple(where)
        statement = _once(
            ("current_rows", table, columns),
            lambda: select(table).where(_current_by(table, columns)).order_by(table.c.row_id),
        )
        result = conn.execute(statement, where)
    return [{k: v for k, v in r.items() if k not in _BOOKKEEPING} for r in result.mappings()]


def replace_row(conn: Connection, table: Table, position: int, key: dict[str, Any], **changes: Any) -> None:
    """End the current row matching ``key`` at ``position`` and open its successor with ``changes`` applied."""
    _count_write(table)
    batch = _active(conn)
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
    batch = _active(conn)
    if batch is None:
        return []
    table_batch = batch.table(table)
    return [table_batch.as_dict(r) for r in table_batch.known(where)]


def prefetch(conn: Connection, table: Table, column: str, values: Iterable[Any]) -> None:
    """Load, in bulk, the current rows of ``table`` whose ``column`` is one of ``values`` into the active batch (a
    no-op outside a batch), so that later reads and writes by that key need no query."""
    batch = _active(conn)
    if batch is not None:
        batch.table(table).load_many(column, values)


def batch_memo(conn: Connection) -> dict[Any, Any] | None:
    """A scratch dict that lives as long as the active batch (``None`` outside a batch), for facts that cannot
    change within it (the account of an entity)."""
    batch = _active(conn)
    return None if batch is None else batch.memo


# -- batches ---------------------------------------------------------------------------------------------------


class _Row:
    """A row the batch holds: a stored one (``row_id`` set) or a new one (``seq`` set).

    Each table has its own subclass (:func:`_row_class`) with a slot per column (``c0``, ``c1``, ... in the order of
    the table's columns, bookkeeping columns aside), built as ``cls(*values, row_id, seq, valid_from, valid_to)``;
    ``values`` is the tuple of them. A bulk load holds every current row of every view: one object with slots
    takes a third of the memory of a dict, and less than a tuple beside a row object."""

    __slots__ = ("row_id", "seq", "valid_from", "valid_to")

    row_id: int | None
    seq: int
    valid_from: int
    valid_to: int | None

    @property
    def values(self) -> tuple[Any, ...]:  # pragma: no cover - each table's class defines it
        raise NotImplementedError

    def order(self) -> tuple[int, int]:
        return (0, self.row_id) if self.row_id is not None else (1, self.seq)


RowFactory = Callable[..., _Row]


def _row_class(table: Table, width: int) -> RowFactory:
    """The row class of a table of ``width`` columns (bookkeeping aside): slots ``c0`` ... and an ``__init__`` that
    sets them positionally (generated: a loop of ``setattr`` would cost the bulk load a tenth of its speed)."""
    slots = [f"c{i}" for i in range(width)]
    arguments = ", ".join([*slots, "row_id", "seq", "valid_from", "valid_to"])
    body = "".join(f"    self.{name} = {name}\n" for name in [*slots, "row_id", "seq", "valid_from", "valid_to"])
    namespace: dict[str, Any] = {}
    exec(f"def __init__(self, {arguments}):\n{body}", namespace)  # noqa: S102 - the names are ours, not input
    values = attrgetter(*slots) if width != 1 else (lambda row: (row.c0,))
    attributes = {"__slots__": tuple(slots), "__init__": namespace["__init__"], "values": property(values)}
    factory: RowFactory = type(f"_Row_{table.name}", (_Row,), attributes)
    return factory


class _Params:
    """Turns the parameter dicts of one statement into what the driver takes: the columns' bind processors applied,
    and a tuple in the statement's order when the dialect's parameters are positional."""

    def __init__(self, processors: list[tuple[str, Any]], order: list[str] | None) -> None:
        self.processors = processors
        self.order = order
        if order is None:
            self.getter: Callable[[dict[str, Any]], Any] | None = None
            self.at: list[tuple[int, Any]] = []
        else:
            self.getter = _getter(tuple(order)) if len(order) != 1 else (lambda row, name=order[0]: (row[name],))
            processing = dict(processors)
            self.at = [(i, processing[name]) for i, name in enumerate(order) if name in processing]

    def __call__(self, rows: list[dict[str, Any]]) -> list[Any]:
        getter = self.getter
        if getter is None:
            for row in rows:
                for name, processor in self.processors:
                    if name in row:
                        row[name] = processor(row[name])
            return rows
        at = self.at
        if not at:
            return [getter(row) for row in rows]
        processed = []
        for row in rows:
            values = list(getter(row))
            for i, processor in at:
                values[i] = processor(values[i])
            processed.append(tuple(values))
        return processed


class _Statements:
    """The driver-level INSERT and UPDATE of one table on one dialect, with the columns' bind processors: a batch
    writes its rows with the driver's ``executemany`` directly (the same SQL and values SQLAlchemy would send)."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        columns = [c for c in table.c if c.name != "row_id"]
        processors = ((c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in columns)
        self.processors = [(name, processor) for name, processor in processors if processor is not None]
        inserting = insert(table).compile(dialect=dialect, column_keys=[c.name for c in columns])
        self.insert_sql = str(inserting)
        self.insert_params = _Params(
            self.processors, list(inserting.positiontup or ()) if inserting.positional else None
        )
        every = [c.name for c in table.c]
        bulk = insert(table).compile(dialect=dialect, column_keys=every)
        self.bulk_insert_sql = str(bulk)
        self.bulk_insert_params = _Params(self.processors, list(bulk.positiontup or ()) if bulk.positional else None)
        # the driver's tuples built straight from the rows when the statement takes the columns in table order
        self.bulk_tuples = bool(bulk.positional) and list(bulk.positiontup or ()) == every
        # a bulk row's tuple: (row_id, *values in column order, valid_from, valid_to) when that is the table's order
        kept = [name for name in every if name not in _BOOKKEEPING]
        self.bulk_tuples = self.bulk_tuples and every == ["row_id", *kept, "valid_from", "valid_to"]
        processing = dict(self.processors)
        self.bulk_processors = [(i, processing[name]) for i, name in enumerate(every) if name in processing]
        closing = update(table).where(table.c.row_id == bindparam("b_row_id")).values(valid_to=bindparam("b_to"))
        compiled = closing.compile(dialect=dialect)
        self.update_sql = str(compiled)
        self.update_params = _Params(self.processors, list(compiled.positiontup or ()) if compiled.positional else None)


def _statements(table: Table, dialect: Dialect) -> _Statements:
    found: _Statements = _once(
        ("batch", table, dialect.name, str(dialect.paramstyle)), lambda: _Statements(table, dialect)
    )
    return found


Getter = Callable[[Any], Any]
Bucket = Any  # the rows of an index under one key: the row itself when it is the only one (most keys), else a list


_WRITTEN: Final = -1  # the ``row_id`` of a bulk load's row once written (the table's own ids start at 1)
_WRITE_CHUNK: Final = 20_000  # rows per ``executemany`` of a bulk load's final write
_UNSHARED: Final = frozenset({"session_token_digest", "description", "fingerprint"})


def _seq(row: _Row) -> int:
    return row.seq


def _shared(column: str) -> bool:
    """Whether a column's strings are worth interning in a bulk load: account ids, uuids, ARNs, names, paths,
    documents, statuses, tag keys and values recur across rows and tables; the ``..._id`` columns (AIDA...,
    AKIA...) and digests are unique to their row."""
    return column == "account_id" or not (column.endswith("_id") or column in _UNSHARED)


def _put(index: dict[Any, Bucket], key: Any, row: _Row) -> None:
    """Add ``row`` under ``key``: a key of one row holds the row itself (a list per key would be a third of a bulk
    load's memory), a key of several a list."""
    bucket = index.get(key)
    if bucket is None:
        index[key] = row
    elif bucket.__class__ is not list:
        index[key] = [bucket, row]
    else:
        bucket.append(row)


def _no_columns(_values: dict[str, Any]) -> tuple[()]:
    return ()


def _getter(signature: tuple[str, ...]) -> Getter:
    """The key of a row (or a ``where``) under ``signature``: the value itself for one column, a tuple for more."""
    return itemgetter(*signature) if signature else _no_columns


class _TableBatch:
    """The rows of one table that a batch has loaded or opened, with the keys it has loaded completely.

    Rows are found through indexes by a sorted tuple of column names (a signature); the key of a row under a
    signature is the value of its one column, or the tuple of the values of its columns. A signature has two key
    functions: one for a ``where`` dict (by name) and one for a row's values tuple (by index)."""

    def __init__(self, conn: Connection, table: Table, bulk: bool = False) -> None:
        self.conn = conn
        self.table = table
        self.bulk = bulk  # every current row of the table is in memory (a bulk load from empty tables)
        self.next_id = 1  # in a bulk load: the row_id of the next row opened
        # in a bulk load: the rows opened and not written yet (in opening order; written ones, marked ``_WRITTEN``,
        # are dropped from the list once they are half of it: a list costs a tenth of the memory of a dict)
        self.live: list[_Row] = []
        self.written = 0  # rows of ``live`` written since it was last compacted
        self.finished: list[_Row] = []  # in a bulk load: the rows closed since the last write
        self.stored: dict[int, _Row] = {}  # loaded rows by row_id
        self.new: list[_Row] = []  # opened in this batch, in order
        self.closed: list[_Row] = []  # stored rows closed in this batch
        self.loaded: dict[tuple[str, ...], tuple[Getter, set[Any]]] = {}  # the keys loaded completely
        self.indexes: dict[tuple[str, ...], dict[Any, Bucket]] = {}
        self.adders: list[tuple[Getter, dict[Any, Bucket]]] = []  # the indexes, with their row key functions
        # where's keys -> signature, key of a where, key of a row
        self.shapes: dict[tuple[str, ...], tuple[tuple[str, ...], Getter, Getter]] = {}
        self.columns = tuple(c.name for c in table.c if c.name not in _BOOKKEEPING)
        # the columns whose strings are interned: those many rows share (not the unique ids and digests)
        self.interned = tuple(_shared(name) for name in self.columns)
        self.at = {name: i for i, name in enumerate(self.columns)}
        self.row = _row_class(table, len(self.columns))
        self.defaults = tuple(
            getattr(c.default, "arg", None) if getattr(c.default, "is_scalar", False) else None
            for c in table.c
            if c.name not in _BOOKKEEPING
        )

    # memory

    def as_dict(self, row: _Row) -> dict[str, Any]:
        """A row's values by column name (a new dict: the caller may change it)."""
        return dict(zip(self.columns, row.values, strict=True))

    def _shape(self, where: dict[str, Any]) -> tuple[tuple[str, ...], Getter, Getter]:
        names = tuple(where)
        shape = self.shapes.get(names)
        if shape is None:
            signature = tuple(sorted(names))
            at = self.at
            slots = [f"c{at[name]}" for name in signature]
            of_row: Getter = attrgetter(*slots) if slots else _no_columns
            shape = self.shapes[names] = (signature, _getter(signature), of_row)
        return shape

    def _add(self, row: _Row) -> None:
        for getter, index in self.adders:
            _put(index, getter(row), row)

    def _index(self, signature: tuple[str, ...], getter: Getter) -> dict[Any, Bucket]:
        index = self.indexes.get(signature)
        if index is None:
            index = {}
            for row in [*self.stored.values(), *self.new, *(r for r in self.live if r.row_id is None)]:
                _put(index, getter(row), row)
            self.indexes[signature] = index
            self.adders.append((getter, index))
        return index

    def _complete(self, where: dict[str, Any]) -> bool:
        for getter, keys in self.loaded.values():
            try:
                if getter(where) in keys:
                    return True
            except KeyError:  # the loaded signature has a column ``where`` does not constrain
                continue
        return False

    def _take(self, result: Any) -> None:
        names = list(result.keys())
        row_at, from_at = names.index("row_id"), names.index("valid_from")
        at = [names.index(n) for n in self.columns]
        values_of: Callable[[Any], Any] = itemgetter(*at) if len(at) != 1 else (lambda record: (record[at[0]],))
        stored = self.stored
        for record in result.all():
            row_id = int(record[row_at])
            if row_id in stored:
                continue  # already known (and maybe closed in this batch): memory is newer
            row = self.row(*values_of(record), row_id, 0, int(record[from_at]), None)
            stored[row_id] = row
            self._add(row)

    # loading

    def load(self, where: dict[str, Any]) -> None:
        signature, getter, _ = self._shape(where)
        self._take(self.conn.execute(select(self.table).where(_current(self.table, where))))
        self.loaded.setdefault(signature, (getter, set()))[1].add(getter(where))

    def load_many(self, column: str, values: Iterable[Any]) -> None:
        if self.bulk:
            return
        whole = self.loaded.get(())
        if whole is not None and () in whole[1]:
            return  # the whole table is loaded
        done = self.loaded.setdefault((column,), (itemgetter(column), set()))[1]
        wanted = list(dict.fromkeys(v for v in values if v not in done))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = select(self.table).where(self.table.c.valid_to.is_(None), self.table.c[column].in_(chunk))
            self._take(self.conn.execute(query))
        done.update(wanted)

    def known(self, where: dict[str, Any]) -> list[_Row]:
        signature, getter, of_row = self._shape(where)
        found = self._index(signature, of_row).get(getter(where))
        if found is None:
            return []
        return found if found.__class__ is list else [found]

    def current(self, where: dict[str, Any]) -> list[_Row]:
        if not self.bulk and not self._complete(where):
            self.load(where)
        rows = [r for r in self.known(where) if r.valid_to is None]
        if len(rows) > 1:
            rows.sort(key=_Row.order)
        return rows

    # writing

    def open(self, position: int, values: dict[str, Any]) -> None:
        # columns the table does not have are ignored; strings are interned: the same ARN, id, name or document in
        # many rows (each decoded from its own event) is held once
        full = [
            intern(value) if (value := values.get(c, default)).__class__ is str and shared else value
            for c, default, shared in zip(self.columns, self.defaults, self.interned, strict=True)
        ]
        if self.bulk:
            row = self.row(*full, None, self.next_id, position, None)
            self.live.append(row)
            self.next_id += 1
        else:
            row = self.row(*full, None, len(self.new), position, None)
            self.new.append(row)
        self._add(row)

    def close(self, position: int, where: dict[str, Any]) -> int:
        rows = self.current(where)
        self.end(rows, position)
        return len(rows)

    def end(self, rows: list[_Row], position: int) -> None:
        for row in rows:
            row.valid_to = position
            if row.row_id is not None:
                self.closed.append(row)
            elif self.bulk:
                self.finished.append(row)

    def flush(self) -> None:
        statements = _statements(self.table, self.conn.dialect)
        if self.closed:
            closes = [{"b_row_id": r.row_id, "b_to": r.valid_to} for r in self.closed]
            self.conn.exec_driver_sql(statements.update_sql, statements.update_params(closes))
        if self.new:
            columns = self.columns
            rows = [
                dict(zip(columns, r.values, strict=True), valid_from=r.valid_from, valid_to=r.valid_to)
                for r in self.new
            ]
            self.conn.exec_driver_sql(statements.insert_sql, statements.insert_params(rows))

    def flush_bulk(self, final: bool) -> None:
        """In a bulk load: write the rows closed so far (once, with their final ``valid_to``) and forget them; with
        ``final``, the current rows too. Rows get the ``row_id`` of their opening order, as a plain load gives."""
        if final:
            rows = [*self.finished, *(r for r in self.live if r.row_id is None and r.valid_to is None)]
            rows.sort(key=_seq)
            self.finished, self.live = [], []
            self.indexes.clear()  # nothing is looked up any more: each chunk's rows are freed once written
            self.adders.clear()
            for start in range(0, len(rows), _WRITE_CHUNK):
                chunk = rows[start : start + _WRITE_CHUNK]
                rows[start : start + _WRITE_CHUNK] = [None] * len(chunk)  # type: ignore[list-item]
                self._write_bulk(chunk)
            return
        rows, self.finished = self.finished, []
        if not rows:
            return
        rows.sort(key=_seq)  # closed in event order: written in row id order
        self._forget(rows)
        self._write_bulk(rows)

    def _forget(self, rows: list[_Row]) -> None:
        """Drop rows (closed, being written) from the memory of a bulk load."""
        for row in rows:
            row.row_id = _WRITTEN
        self.written += len(rows)
        if self.written * 2 > len(self.live):
            self.live = [r for r in self.live if r.row_id is None]
            self.written = 0
        for getter, index in self.adders:
            for row in rows:
                key = getter(row)
                bucket = index[key]
                if bucket is row:
                    del index[key]
                else:
                    bucket.remove(row)
                    if len(bucket) == 1:
                        index[key] = bucket[0]

    def _write_bulk(self, rows: list[_Row]) -> None:
        """Insert rows of a bulk load, with their row ids and final ``valid_to``."""
        statements = _statements(self.table, self.conn.dialect)
        if not statements.bulk_tuples:
            columns = self.columns
            values = [
                dict(zip(columns, r.values, strict=True), row_id=r.seq, valid_from=r.valid_from, valid_to=r.valid_to)
                for r in rows
            ]
            self.conn.exec_driver_sql(statements.bulk_insert_sql, statements.bulk_insert_params(values))
            return
        processors = statements.bulk_processors
        tuples: list[Any] = [(r.seq, *r.values, r.valid_from, r.valid_to) for r in rows]
        if processors:
            for n, row in enumerate(tuples):
                listed = list(row)
                for i, processor in processors:
                    listed[i] = processor(listed[i])
                tuples[n] = tuple(listed)
        self.conn.exec_driver_sql(statements.bulk_insert_sql, tuples)


class _Batch:
    def __init__(self, conn: Connection, bulk: bool = False) -> None:
        self.conn = conn
        self.bulk = bulk
        self.tables: dict[Table, _TableBatch] = {}
        self.memo: dict[Any, Any] = {}

    def table(self, table: Table) -> _TableBatch:
        found = self.tables.get(table)
        if found is None:
            found = self.tables[table] = _TableBatch(self.conn, table, self.bulk)
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


def _active(conn: Connection) -> _Batch | None:
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
    batch = _active(conn)
    return batch is not None and batch.bulk


def bulk_checkpoint(conn: Connection) -> None:
    """Inside :func:`bulk_loading`: write the rows closed so far (they are final); the caller commits."""
    batch = _active(conn)
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
    batch = _active(conn)
    if batch is None:
        yield
        return
    batch.flush()
    token = _batch.set(None)
    try:
        yield
    finally:
        _batch.reset(token)
