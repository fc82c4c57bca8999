"""The rows of one table a batch holds in memory (:class:`TableBatch`): the row objects, their indexes by key, and
the driver-level statements that write them when the batch ends or a bulk load checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter, itemgetter
from sys import intern
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Dialect,
    Table,
    bindparam,
    insert,
    select,
    update,
)

from iamledger.projections.engine.row_statements import BOOKKEEPING, IN_CHUNK, built_once, current_where


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
        kept = [name for name in every if name not in BOOKKEEPING]
        self.bulk_tuples = self.bulk_tuples and every == ["row_id", *kept, "valid_from", "valid_to"]
        processing = dict(self.processors)
        self.bulk_processors = [(i, processing[name]) for i, name in enumerate(every) if name in processing]
        closing = update(table).where(table.c.row_id == bindparam("b_row_id")).values(valid_to=bindparam("b_to"))
        compiled = closing.compile(dialect=dialect)
        self.update_sql = str(compiled)
        self.update_params = _Params(self.processors, list(compiled.positiontup or ()) if compiled.positional else None)


def _statements(table: Table, dialect: Dialect) -> _Statements:
    found: _Statements = built_once(
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


class TableBatch:
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
        self.columns = tuple(c.name for c in table.c if c.name not in BOOKKEEPING)
        # the columns whose strings are interned: those many rows share (not the unique ids and digests)
        self.interned = tuple(_shared(name) for name in self.columns)
        self.at = {name: i for i, name in enumerate(self.columns)}
        self.row = _row_class(table, len(self.columns))
        self.defaults = tuple(
            getattr(c.default, "arg", None) if getattr(c.default, "is_scalar", False) else None
            for c in table.c
            if c.name not in BOOKKEEPING
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
        self._take(self.conn.execute(select(self.table).where(current_where(self.table, where))))
        self.loaded.setdefault(signature, (getter, set()))[1].add(getter(where))

    def load_many(self, column: str, values: Iterable[Any]) -> None:
        if self.bulk:
            return
        whole = self.loaded.get(())
        if whole is not None and () in whole[1]:
            return  # the whole table is loaded
        done = self.loaded.setdefault((column,), (itemgetter(column), set()))[1]
        wanted = list(dict.fromkeys(v for v in values if v not in done))
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
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
