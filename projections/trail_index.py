"""The audit trail as a projection: each CloudTrail record written once, when its events are projected, and indexed
by what ``LookupEvents`` and the history of an entity look for.

The records are rendered by the same code the replay used (:class:`~iamledger.projections.trail_render.Trail`),
which needs to know, for each event, what came before it: which entity an id names, the ids a name has had, the
sessions behind temporary keys, the MFA devices and certificates. That state is kept in a table of its own
(``iamledger_trail_state``), read through a cache while a batch is projected and written with the batch, so a
process that catches the trail up reads only the state the new events touch, never the log before them.

Three tables:

* ``iamledger_trail_records``: one row per record (per call, refused attempt or failed sign-in): the rendered
  CloudTrail record as JSON, what the lookup shape needs besides (the user name, the resources), and the key that
  orders records (the event time, the log it came from, the position in that log).
* ``iamledger_trail_index``: one row per (account, lookup attribute, value) of each record, carrying the order key,
  so that a page of any lookup is one range of one index read newest first (keyset pagination), and each further
  attribute is one probe of the same index.
* ``iamledger_trail_state``: the renderer's state (above).

Two tracking rows say how far the trail has read: the identity log's position and the security log's. A catch-up
moves each only from the value it read, in the transaction that writes the batch's rows, as the views' projector does,
so two processes catching up at once never write a record twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Generic, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    delete,
    exists,
    func,
    insert,
    select,
    tuple_,
    update,
)

from iamledger.domain.arns import policy_arn_parts
from iamledger.projections.tables import TRACKING
from iamledger.projections.temporal import driver_execute
from iamledger.projections.trail_material import _Certificate, _Device, _Keyring
from iamledger.projections.trail_records import (
    POSITION_KEY,
    RESOURCE_TYPES,
    Resource,
    TrailRecord,
    _Entity,
    _Fact,
    _joins,
    _Session,
    _UserSession,
)
from iamledger.projections.trail_render import Trail

trail_metadata = MetaData()
"""The trail's tables: not views (no validity intervals), rebuilt by :meth:`TrailProjection.rebuild`."""

IDENTITY_LOG: Final = 0
SECURITY_LOG: Final = 1
IDENTITY_TRACKING: Final = "audit_trail"
SECURITY_TRACKING: Final = "audit_trail_security"
BATCH: Final = 2000
LOOKAHEAD: Final = 200
COMPRESSION: Final = 1  # zlib's fastest level: most of the size won for a fraction of the time
MAX_VALUE: Final = 2048
"""Index values longer than this are not indexed: ``LookupEvents`` values are at most 2,000 characters."""
ALL: Final = "*"
"""The pseudo-attribute every record has (the unfiltered lookup's index)."""
ENTITY: Final = "Entity"
"""An entity a record touched, by its aggregate id (the history of an entity follows it across renames)."""
ACTOR: Final = "Actor"
"""Who acted: an IAM user's ARN, or the role ARN behind a role session."""
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND: Final = timedelta(microseconds=1)

TRAIL_RECORDS: Final = Table(
    "iamledger_trail_records",
    trail_metadata,
    Column("log", SmallInteger, primary_key=True),  # 0: the identity log, 1: the security log
    Column("position", BigInteger, primary_key=True),  # the call's first primary event, or the incident's
    Column("at", BigInteger, nullable=False),  # the event's time, microseconds since the epoch (UTC)
    Column("request_id", String(128)),
    Column("event_name", String(128), nullable=False),
    # The record (CloudTrail's JSON) and what lookups show and filter besides, as zlib-compressed JSON: rendered
    # once, read back as it was (about a quarter of the JSON's size).
    Column("body", LargeBinary, nullable=False),
)
Index("ix_iamledger_trail_records_request", TRAIL_RECORDS.c.request_id)

TRAIL_INDEX: Final = Table(
    "iamledger_trail_index",
    trail_metadata,
    Column("account_id", String(32), primary_key=True),
    Column("attribute", String(16), primary_key=True),
    Column("value", String(MAX_VALUE), primary_key=True),
    Column("at", BigInteger, primary_key=True),
    Column("log", SmallInteger, primary_key=True),
    Column("position", BigInteger, primary_key=True),
    sqlite_with_rowid=False,  # the primary key is the whole row: the table is its own index, stored once
)

