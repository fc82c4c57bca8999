"""The audit trail's tables and how a record becomes rows: the rendered record (compressed) and its index entries
(see :mod:`iamledger.projections.trail.index` for the projection that writes them)."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Index,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from iamledger.projections.engine.row_statements import driver_execute
from iamledger.projections.trail.records import (
    Resource,
    TrailRecord,
)

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
