"""A request's decision for a subject as of a moment, with the principal's own keys and the time in the context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from iamledger.audit.subjects import Subject, _principal_for, _stored_subject, _with_policies, shared_decision_key
from iamledger.domain.policy import AppliedPolicy, Decision, EvalDecision, Request, evaluate, request_context
from iamledger.domain.policy.simulation import _owner, simulation_context
from iamledger.projections.access import analysis
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.access.history import PrincipalHistory
from iamledger.projections.engine.temporal import reading_at
from iamledger.projections.engine.timeindex import Moment, time_of
from iamledger.services.base import ServiceBase


def _request_context(
    subject: Subject, moment: Moment, entries: Sequence[dict[str, Any]] | None, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    context: dict[str, Any] = request_context(subject.principal, now=moment.time, extra=extra)
    context.update(simulation_context(entries))
    return context


def decide(
    subject: Subject,
    action: str,
    resource: str,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None = None,
) -> Decision:
    """The decision for a request by ``subject`` at ``moment`` (its own keys and the time in the context)."""
    context = _request_context(subject, moment, entries)
    request = Request(subject.principal, action, resource, context, _owner(resource, subject.principal.account))
    return evaluate(request, subject.policy_set())


def _decision_at(
    store: ServiceBase,
    conn: Connection,
    kind: str,
    entity: str | None,
    moment: Moment,
    actions: Sequence[str],
    resources: Sequence[str],
    entries: Sequence[dict[str, Any]] | None,
) -> dict[tuple[str, str], str]:
    """The decisions for the principal ``entity`` at ``moment``; implicit denies when it did not exist then (or
    ``entity`` is ``None``: the ARN asked about named no one)."""
    del store
    with reading_at(moment.position):
        row = None if entity is None else analysis.row_of(conn, kind, entity)
        if row is None:
            return {(a, r): EvalDecision.IMPLICIT_DENY.value for a in actions for r in resources}
        subject = _stored_subject(conn, kind, row)
        return {(a, r): decide(subject, a, r, moment, entries).decision.value for a in actions for r in resources}


class DecisionsOverTime:
    """The decisions of one principal at many positions (exposure), from its rows read once
    (:class:`PrincipalHistory`): what :func:`_decision_at` answers at each, with each policy compiled once, and a
    decision that depends on nothing but the action, the resource and the compiled policies
    (:func:`shared_decision_key`) evaluated once per set of them."""

    def __init__(self, conn: Connection, history: PrincipalHistory) -> None:
        self._conn, self._history = conn, history
        self._compiled: dict[EffectivePolicy, AppliedPolicy] = {}
        self._keys: dict[tuple[tuple[EffectivePolicy, ...], str], tuple[int, ...] | None] = {}
        self._decided: dict[tuple[Any, ...], str] = {}

    def decision(
        self, position: int, end: Moment, action: str, resource: str, entries: Sequence[dict[str, Any]] | None
    ) -> str:
        """The decision of the request at ``position`` (the time in its context: the position's, else ``end``'s)."""
        row = self._history.row_at(position)
        if row is None:
            return EvalDecision.IMPLICIT_DENY.value
        policies = self._history.policies_at(position, row)
        subject = None
        held = (tuple(policies), action.lower())  # the same policies have the same shared key
        if held not in self._keys:
            subject = self._subject(position, row, policies)
            self._keys[held] = shared_decision_key(subject, action.lower())
        shared = self._keys[held]
        key = None if shared is None else (shared, action, resource)
        if key is not None and key in self._decided:
            return self._decided[key]
        subject = subject or self._subject(position, row, policies)
        moment = Moment(position, time_of(self._conn, position) or end.time)
        value = decide(subject, action, resource, moment, entries).decision.value
        if key is not None:
            self._decided[key] = value
        return value

    def _subject(self, position: int, row: dict[str, Any], policies: list[EffectivePolicy]) -> Subject:
        kind = self._history.kind
        principal = _principal_for(kind, row, self._history.tags_at(position))
        return _with_policies(Subject(str(row["arn"]), kind, row, principal, policies), self._compiled)
