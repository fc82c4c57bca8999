"""The trail's questions over the projection (:mod:`~iamledger.projections.trail.index`): CloudTrail's
``LookupEvents``, and the history of one entity.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from iamledger.domain.errors import NoSuchEntityError, ValidationError
from iamledger.projections.engine.timeindex import parse_time
from iamledger.projections.trail.records import LOOKUP_KEYS, MAX_RESULTS, TrailRecord


def _check_attributes(attributes: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    checked: list[tuple[str, str]] = []
    for attribute in attributes:
        key = attribute.get("AttributeKey")
        value = attribute.get("AttributeValue")
        if key not in LOOKUP_KEYS:
            raise ValidationError(
                f"Invalid lookup attribute key {key!r}: the valid keys are {', '.join(LOOKUP_KEYS)} "
                "(any number of them may be combined; all must match)."
            )
        if not isinstance(value, str) or not value or len(value) > 2000:  # noqa: PLR2004 - CloudTrail's limit
            raise ValidationError(f"Invalid lookup attribute value for {key}: give a string of 1 to 2000 characters.")
        checked.append((str(key), value))
    return checked


def _matches(record: TrailRecord, key: str, value: str) -> bool:  # noqa: PLR0911 - one return per key
    if key == "EventId":
        return record.event_id == value
    if key == "EventName":
        return bool(record.record["eventName"] == value)
    if key == "ReadOnly":
        return str(record.record["readOnly"]).lower() == value.lower()
    if key == "Username":
        return record.username == value
    if key == "ResourceType":
        return any(r.type == value for r in record.resources)
    if key == "ResourceName":
        return any(r.matches(value) for r in record.resources)
    if key == "EventSource":
        return bool(record.record["eventSource"] == value)
    return value in record.access_key_ids


def _moment(value: str | datetime | None, now: datetime, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a time.")
    return parse_time(value, now)


def _encode_token(order: tuple[datetime, int, int]) -> str:
    data = {"t": order[0].astimezone(UTC).isoformat(), "s": order[1], "p": order[2]}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> tuple[datetime, int, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(data["t"]), int(data["s"]), int(data["p"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise ValidationError(f"Invalid NextToken: {token}. Pass the NextToken of a previous answer.") from None


def lookup_events(
    store: Any,
    *,
    StartTime: str | datetime | None = None,  # noqa: N803 - boto3's parameter names
    EndTime: str | datetime | None = None,  # noqa: N803
    LookupAttributes: Sequence[Mapping[str, Any]] | None = None,  # noqa: N803
    MaxResults: int | None = None,  # noqa: N803
    NextToken: str | None = None,  # noqa: N803
    EventCategory: str | None = None,  # noqa: N803
    account_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """CloudTrail's ``LookupEvents`` over ``store``'s trail: ``{"Events": [...], "NextToken"?}``, newest first.

    Unlike CloudTrail, any number of ``LookupAttributes`` may be given: a record must match all of them. Times are
    ``datetime`` or text (ISO 8601, a date, ``90m``/``7d`` ago, epoch seconds); the range is inclusive.
    ``MaxResults`` is 1 to 50 (default 50). ``account_id`` keeps the records of one account (its caller's or its
    recipient's). The records are read from the trail's projection (:mod:`iamledger.projections.trail.index`),
    caught up first with what was recorded since it last read; ``NextToken`` names the last record of the page by
    its place in that order, so later records do not move the next page. ``AsOf`` says how far the trail had read
    the identity log (``Position``) and the security log (``SecurityPosition``) for the page; on a read replica
    nothing is caught up, and these are where the replicated trail is."""
    from iamledger.projections.trail.lookup import lookup_page

    clock = now or datetime.now(UTC)
    attributes = _check_attributes(list(LookupAttributes or []))
    if EventCategory not in {None, "insight"}:
        raise ValidationError(f"Invalid EventCategory {EventCategory!r}: the only category is insight.")
    size = MAX_RESULTS if MaxResults is None else MaxResults
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        raise ValidationError(f"MaxResults must be a number from 1 to {MAX_RESULTS}.")
    start = _moment(StartTime, clock, "StartTime")
    end = _moment(EndTime, clock, "EndTime")
    if start is not None and end is not None and start > end:
        raise ValidationError("Invalid time range: StartTime must be at or before EndTime.")
    after = _decode_token(NextToken) if NextToken else None
    if EventCategory == "insight":  # no Insights events exist here
        return {"Events": []}
    identity, security = store.trail.catch_up()
    with store.engine.connect() as conn:
        page = lookup_page(
            conn, account_id=account_id, attributes=attributes, start=start, end=end, after=after, size=size + 1
        )
    result: dict[str, Any] = {"Events": [r.lookup_shape() for r in page[:size]]}
    if len(page) > size:
        result["NextToken"] = _encode_token(page[size - 1].order)
    # How far the trail had read each log: a read replica's page is repeatable, and comparable, by these.
    result["AsOf"] = {"Position": identity, "SecurityPosition": security}
    return result


HISTORY_KINDS: Final = ("user", "group", "role", "policy", "access-key")


def entity_history(store: Any, kind: str, name: str, *, account_id: str | None = None) -> list[TrailRecord]:
    """The records touching one entity, oldest first: ``kind`` is ``user``, ``group``, ``role`` (``name`` is its
    name), ``policy`` (``name`` is its ARN) or ``access-key`` (its id).

    An entity is followed by its id, so a renamed user's history goes on under its new name. A user's or role's
    history also holds what it did itself (a role's: what its sessions did), denied and failed attempts included.
    Read from the trail's projection, as :func:`lookup_events`.

    An entity that never existed in ``account_id`` (any account: ``None``) is ``NoSuchEntity``, in AWS's words for
    its kind (``The user with name bob cannot be found.``), as ``GetUser`` would answer; one deleted long ago still
    answers its history. Which existed is read from indexes (:func:`~iamledger.projections.trail.lookup.
    entity_known`), never from a replay."""
    from iamledger.projections.trail.lookup import entity_known, history
    from iamledger.projections.trail.stored_state import StoredState

    if kind not in HISTORY_KINDS:
        raise ValidationError(f"Invalid entity kind {kind!r}: use one of {', '.join(HISTORY_KINDS)}.")
    store.trail.catch_up()
    if kind == "access-key":
        store.projector.catch_up()  # the access keys view says which keys existed
    with store.engine.connect() as conn:
        state = StoredState()
        state.conn = conn
        if not entity_known(conn, state, kind, name, account_id):
            raise NoSuchEntityError(not_found(kind, name))
        return history(conn, state, kind, name, account_id)


def not_found(kind: str, name: str) -> str:
    """AWS's ``NoSuchEntity`` message for an entity of ``kind`` (one of :data:`HISTORY_KINDS`) named ``name``."""
    from iamledger.domain.users import access_key_not_found

    if kind == "policy":
        return f"Policy {name} was not found."
    if kind == "access-key":
        return access_key_not_found(name)
    return f"The {kind} with name {name} cannot be found."