TRAIL_STATE: Final = Table(
    "iamledger_trail_state",
    trail_metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(600), primary_key=True),
    Column("value", Text, nullable=False),
)


# -- the renderer's state, stored ---------------------------------------------------------------------------------

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
        self._kind = kind
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
        row = self._state.conn.execute(
            select(TRAIL_STATE.c.value).where(TRAIL_STATE.c.kind == self._kind, TRAIL_STATE.c.key == text)
        ).first()
        return None if row is None else self._decode(json.loads(row[0]))

    def flush(self, conn: Connection) -> None:
        if not self._dirty:
            return
        keys = sorted(self._dirty)
        for chunk in _chunks(keys, 500):  # (in a rebuild too: an earlier batch may have written the key)
            conn.execute(delete(TRAIL_STATE).where(TRAIL_STATE.c.kind == self._kind, TRAIL_STATE.c.key.in_(chunk)))
        rows = [
            {"kind": self._kind, "key": key, "value": json.dumps(self._encode(value), separators=(",", ":"))}
            for key in keys
            if (value := self._cache[key]) is not None
        ]
        if rows:
            conn.execute(insert(TRAIL_STATE), rows)
        self._dirty.clear()


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
        self._maps: tuple[StoredMap[Any, Any], ...] = (
            self.entities,
            self.names,
            self.user_ids,
            self.sessions,
            self.user_sessions,
            self.material,
            self.mfa_users,
        )

    def flush(self, conn: Connection) -> None:
        for stored in self._maps:
            stored.flush(conn)


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


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- records as rows ----------------------------------------------------------------------------------------------


def micros(moment: datetime) -> int:
    """A time as the trail orders it: microseconds since the epoch."""
    return (moment - EPOCH) // MICROSECOND


def _entity_key(entity: uuid.UUID | str) -> str:
    """An entity id as indexed (some events name an entity by its id as text)."""
    return entity.hex if isinstance(entity, uuid.UUID) else uuid.UUID(str(entity)).hex


def _body(record: TrailRecord) -> bytes:
    data = {
        "record": record.record,
        "time": record.time.isoformat(),
        "username": record.username,
        "resources": [[r.type, r.name, sorted(r.aliases)] for r in record.resources],
        "keys": sorted(record.access_key_ids),
        "entities": sorted(_entity_key(e) for e in record.entities),
        "accounts": sorted(record.accounts),
    }
    # ASCII JSON: a refused request's parameters may hold text no encoding takes (a lone surrogate), kept escaped
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), COMPRESSION)


def record_of_row(log: int, position: int, body: bytes) -> TrailRecord:
    """A stored record as the :class:`TrailRecord` the replay would have built."""
    data = json.loads(zlib.decompress(body))
    time = datetime.fromisoformat(data["time"])
    return TrailRecord(
        record=data["record"],
        time=time,
        order=(time, log, position),
        username=data["username"],
        resources=[Resource(t, name, frozenset(aliases)) for t, name, aliases in data["resources"]],
        access_key_ids=set(data["keys"]),
        entities={uuid.UUID(e) for e in data["entities"]},
        accounts=set(data["accounts"]),
    )


def index_entries(record: TrailRecord) -> set[tuple[str, str]]:
    """The (attribute, value) pairs a record is found by: ``LookupEvents``' attributes (``ReadOnly`` only when true:
    see :func:`lookup_page`) and what the history of an entity looks for (the entities it touched, who acted)."""
    body = record.record
    entries = {
        (ALL, ""),
        ("EventId", record.event_id),
        ("EventName", str(body["eventName"])),
        ("EventSource", str(body["eventSource"])),
        ("Username", record.username),
    }
    if str(body["readOnly"]).lower() == "true":
        entries.add(("ReadOnly", "true"))
    entries |= {("AccessKeyId", key) for key in record.access_key_ids}
    for resource in record.resources:
        entries.add(("ResourceType", resource.type))
        entries |= {("ResourceName", name) for name in {resource.name, *resource.aliases}}
    entries |= {(ENTITY, _entity_key(entity)) for entity in record.entities}
    identity = body["userIdentity"]
    if identity.get("type") == "IAMUser" and identity.get("arn"):
        entries.add((ACTOR, str(identity["arn"])))
    issuer = identity.get("sessionContext", {}).get("sessionIssuer", {})
    if issuer.get("arn"):
        entries.add((ACTOR, str(issuer["arn"])))
    return {(attribute, value) for attribute, value in entries if _indexable(value)}


