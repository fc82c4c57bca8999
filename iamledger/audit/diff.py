"""The diff between two moments: the changes, optionally narrowed to one principal, and the decisions that flipped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from iamledger.audit.changes import _changes, _scope
from iamledger.audit.decisions import _decision_at
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _check_action, _moment, describe_moment
from iamledger.audit.provenance import EventBook
from iamledger.domain.errors import ValidationError
from iamledger.projections import analysis
from iamledger.projections.tables import ROLES, USERS
from iamledger.projections.temporal import reading_at, reading_now
from iamledger.projections.timeindex import Moment
from iamledger.services.base import ServiceBase, translated


def audit_diff(
    store: ServiceBase,
    *,
    From: str | int | datetime,
    To: str | int | datetime | None = None,
    PrincipalArn: str | None = None,
    ActionNames: list[str] | None = None,
    ResourceArns: list[str] | None = None,
    ContextEntries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What changed between ``From`` and ``To`` (default now): users, groups, roles (trust policies, boundaries),
    policies (default versions), policy versions, memberships, attachments, inline policies, access keys and
    sessions issued, each with the events between the moments that changed it; only what affects ``PrincipalArn``
    when given. With ``ActionNames`` (on ``ResourceArns``, default ``*``), also the decisions that flipped, for the
    principal or for every user and role.

    ``PrincipalArn`` names, at each moment, the principal that held it then (AWS gives a deleted principal's ARN to
    the next one of its name, with a new unique id): the first holder's rows and decisions at ``From`` are compared
    with the second holder's at ``To``, and ``"PrincipalIds": {"From", "To"}`` gives each holder's unique id
    (``None``, and no rows and implicit denies on that side, when the ARN named no one at that moment)."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    for action in ActionNames or ():
        _check_action(action)
    with reading_now(), store.engine.connect() as conn:
        first = _moment(store, conn, From)
        second = _moment(store, conn, To)
    if first.position > second.position:
        raise ValidationError(
            f"The --from moment (position {first.position}) is after the --to moment (position {second.position})."
        )
    with translated(), store.engine.connect() as conn:
        book = EventBook(store, conn)
        scope = _scope(conn, account_id, PrincipalArn, first, second) if PrincipalArn else None
        answer: dict[str, Any] = {"From": describe_moment(first), "To": describe_moment(second)}
        if scope is not None:
            answer["PrincipalArn"] = scope.arn
            answer["PrincipalIds"] = {"From": scope.principal_ids[0], "To": scope.principal_ids[1]}
        answer["Changes"] = _changes(conn, book, account_id, first, second, scope)
        if ActionNames:
            resources = list(ResourceArns or ["*"])
            targets: list[tuple[str, str | None, str | None, str]]
            if scope is not None:
                targets = [(scope.kind, *scope.holders, scope.arn)]
            else:
                targets = [(k, e, e, arn) for k, e, arn in _principals_between(conn, account_id, first, second)]
            flips = []
            for kind, earlier, later, arn in targets:
                before = _decision_at(store, conn, kind, earlier, first, ActionNames, resources, ContextEntries)
                after = _decision_at(store, conn, kind, later, second, ActionNames, resources, ContextEntries)
                for (action, resource), was in before.items():
                    now = after[(action, resource)]
                    if was != now:
                        flips.append(
                            {"PrincipalArn": arn, "ActionName": action, "ResourceArn": resource, "From": was, "To": now}
                        )
            answer["DecisionChanges"] = flips
        return answer


def _principals_between(conn: Connection, account_id: str, first: Moment, second: Moment) -> list[tuple[str, str, str]]:
    found: dict[str, tuple[str, str, str]] = {}
    for moment in (second, first):
        with reading_at(moment.position):
            for kind, table in (("user", USERS), ("role", ROLES)):
                for row in analysis.live_rows(conn, table, table.c.account_id == account_id):
                    found.setdefault(str(row["entity_uuid"]), (kind, str(row["entity_uuid"]), str(row["arn"])))
    return sorted(found.values(), key=lambda t: (t[0], t[2]))
