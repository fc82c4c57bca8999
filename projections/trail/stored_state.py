"""The trail renderer's state kept in ``iamledger_trail_state``: the mappings :class:`Trail` reads and writes as
dicts, read through a cache and written back with each batch (see :mod:`iamledger.projections.trail.index`)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import (
    Connection,
    bindparam,
    select,
)

from iamledger.projections.engine.row_statements import driver_execute
from iamledger.projections.trail.material import _Certificate, _Device, _Keyring
from iamledger.projections.trail.records import (
    Resource,
    _Entity,
    _Fact,
    _Session,
    _UserSession,
)
from iamledger.projections.trail.tables import TRAIL_STATE, _entity_key

# -- the renderer's state, stored ---------------------------------------------------------------------------------

_READ_STATE: Final = select(TRAIL_STATE.c.value).where(
    TRAIL_STATE.c.kind == bindparam("kind"), TRAIL_STATE.c.key == bindparam("key")
)
"""One key's value: built once (a catch-up after a write reads a few keys, each a statement)."""

K = TypeVar("K")
V = TypeVar("V")


class StoredMap(Generic[K, V]):
    """One kind of the renderer's state: a mapping read through from ``iamledger_trail_state`` and written back by
    :meth:`flush` (in the batch's transaction). What was read or written stays cached for the catch-up's life."""

    def __init__(
        self,
        kind: str,
        key: Callable[[K], str],
        encode: Callable[[V], Any],
        decode: Callable[[Any], V],
        state: StoredState,
    ) -> None:
        self.kind = kind
        self._key = key
        self._encode = encode
        self._decode = decode
        self._state = state
        self._cache: dict[str, V | None] = {}
        self._dirty: set[str] = set()

    def get(self, key: K, default: V | None = None) -> V | None:
        text = self._key(key)
        if text in self._cache:
            found = self._cache[text]
        else:
            found = self._load(text)
            self._cache[text] = found
        return default if found is None else found

    def __getitem__(self, key: K) -> V:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: K) -> bool:
        return self.get(key) is not None

    def __setitem__(self, key: K, value: V) -> None:
        text = self._key(key)
        self._cache[text] = value
        self._dirty.add(text)

    def pop(self, key: K, default: V | None = None) -> V | None:
        found = self.get(key)
        text = self._key(key)
        self._cache[text] = None
        self._dirty.add(text)
        return default if found is None else found

    def _load(self, text: str) -> V | None:
        if self._state.empty or self._state.conn is None:
            return None
        row = self._state.conn.execute(_READ_STATE, {"kind": self.kind, "key": text}).first()
        return None if row is None else self._decode(json.loads(row[0]))

    def take_dirty(self) -> tuple[list[str], list[tuple[str, str, str]]]:
        """What :meth:`flush` writes: the keys changed since, and the rows of those that hold a value (the others
        were popped); forgotten as dirty."""
        keys = sorted(self._dirty)
        self._dirty.clear()
        rows = [
            (self.kind, key, json.dumps(self._encode(value), separators=(",", ":")))
            for key in keys
            if (value := self._cache[key]) is not None
        ]
        return keys, rows

    @property
    def cached(self) -> int:
        return len(self._cache)


class StoredState:
    """The renderer's state in ``iamledger_trail_state``: :class:`Trail` reads and writes it as it would its dicts."""

    def __init__(self, *, empty: bool = False) -> None:
        self.conn: Connection | None = None
        self.empty = empty
        """Whether the table is known to hold nothing (a rebuild): misses need no query then."""
        self.entities = StoredMap[uuid.UUID, _Entity]("entity", _uuid_key, dataclasses.asdict, _entity, self)
        self.names = StoredMap[tuple[str, str], set[uuid.UUID]](
            "name", "\x1f".join, lambda ids: sorted(i.hex for i in ids), lambda ids: {uuid.UUID(i) for i in ids}, self
        )
        self.user_ids = StoredMap[str, list[tuple[datetime, str]]]("user-id", str, _encode_user_ids, _user_ids, self)
        self.sessions = StoredMap[str, _Session]("session", str, _encode_session, _session, self)
        self.user_sessions = StoredMap[str, _UserSession](
            "user-session", str, _encode_user_session, _user_session, self
        )
        self.material = StoredMap[uuid.UUID, Any]("material", _uuid_key, _encode_material, _material, self)
        self.mfa_users = StoredMap[uuid.UUID, uuid.UUID]("mfa-user", _uuid_key, _uuid_key, uuid.UUID, self)
        self.pending = StoredMap[str, dict[str, list[_Fact]]]("pending", str, _encode_pending, _pending, self)
        """Bookkeeping not folded yet, by request id, under one key (:data:`PENDING`): a request whose events were
        saved out of call order may have its call's bookkeeping projected before the call (by an earlier batch or
        catch-up); it waits here for the call (see :meth:`TrailProjection._project`). Empty but for such a wait: one
        key, read once and kept with the rest of the state between catch-ups."""
        self._maps: tuple[StoredMap[Any, Any], ...] = (
            self.entities,
            self.names,
            self.user_ids,
            self.sessions,
            self.user_sessions,
            self.material,
            self.mfa_users,
            self.pending,
        )

    def flush(self, conn: Connection) -> None:
        """Write what changed since the last flush, in ``conn``'s transaction: each changed key deleted, then those
        with a value inserted (in a rebuild too: an earlier batch may have written the key). Two statements for all
        the kinds, on the driver: a catch-up after one write changes three or four keys, and SQLAlchemy's work per
        statement would cost more than the database's."""
        keys: list[tuple[str, str]] = []
        rows: list[tuple[str, str, str]] = []
        for stored in self._maps:
            changed, values = stored.take_dirty()
            keys += [(stored.kind, key) for key in changed]
            rows += values
        marker = "?" if conn.dialect.name == "sqlite" else "%s"
        table = TRAIL_STATE.name
        if keys:
            driver_execute(conn, f'DELETE FROM {table} WHERE "kind" = {marker} AND "key" = {marker}', keys)
        if rows:
            driver_execute(
                conn, f'INSERT INTO {table} ("kind", "key", "value") VALUES ({marker}, {marker}, {marker})', rows
            )

    @property
    def cached(self) -> int:
        """How many keys are cached (read or written) in all."""
        return sum(stored.cached for stored in self._maps)


