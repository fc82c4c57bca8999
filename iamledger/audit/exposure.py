"""Exposure: the windows of history in which a principal was allowed a request, each opened and closed by an event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from iamledger.audit.decisions import DecisionsOverTime
from iamledger.audit.moments import _authorize, _check_action, _moment, describe_moment
from iamledger.audit.provenance import EventBook
from iamledger.audit.subjects import _SESSION_ARN
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError
from iamledger.domain.policy import EvalDecision
from iamledger.projections.access import analysis
from iamledger.projections.access.change_points import change_points
from iamledger.projections.access.effective import PolicyDocuments
from iamledger.projections.access.history import PrincipalHistory
from iamledger.projections.engine.temporal import reading_now
from iamledger.projections.engine.timeindex import Moment, time_of
from iamledger.services.base import ServiceBase, translated


def _boundary(book: EventBook, conn: Connection, position: int) -> dict[str, Any]:
    return {"Position": position, "Time": time_of(conn, position), "Event": book.describe(position)}


def exposure(
    store: ServiceBase,
    *,
    PrincipalArn: str,
    ActionName: str,
    ResourceArn: str = "*",
    From: str | int | datetime | None = None,
    To: str | int | datetime | None = None,
    ContextEntries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The windows of history in which ``PrincipalArn`` (a user, role or group) was allowed ``ActionName`` on
    ``ResourceArn``, each opened and closed by an event (``To`` null while it is still open at the end); only the
    windows that overlap ``From``..``To`` (default: the whole history up to now).

    The ARN names, at each position, the principal that held it then: AWS gives a deleted (or renamed) principal's
    ARN to the next one of its name, with a new unique id. ``"Principals"`` has one series of windows per principal
    that held the ARN within ``From``..``To``, in the order they held it, each ``{"PrincipalId", "Windows"}``; a
    holder's windows lie within the positions it held the ARN (a renamed user's permissions count for its new ARN
    from the rename). ``"Windows"`` lists them all in time order, each with its ``PrincipalId``.

    The decision can change only where a row it depends on began or ended (see
    :func:`iamledger.projections.access.change_points.change_points`), so it is evaluated at those positions only."""
    account_id = store.current_account_id()
    _authorize(store, "SimulatePrincipalPolicy", {"PolicySourceArn": PrincipalArn}, account_id)
    _check_action(ActionName)
    if _SESSION_ARN.fullmatch(PrincipalArn):
        raise InvalidInputError("Exposure is computed for users, groups and roles; give the session's role ARN.")
    with reading_now(), store.engine.connect() as conn:
        start = _moment(store, conn, From) if From is not None else None
        end = _moment(store, conn, To)
    if start is not None and (start.position > end.position or start.time > end.time):
        raise InvalidInputError(f"From ({start.time.isoformat()}) is after To ({end.time.isoformat()}).")
    with translated(), store.engine.connect() as conn:
        found = analysis.holders(conn, PrincipalArn)
        if not found or PrincipalArn.split(":")[4] != account_id:
            raise NoSuchEntityError(f"The principal {PrincipalArn} cannot be found.")
        book = EventBook(store, conn)
        documents = PolicyDocuments(conn, account_id)  # each policy's history read once, not at every position
        series: list[dict[str, Any]] = []
        allowed_at_end = False
        for holder in found:
            if not holder.overlaps(0 if start is None else start.position, end.position):
                continue
            request = (ActionName, ResourceArn, ContextEntries)
            windows, is_open = _windows_of(conn, (book, documents), holder, end, *request)
            if start is not None:
                windows = [w for w in windows if w["To"] is None or w["To"]["Position"] > start.position]
            series.append({"PrincipalId": holder.principal_id, "Windows": windows})
            allowed_at_end = allowed_at_end or is_open
        answer: dict[str, Any] = {
            "PrincipalArn": PrincipalArn,
            "ActionName": ActionName,
            "ResourceArn": ResourceArn,
            "AsOf": describe_moment(end),
        }
        if start is not None:
            answer["From"] = describe_moment(start)
        answer["Principals"] = series
        answer["Windows"] = [window for held in series for window in held["Windows"]]
        answer["AllowedAtEnd"] = allowed_at_end
        return answer


def _windows_of(
    conn: Connection,
    books: tuple[EventBook, PolicyDocuments],
    holder: analysis.Holder,
    end: Moment,
    action: str,
    resource: str,
    entries: Sequence[dict[str, Any]] | None,
) -> tuple[list[dict[str, Any]], bool]:
    """The windows up to ``end`` in which ``holder`` held the ARN and was allowed the request, and whether the last
    is still open at ``end``."""
    book, documents = books
    decisions = DecisionsOverTime(conn, PrincipalHistory(conn, holder.kind, holder.entity, documents))
    spans: list[tuple[int, int | None]] = []  # the positions each window opened and closed at
    is_open = False
    for position in change_points(conn, holder.kind, holder.entity):
        if position > end.position:
            break
        # Its own row's bounds are change points, so the positions it took or lost the ARN are among them.
        allowed = False
        if holder.holds(position):
            allowed = decisions.decision(position, end, action, resource, entries) == EvalDecision.ALLOWED.value
        if allowed and not is_open:
            spans.append((position, None))
        elif is_open and not allowed:
            spans[-1] = (spans[-1][0], position)
        is_open = allowed
    book.prefetch(bound for span in spans for bound in span if bound is not None)  # their events, read together
    windows = [
        {
            "PrincipalId": holder.principal_id,
            "From": _boundary(book, conn, since),
            "To": None if until is None else _boundary(book, conn, until),
        }
        for since, until in spans
    ]
    return windows, is_open