def _indexable(value: str) -> bool:
    """Whether a value can be an index entry: short enough to be looked up, and text every database keeps (a
    refused request's parameters may hold a NUL, which PostgreSQL's text refuses, or a lone surrogate)."""
    if len(value) > MAX_VALUE or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _index_rows(record: TrailRecord) -> list[tuple[Any, ...]]:
    at, log, position = micros(record.time), record.order[1], record.order[2]
    return [
        (account, attribute, value, at, log, position)
        for account in record.accounts or {""}
        for attribute, value in index_entries(record)
    ]


def _insert(conn: Connection, table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Insert plain rows (every value already what the driver takes) with the driver's own ``executemany``: the
    trail writes a dozen index rows a record, and SQLAlchemy's per-row work would cost more than the database's."""
    if not rows:
        return
    marker = "?" if conn.dialect.name == "sqlite" else "%s"
    columns = ", ".join(f'"{column.name}"' for column in table.c)
    statement = f"INSERT INTO {table.name} ({columns}) VALUES ({', '.join([marker] * len(table.c))})"
    driver_execute(conn, statement, rows)


def _write_records(conn: Connection, log: int, records: Sequence[TrailRecord]) -> None:
    _insert(
        conn,
        TRAIL_RECORDS,
        [
            (log, r.order[2], micros(r.time), r.record.get("requestID"), r.record["eventName"], _body(r))
            for r in records
        ],
    )
    _insert(conn, TRAIL_INDEX, [row for r in records for row in _index_rows(r)])


# -- projecting ---------------------------------------------------------------------------------------------------

_SKIPPED_TOPICS: Final = frozenset(
    {
        "iamledger.domain.users:User.AccessKeyUsed",
        "iamledger.domain.accounts:Account.RootAccessKeyUsed",
        "iamledger.domain.roles:Role.LastUsed",
    }
)
"""Events that are no call of their own and change nothing the renderer knows (recorded key uses)."""


class TrailProjection:
    """Writes the trail's records and index as events and incidents are recorded (:meth:`catch_up`)."""

    def __init__(self, app: Any, security_log: Any, engine: Engine) -> None:
        self._app = app
        self._security = security_log
        self._engine = engine

    def create_tables(self) -> None:
        trail_metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            for name in (IDENTITY_TRACKING, SECURITY_TRACKING):
                if conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == name)).first() is None:
                    conn.execute(insert(TRACKING).values(name=name, position=0))

    def positions(self) -> tuple[int, int]:
        """How far the trail has read the identity log and the security log."""
        with self._engine.connect() as conn:
            return _tracked(conn, IDENTITY_TRACKING), _tracked(conn, SECURITY_TRACKING)

    def status(self) -> dict[str, Any]:
        """How far the trail has read each log, and how many records it holds."""
        identity, security = self.positions()
        with self._engine.connect() as conn:
            records = conn.execute(select(func.count()).select_from(TRAIL_RECORDS)).scalar()
        return {"Position": identity, "SecurityPosition": security, "Records": int(records or 0)}

    def verify(self) -> dict[str, Any]:
        """The stored records compared with a replay of both logs (:func:`verify`)."""
        return verify(self._app)

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Project every event and incident recorded since the trail last read; the positions reached."""
        identity = self._catch_up_identity(progress)
        security = self._catch_up_security()
        return identity, security

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> tuple[int, int]:
        """Forget the trail and project it again from the first event (the state table along with it)."""
        with self._engine.begin() as conn:
            for table in (TRAIL_INDEX, TRAIL_RECORDS, TRAIL_STATE):
                conn.execute(delete(table))
            conn.execute(
                update(TRACKING).where(TRACKING.c.name.in_([IDENTITY_TRACKING, SECURITY_TRACKING])).values(position=0)
            )
        return self.catch_up(progress)

    # -- the identity log -------------------------------------------------------------------------------------

    def _catch_up_identity(self, progress: Callable[[int, int], None] | None) -> int:
        with self._engine.connect() as conn:
            position = _tracked(conn, IDENTITY_TRACKING)
        head = int(self._app.recorder.max_notification_id() or 0)
        state = StoredState(empty=position == 0)
        trail = Trail(state)
        while position < head:
            batch = self._read(position, head)
            if not batch:
                break
            last = batch[-1][0]
            with self._engine.begin() as conn:
                _derived_data_commit(conn)
                if _advance(conn, IDENTITY_TRACKING, position, last) != 1:
                    conn.rollback()
                    state = StoredState()  # another process moved on: what was cached may be stale
                    trail = Trail(state)
                    position = self.positions()[0]
                    continue
                state.conn = conn
                self._project(conn, trail, batch)
                state.flush(conn)
                state.conn = None
            position = last
            if progress is not None:
                progress(position, head)
        return position

    def _read(self, position: int, head: int) -> list[tuple[int, Any]]:
        """The decoded events after ``position`` (a batch), extended so that it does not end inside a request: the
        events of one save are recorded together, and a record is assembled from all of its call's events."""
        recorder = self._app.recorder
        mapper = self._app.mapper
        notifications = list(recorder.select_notifications(start=position + 1, limit=BATCH, stop=head))
        if not notifications:
            return []
        batch = [(n.id, mapper.to_domain_event(n)) for n in notifications if n.topic not in _SKIPPED_TOPICS]
        last_id = notifications[-1].id
        request = batch[-1][1].request_id if batch else None
        while batch and last_id < head:
            more = list(recorder.select_notifications(start=last_id + 1, limit=LOOKAHEAD, stop=head))
            if not more:
                break
            ended = False
            for notification in more:
                if notification.topic in _SKIPPED_TOPICS:
                    last_id = notification.id
                    continue
                event = mapper.to_domain_event(notification)
                if event.request_id != request:
                    ended = True
                    break
                batch.append((notification.id, event))
                last_id = notification.id
            if ended:
                break
        if not batch or batch[-1][0] != last_id:
            batch.append((last_id, None))  # the batch's end: events skipped up to here
        return batch

    def _project(self, conn: Connection, trail: Trail, batch: Sequence[tuple[int, Any]]) -> None:
        facts: list[_Fact] = []
        for position, event in batch:
            if event is None:
                continue
            fact = trail.fact(position, event)
            if fact is not None:
                facts.append(fact)
            trail.apply(event)
        by_request: dict[str, list[_Fact]] = {}
        for fact in facts:
            by_request.setdefault(fact.event.request_id, []).append(fact)
        records: list[TrailRecord] = []
        for request_id, group in by_request.items():
            calls = _calls(conn, request_id, group)
            records.extend(trail._record(call) for call in sorted(calls, key=lambda c: c[0].position))  # noqa: SLF001
        _write_records(conn, IDENTITY_LOG, records)

    # -- the security log -------------------------------------------------------------------------------------

    def _catch_up_security(self) -> int:
        if self._security is None:
            return 0
        with self._engine.connect() as conn:
            position = _tracked(conn, SECURITY_TRACKING)
        recorder = self._security.recorder
        head = int(recorder.max_notification_id() or 0)
        state = StoredState()
        trail = Trail(state)
        while position < head:
            notifications = list(recorder.select_notifications(start=position + 1, limit=BATCH, stop=head))
            if not notifications:
                break
            last = notifications[-1].id
            with self._engine.begin() as conn:
                _derived_data_commit(conn)
                if _advance(conn, SECURITY_TRACKING, position, last) != 1:
                    conn.rollback()
                    position = self.positions()[1]
                    continue
                state.conn = conn
                records = []
                for notification in notifications:
                    incident = self._security.mapper.to_domain_event(notification)
                    if type(incident).__name__ == "Recorded":
                        record = trail.incident_record(notification.id, incident)
                        if record is not None:
                            records.append(record)
                _write_records(conn, SECURITY_LOG, records)
                state.conn = None
            position = last
        return position