PENDING: Final = "requests"
"""The one key of :attr:`StoredState.pending`."""


def _encode_pending(pending: dict[str, list[_Fact]]) -> dict[str, list[dict[str, Any]]]:
    """What a waiting bookkeeping fact brings to its call's record (:meth:`Trail._record`), and what folds it in."""
    return {
        request_id: [
            {
                "position": fact.position,
                "operation": fact.operation,
                "joins": list(fact.joins),
                "resources": [[r.type, r.name, sorted(r.aliases)] for r in fact.resources],
                "entities": sorted(_entity_key(e) for e in fact.entities),
                "keys": sorted(fact.key_ids),
            }
            for fact in facts
        ]
        for request_id, facts in pending.items()
    }


def _pending(data: dict[str, list[dict[str, Any]]]) -> dict[str, list[_Fact]]:
    return {
        request_id: [
            _Fact(
                fact["position"],
                None,  # only a call's first fact's event is rendered: bookkeeping never opens a call
                fact["operation"],
                primary=False,
                joins=tuple(fact["joins"]),
                resources=[Resource(t, name, frozenset(aliases)) for t, name, aliases in fact["resources"]],
                entities={uuid.UUID(e) for e in fact["entities"]},
                key_ids=set(fact["keys"]),
            )
            for fact in facts
        ]
        for request_id, facts in data.items()
    }


def _uuid_key(value: uuid.UUID) -> str:
    return value.hex


def _entity(data: dict[str, Any]) -> _Entity:
    return _Entity(**data)


def _encode_user_ids(ids: list[tuple[datetime, str]]) -> list[list[str]]:
    return [[since.isoformat(), unique_id] for since, unique_id in ids]


def _user_ids(data: list[list[str]]) -> list[tuple[datetime, str]]:
    return [(datetime.fromisoformat(since), unique_id) for since, unique_id in data]


def _encode_session(session: _Session) -> dict[str, Any]:
    return dataclasses.asdict(session) | {"issued_at": session.issued_at.isoformat()}


def _session(data: dict[str, Any]) -> _Session:
    return _Session(**(data | {"issued_at": datetime.fromisoformat(data["issued_at"])}))


def _encode_user_session(session: _UserSession) -> dict[str, Any]:
    return {"principal_arn": session.principal_arn, "created": session.created.isoformat(), "mfa": session.mfa}


def _user_session(data: dict[str, Any]) -> _UserSession:
    return _UserSession(data["principal_arn"], datetime.fromisoformat(data["created"]), data["mfa"])


_MATERIAL: Final = {"device": _Device, "keyring": _Keyring, "certificate": _Certificate}


def _encode_material(value: Any) -> dict[str, Any]:
    kind = next(name for name, klass in _MATERIAL.items() if isinstance(value, klass))
    data = dataclasses.asdict(value)
    if isinstance(value, _Keyring):
        data["user_uuid"] = value.user_uuid.hex
    return {"kind": kind, **data}


def _material(data: dict[str, Any]) -> Any:
    fields = dict(data)
    klass = _MATERIAL[fields.pop("kind")]
    if klass is _Keyring:
        fields["user_uuid"] = uuid.UUID(fields["user_uuid"])
    return klass(**fields)
