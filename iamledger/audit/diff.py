"""The diff between two moments: the changes, optionally narrowed to one principal, and the decisions that flipped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection

from iamledger.audit.changes import _changes, _scope
from iamledger.audit.decisions import _decision_at, decide
from iamledger.audit.moments import _ANALYSIS_OPERATION, _authorize, _check_action, _moment, describe_moment
from iamledger.audit.provenance import EventBook
from iamledger.audit.subjects import Subject, _stored_subject, _subjects_of
from iamledger.domain.errors import ValidationError
from iamledger.domain.policy import AppliedPolicy, EvalDecision
from iamledger.projections.access import analysis, permissions
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.engine.temporal import reading_at, reading_now
from iamledger.projections.engine.timeindex import Moment
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
            request = (ActionNames, list(ResourceArns or ["*"]), ContextEntries)
            compared: list[tuple[str, _Decisions, _Decisions]]
            if scope is not None:
                before = _decision_at(store, conn, scope.kind, scope.holders[0], first, *request)
                after = _decision_at(store, conn, scope.kind, scope.holders[1], second, *request)
                compared = [(scope.arn, before, after)]
            else:
                compared = _compared(conn, account_id, first, second, *request)
            answer["DecisionChanges"] = _flips(compared)
        return answer


_Decisions = dict[tuple[str, str], str]
# Up to this many principals are read one at a time (a few queries each); more are read set-based, which reads every
# live membership, inline policy and attachment once (cheaper than a few queries for each of many principals).
_ONE_BY_ONE: Final = 100


def _flips(compared: Iterable[tuple[str, _Decisions, _Decisions]]) -> list[dict[str, Any]]:
    flips = []
    for arn, before, after in compared:
        for (action, resource), was in before.items():
            now = after[(action, resource)]
            if was != now:
                flips.append(
                    {"PrincipalArn": arn, "ActionName": action, "ResourceArn": resource, "From": was, "To": now}
                )
    return flips


def _compared(
    conn: Connection,
    account_id: str,
    first: Moment,
    second: Moment,
    actions: Sequence[str],
    resources: Sequence[str],
    entries: Sequence[dict[str, Any]] | None,
) -> list[tuple[str, _Decisions, _Decisions]]:
    """The decisions at ``first`` and at ``second`` of each user and role of the account whose decisions can differ
    between them, sorted by kind then ARN (a principal that did not exist at a moment denies implicitly there).

    Only those are evaluated (design section 7): a principal's decisions depend on its rows of the views (see
    :func:`~iamledger.projections.access.change_points.change_points`) and on the moment's time, so they can differ
    only for a principal one of whose rows began or ended between the moments
    (:func:`~iamledger.projections.access.analysis.principals_touched`), or holding a policy that reads the time
    (:func:`~iamledger.projections.access.permissions.time_dependent_holders`, at either moment); every other principal
    has the same policies, tags and row at both, and a request context differing only by keys none of its policies
    reads."""
    candidates = analysis.principals_touched(conn, account_id, first.position, second.position)
    for moment in (first, second):
        with reading_at(moment.position):
            users, roles = permissions.time_dependent_holders(conn, account_id)
        candidates |= users | roles
    shared: dict[EffectivePolicy, AppliedPolicy] = {}
    earlier = _subjects_at(conn, account_id, candidates, first, shared)
    later = _subjects_at(conn, account_id, candidates, second, shared)
    # the principal's ARN at the later moment when it existed then, as the principals are listed in both moments
    found: dict[str, tuple[str, str]] = {}
    for subjects in (later, earlier):
        for entity, subject in subjects.items():
            found.setdefault(entity, (subject.kind, subject.arn))
    compared = []
    for entity, (_kind, arn) in sorted(found.items(), key=lambda item: item[1]):
        before = _decisions(earlier.get(entity), first, actions, resources, entries)
        after = _decisions(later.get(entity), second, actions, resources, entries)
        compared.append((arn, before, after))
    return compared


def _subjects_at(
    conn: Connection,
    account_id: str,
    entities: set[str],
    moment: Moment,
    shared: dict[EffectivePolicy, AppliedPolicy],
) -> dict[str, Subject]:
    """The users and roles of the account among ``entities`` at ``moment``, by aggregate id."""
    with reading_at(moment.position):
        rows = [
            (kind, row)
            for kind in ("user", "role")
            for row in analysis.principal_rows(conn, kind, account_id, entities)
        ]
        if len(rows) <= _ONE_BY_ONE:
            subjects = [_stored_subject(conn, kind, row) for kind, row in rows]
        else:
            users = {str(row["entity_uuid"]) for kind, row in rows if kind == "user"}
            roles = {str(row["entity_uuid"]) for kind, row in rows if kind == "role"}
            subjects = _subjects_of(conn, account_id, users, roles, shared)
    return {str(subject.row["entity_uuid"]): subject for subject in subjects}


def _decisions(
    subject: Subject | None,
    moment: Moment,
    actions: Sequence[str],
    resources: Sequence[str],
    entries: Sequence[dict[str, Any]] | None,
) -> _Decisions:
    """What :func:`~iamledger.audit.decisions._decision_at` answers for a subject already read."""
    if subject is None:
        return {(a, r): EvalDecision.IMPLICIT_DENY.value for a in actions for r in resources}
    return {(a, r): decide(subject, a, r, moment, entries).decision.value for a in actions for r in resources}
