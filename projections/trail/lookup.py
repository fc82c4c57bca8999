"""Reading the audit trail's projection: a page of ``LookupEvents`` from one index range (keyset pagination), the
history of one entity, every stored record, and the comparison with a replay (``projections verify``)."""

from __future__ import annotations

import hashlib
import json
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    Connection,
    exists,
    select,
    tuple_,
)

from iamledger.domain.arns import is_aws_managed_policy_arn, policy_arn_parts
from iamledger.projections.trail.records import (
    RESOURCE_TYPES,
    TrailRecord,
)
from iamledger.projections.trail.render import Trail
from iamledger.projections.trail.stored_state import StoredState
from iamledger.projections.trail.tables import (
    ACTOR,
    ALL,
    ENTITY,
    IDENTITY_LOG,
    SECURITY_LOG,
    TRAIL_INDEX,
    TRAIL_RECORDS,
    _body,
    _entity_key,
    micros,
    record_of_row,
)
from iamledger.projections.views.access_keys import access_key_ever_existed
from iamledger.projections.views.catalogue import AWS_ACCOUNT, aws_managed_policies

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
    second = 1_000_000  # added to the microseconds, not to the time: the last second of year 9999 has no next one
    if start is not None:
        lower = micros(start.replace(microsecond=0)) + (second if start.microsecond else 0)
    if end is not None:
        upper = micros(end.replace(microsecond=0)) + second
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
    """The records touching one entity, oldest first (see :func:`iamledger.projections.trail.query.entity_history`): the
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


def entity_known(conn: Connection, state: StoredState, kind: str, name: str, account_id: str | None) -> bool:
    """Whether an entity of ``kind`` ever had ``name`` in ``account_id`` (any account: ``None``), deleted since or
    not: the trail's index of names (users, groups, roles, customer managed policies), AWS's catalogue and the
    imported AWS managed policies (``arn:aws:iam::aws:policy/...``, in every account), the access keys view's rows
    of any position (access keys, sessions' too). Keyed reads only: no replay, no scan of the principals."""
    if kind == "access-key":
        return access_key_ever_existed(conn, name, account_id)
    trail = Trail(state)
    if kind != "policy":
        return bool(trail.entity_ids(account_id, kind, name))
    parts = policy_arn_parts(name)
    if parts is None:
        return False
    if is_aws_managed_policy_arn(name):
        imported = trail.entity_ids(AWS_ACCOUNT, "policy", parts[2])
        return name in aws_managed_policies() or any(trail.entities[i].arn == name for i in imported)
    return bool(_identities(trail, kind, name, account_id)[0])


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