def _calls(conn: Connection, request_id: str, group: Sequence[_Fact]) -> list[list[_Fact]]:
    """The calls of one request among a batch's facts, as :meth:`Trail.assemble` groups them: bookkeeping folded
    into the nearest call it joins. A fact whose call was written by an earlier batch (a request that saved twice,
    with another writer's events between) is folded into that stored record."""
    calls: list[list[_Fact]] = [[f] for f in group if f.primary and not f.joins]
    stored: list[_StoredCall] | None = None
    for fact in group:
        if fact.primary and not fact.joins:
            continue
        candidates = [c for c in calls if _joins(fact, c[0].operation)]
        if candidates:
            min(candidates, key=lambda c: abs(c[0].position - fact.position)).append(fact)
            continue
        if stored is None:
            stored = _stored_calls(conn, request_id)
        earlier = [c for c in stored if _joins(fact, c.operation)]
        if earlier:
            min(earlier, key=lambda c: abs(c.position - fact.position)).extend(conn, fact)
        elif fact.primary:
            calls.append([fact])
    return calls


@dataclasses.dataclass
class _StoredCall:
    log: int
    position: int
    operation: str
    body: bytes

    def extend(self, conn: Connection, fact: _Fact) -> None:
        """Fold a later event of the same call into the stored record (as the replay would have)."""
        record = record_of_row(self.log, self.position, self.body)
        old = _index_rows(record)
        for resource in fact.resources:
            if resource not in record.resources:
                record.resources.append(resource)
        record.access_key_ids |= fact.key_ids
        record.entities |= fact.entities
        record.record[POSITION_KEY] = max(int(record.record[POSITION_KEY]), fact.position)
        self.body = _body(record)
        conn.execute(
            update(TRAIL_RECORDS)
            .where(TRAIL_RECORDS.c.log == self.log, TRAIL_RECORDS.c.position == self.position)
            .values(body=self.body)
        )
        columns = [TRAIL_INDEX.c[name] for name in ("account_id", "attribute", "value", "at", "log", "position")]
        for row in old:
            conn.execute(
                delete(TRAIL_INDEX).where(*(column == value for column, value in zip(columns, row, strict=True)))
            )
        _insert(conn, TRAIL_INDEX, _index_rows(record))


