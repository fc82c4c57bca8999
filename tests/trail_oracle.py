"""The audit trail by replay: the whole identity log and security log read again for each question.

This was iamledger's implementation of ``LookupEvents`` and of an entity's history until the trail became a
projection (:mod:`iamledger.projections.trail.index`). It stays here as the oracle the projection is compared with:
the same renderer (:class:`~iamledger.projections.trail.render.Trail`) fed every event in order, then filtered by
brute force.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from iamledger.domain.arns import policy_arn_parts
from iamledger.projections.trail.query import (
    HISTORY_KINDS,
    _check_attributes,
    _decode_token,
    _encode_token,
    _matches,
)
from iamledger.projections.trail.records import MAX_RESULTS, RESOURCE_TYPES, TrailRecord, _second
from iamledger.projections.trail.render import Trail


def select_records(
    records: Iterable[TrailRecord],
    *,
    account_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    attributes: Sequence[tuple[str, str]] = (),
) -> list[TrailRecord]:
    """The records of ``account_id`` (every account: ``None``) whose ``eventTime`` is in ``[start, end]`` and that
    match every attribute, newest first."""
    chosen = []
    for record in records:
        if account_id is not None and account_id not in record.accounts:
            continue
        moment = _second(record.time)
        if (start is not None and moment < start) or (end is not None and moment > end):
            continue
        if all(_matches(record, key, value) for key, value in attributes):
            chosen.append(record)
    chosen.sort(key=lambda r: r.order, reverse=True)
    return chosen


def replayed_lookup_events(
    store: Any,
    *,
    LookupAttributes: Sequence[Mapping[str, Any]] | None = None,  # noqa: N803 - boto3's parameter names
    MaxResults: int = MAX_RESULTS,  # noqa: N803
    NextToken: str | None = None,  # noqa: N803
    account_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """``LookupEvents`` by brute force over a replay of both logs, with the answer's shape and pagination (the
    parameters are checked by the implementation under test, not here)."""
    attributes = _check_attributes(list(LookupAttributes or []))
    size = MaxResults
    after = _decode_token(NextToken) if NextToken else None
    trail = Trail.of_store(store)
    chosen = select_records(trail.records, account_id=account_id, start=start, end=end, attributes=attributes)
    if after is not None:
        chosen = [r for r in chosen if r.order < after]
    page = chosen[:size]
    result: dict[str, Any] = {"Events": [r.lookup_shape() for r in page]}
    if len(chosen) > size:
        result["NextToken"] = _encode_token(page[-1].order)
    return result


def replayed_entity_history(store: Any, kind: str, name: str, *, account_id: str | None = None) -> list[TrailRecord]:
    """The records touching one entity, oldest first: ``kind`` is ``user``, ``group``, ``role`` (``name`` is its
    name), ``policy`` (``name`` is its ARN) or ``access-key`` (its id).

    An entity is followed by its id, so a renamed user's history goes on under its new name. A user's or role's
    history also holds what it did itself (a role's: what its sessions did), denied and failed attempts included."""
    if kind not in HISTORY_KINDS:
        raise ValueError(f"Invalid entity kind {kind!r}: use one of {', '.join(HISTORY_KINDS)}.")
    trail = Trail.of_store(store)
    touches: Callable[[TrailRecord], bool]
    if kind == "access-key":
        touches = lambda record: name in record.access_key_ids  # noqa: E731
    else:
        touches = _touches(trail, kind, name, account_id)
    chosen = [r for r in trail.records if (account_id is None or account_id in r.accounts) and touches(r)]
    chosen.sort(key=lambda r: r.order)
    return chosen


def _touches(trail: Trail, kind: str, name: str, account_id: str | None) -> Callable[[TrailRecord], bool]:
    if kind == "policy":
        parts = policy_arn_parts(name)
        ids = (
            {i for i in trail.entity_ids(account_id, "policy", parts[2]) if trail.entities[i].arn == name}
            if parts
            else set()
        )
        names = {name}
    else:
        ids = trail.entity_ids(account_id, kind, name)
        names = {name} | {trail.entities[i].name for i in ids} | {trail.entities[i].arn for i in ids}
    type_ = RESOURCE_TYPES[kind]
    arns = {trail.entities[i].arn for i in ids}

    def actor_matches(record: TrailRecord) -> bool:
        arn = str(record.record["userIdentity"].get("arn") or "")
        if kind == "user":
            return arn in arns or (record.record["userIdentity"]["type"] == "IAMUser" and record.username in names)
        if kind == "role":
            issuer = record.record["userIdentity"].get("sessionContext", {}).get("sessionIssuer", {})
            return issuer.get("arn") in arns or (bool(issuer) and issuer.get("userName") in names)
        return False

    def touches(record: TrailRecord) -> bool:
        if record.entities & ids:
            return True
        if any(r.type == type_ and any(r.matches(n) for n in names) for r in record.resources):
            return True
        return actor_matches(record)

    return touches