def _stored_calls(conn: Connection, request_id: str | None) -> list[_StoredCall]:
    if request_id is None:
        return []
    rows = conn.execute(
        select(TRAIL_RECORDS.c.log, TRAIL_RECORDS.c.position, TRAIL_RECORDS.c.event_name, TRAIL_RECORDS.c.body).where(
            TRAIL_RECORDS.c.request_id == request_id
        )
    ).all()
    return [_StoredCall(*row) for row in rows if row.log == IDENTITY_LOG]


def _tracked(conn: Connection, name: str) -> int:
    value = conn.execute(select(TRACKING.c.position).where(TRACKING.c.name == name)).scalar()
    return int(value or 0)


def _advance(conn: Connection, name: str, start: int, end: int) -> int:
    moved = conn.execute(
        update(TRACKING).where(TRACKING.c.name == name, TRACKING.c.position == start).values(position=end)
    )
    return int(moved.rowcount)


def _derived_data_commit(conn: Connection) -> None:
    """The trail can be derived again from the logs: its commits need not wait for the disk."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA synchronous = NORMAL")
        from iamledger.database import RELAXED_COMMITS

        conn.info[RELAXED_COMMITS] = True
    else:
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


# -- reading ------------------------------------------------------------------------------------------------------

_DRIVING_ORDER: Final = (
    "EventId",
    "AccessKeyId",
    "Username",
    "ResourceName",
    "ResourceType",
    "EventName",
    "EventSource",
    "ReadOnly",
)
"""Which attribute of a lookup drives the index range (the likely most selective first); the others are probes."""


def _time_bounds(start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
    """A lookup's range compares the record's time to the second (as CloudTrail shows it): the range of full times
    it covers, as ``[lower, upper)`` in microseconds."""
    lower = upper = None
    if start is not None:
        lower = micros(start.replace(microsecond=0) + (timedelta(seconds=1) if start.microsecond else timedelta()))
    if end is not None:
        upper = micros(end.replace(microsecond=0) + timedelta(seconds=1))
    return lower, upper


def _wanted(attributes: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], bool | None] | None:
    """A lookup's attributes as index entries, most selective first, and what it asks of ``ReadOnly`` (``None``:
    nothing); ``None`` when no record can match."""
    wanted: list[tuple[str, str]] = []
    read_only: bool | None = None
    for key, value in attributes:
        if key != "ReadOnly":
            wanted.append((key, value))
        elif value.lower() not in {"true", "false"}:
            return None
        else:
            read_only = value.lower() == "true"
    if read_only:
        wanted.append(("ReadOnly", "true"))
    wanted.sort(key=lambda pair: _DRIVING_ORDER.index(pair[0]))
    return wanted, read_only


def lookup_page(
    conn: Connection,
    *,
    account_id: str | None,
    attributes: Sequence[tuple[str, str]],
    start: datetime | None,
    end: datetime | None,
    after: tuple[datetime, int, int] | None,
    size: int,
) -> list[TrailRecord]:
    """Up to ``size`` records matching every attribute, newest first, strictly after ``after`` in that order: one
    range of the index read backwards from ``after`` (keyset pagination), each further attribute a probe of the
    same index. Only records that are read-only carry a ``ReadOnly`` entry (none do today: reads are not recorded),
    so ``ReadOnly=false`` is the absence of one."""
    asked = _wanted(attributes)
    if asked is None:
        return []
    wanted, read_only = asked
    drive_key, drive_value = wanted[0] if wanted else (ALL, "")
    drive = TRAIL_INDEX.alias("drive")
    conditions = [drive.c.attribute == drive_key, drive.c.value == drive_value]
    if account_id is not None:
        conditions.append(drive.c.account_id == account_id)
    lower, upper = _time_bounds(start, end)
    if lower is not None:
        conditions.append(drive.c.at >= lower)
    if upper is not None:
        conditions.append(drive.c.at < upper)
    if after is not None:
        conditions.append(tuple_(drive.c.at, drive.c.log, drive.c.position) < tuple_(micros(after[0]), *after[1:]))
    probes = [(key, value, True) for key, value in wanted[1:]]
    if read_only is False:
        probes.append(("ReadOnly", "true", False))
    for number, (key, value, present) in enumerate(probes):
        probe = TRAIL_INDEX.alias(f"probe{number}")
        found = exists().where(
            probe.c.account_id == drive.c.account_id,
            probe.c.attribute == key,
            probe.c.value == value,
            probe.c.at == drive.c.at,
            probe.c.log == drive.c.log,
            probe.c.position == drive.c.position,
        )
        conditions.append(found if present else ~found)
    query = (
        select(drive.c.log, drive.c.position)
        .where(*conditions)
        .order_by(drive.c.at.desc(), drive.c.log.desc(), drive.c.position.desc())
    )
    if account_id is not None:
        keys = [(row[0], row[1]) for row in conn.execute(query.limit(size))]
    else:  # a record of two accounts is indexed under each
        keys = list(dict.fromkeys((row[0], row[1]) for row in conn.execute(query)))[:size]
    return _records(conn, keys)


def _records(conn: Connection, keys: Sequence[tuple[int, int]]) -> list[TrailRecord]:
    """The records stored under ``(log, position)`` keys, in that order."""
    found: dict[tuple[int, int], TrailRecord] = {}
    for log in (IDENTITY_LOG, SECURITY_LOG):
        positions = [position for k, position in keys if k == log]
        for start in range(0, len(positions), 500):
            rows = conn.execute(
                select(TRAIL_RECORDS.c.position, TRAIL_RECORDS.c.body).where(
                    TRAIL_RECORDS.c.log == log, TRAIL_RECORDS.c.position.in_(positions[start : start + 500])
                )
            )
            found |= {(log, row.position): record_of_row(log, row.position, row.body) for row in rows}
    return [found[key] for key in keys if key in found]


def history(conn: Connection, state: StoredState, kind: str, name: str, account_id: str | None) -> list[TrailRecord]:
    """The records touching one entity, oldest first (see :func:`iamledger.projections.trail_query.entity_history`): the
    index finds the candidates (the entity's ids, the names it had, the ARNs it acted as), and the rule the replay
    applied decides among them (:func:`touches`)."""
    trail = Trail(state)
    if kind == "access-key":
        wanted = [("AccessKeyId", name)]
        decide: Callable[[TrailRecord], bool] = lambda record: name in record.access_key_ids  # noqa: E731
    else:
        ids, names, arns = _identities(trail, kind, name, account_id)
        wanted = [(ENTITY, i.hex) for i in ids] + [("ResourceName", n) for n in names]
        wanted += [(ACTOR, arn) for arn in arns] + [("Username", n) for n in names if kind in {"user", "role"}]
        decide = touches(kind, ids, names, arns)
    if not wanted:
        return []
    # one index range per entry (an OR of them would not use the index), merged in the trail's order
    found: set[tuple[int, int, int]] = set()
    for key, value in wanted:
        conditions = [TRAIL_INDEX.c.attribute == key, TRAIL_INDEX.c.value == value]
        if account_id is not None:
            conditions.append(TRAIL_INDEX.c.account_id == account_id)
        query = select(TRAIL_INDEX.c.at, TRAIL_INDEX.c.log, TRAIL_INDEX.c.position).where(*conditions)
        found |= {(int(at), int(log), int(position)) for at, log, position in conn.execute(query)}
    keys = [(log, position) for _at, log, position in sorted(found)]
    return [record for record in _records(conn, keys) if decide(record)]


def _identities(
    trail: Trail, kind: str, name: str, account_id: str | None
) -> tuple[set[uuid.UUID], set[str], set[str]]:
    """The ids of the entities of ``kind`` that had ``name``, every name they are known by and their ARNs."""
    if kind == "policy":
        parts = policy_arn_parts(name)
        found = trail.entity_ids(account_id, "policy", parts[2]) if parts else set()
        ids = {i for i in found if trail.entities[i].arn == name}
        return ids, {name}, {trail.entities[i].arn for i in ids}
    ids = trail.entity_ids(account_id, kind, name)
    names = {name} | {trail.entities[i].name for i in ids} | {trail.entities[i].arn for i in ids}
    return ids, names, {trail.entities[i].arn for i in ids}


def touches(kind: str, ids: set[uuid.UUID], names: set[str], arns: set[str]) -> Callable[[TrailRecord], bool]:
    """Whether a record belongs to the history of the entity with ``ids`` (known by ``names`` and ``arns``): it
    touched one of the ids, names a resource of the entity's type by one of its names, or was the entity acting."""
    type_ = RESOURCE_TYPES[kind]

    def actor_matches(record: TrailRecord) -> bool:
        identity = record.record["userIdentity"]
        if kind == "user":
            arn = str(identity.get("arn") or "")
            return arn in arns or (identity["type"] == "IAMUser" and record.username in names)
        if kind == "role":
            issuer = identity.get("sessionContext", {}).get("sessionIssuer", {})
            return issuer.get("arn") in arns or (bool(issuer) and issuer.get("userName") in names)
        return False

    def decide(record: TrailRecord) -> bool:
        if {_entity_key(e) for e in record.entities} & {i.hex for i in ids}:
            return True
        if any(r.type == type_ and any(r.matches(n) for n in names) for r in record.resources):
            return True
        return actor_matches(record)

    return decide


def stored_records(conn: Connection) -> Iterator[TrailRecord]:
    """Every stored record (``projections verify`` compares them with a replay)."""
    query = select(TRAIL_RECORDS.c.log, TRAIL_RECORDS.c.position, TRAIL_RECORDS.c.body).order_by(
        TRAIL_RECORDS.c.log, TRAIL_RECORDS.c.position
    )
    for row in conn.execute(query):
        yield record_of_row(row.log, row.position, row.body)


def verify(store: Any) -> dict[str, Any]:
    """The stored records compared with a replay of both logs (``projections verify``): ``{"Consistent",
    "Records", "Missing", "Unexpected", "MissingExamples", "UnexpectedExamples"}``, records compared by their
    CloudTrail JSON, their place in the order and what lookups show and find them by. The replay holds every record
    in memory (it is the proof, not the way questions are answered); the stored side is read as digests."""
    from collections import Counter

    store.trail.catch_up()
    replayed: dict[str, TrailRecord] = {}
    expected: Counter[str] = Counter()
    for record in Trail.of_store(store).records:
        digest = _fingerprint(record)
        replayed[digest] = record
        expected[digest] += 1
    found: Counter[str] = Counter()
    where: dict[str, tuple[int, int]] = {}
    with store.engine.connect() as conn:
        for record in stored_records(conn):
            digest = _fingerprint(record)
            found[digest] += 1
            where.setdefault(digest, (record.order[1], record.order[2]))
        missing = expected - found
        unexpected = found - expected
        examples = _records(conn, [where[d] for d in list(unexpected)[:5]])
    return {
        "Consistent": not missing and not unexpected,
        "Records": sum(found.values()),
        "Missing": sum(missing.values()),
        "Unexpected": sum(unexpected.values()),
        "MissingExamples": [replayed[d].record for d in list(missing)[:5]],
        "UnexpectedExamples": [record.record for record in examples],
    }


def _fingerprint(record: TrailRecord) -> str:
    text = json.dumps(
        {"body": json.loads(zlib.decompress(_body(record))), "order": [str(o) for o in record.order]},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode()).hexdigest()
