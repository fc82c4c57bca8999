"""A request's decision for a subject as of a moment, with the principal's own keys and the time in the context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from iamledger.audit.subjects import Subject, _stored_subject
from iamledger.domain.policy import Decision, EvalDecision, Request, evaluate, request_context
from iamledger.domain.policy.simulation import _owner, simulation_context
from iamledger.projections.access import analysis
from iamledger.projections.access.effective import PolicyDocuments
from iamledger.projections.engine.temporal import reading_at
from iamledger.projections.engine.timeindex import Moment
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
    documents: PolicyDocuments | None = None,
) -> dict[tuple[str, str], str]:
    """The decisions for the principal ``entity`` at ``moment``; implicit denies when it did not exist then (or
    ``entity`` is ``None``: the ARN asked about named no one). ``documents``: the managed policies' documents over
    positions, for a caller deciding at many."""
    del store
    with reading_at(moment.position):
        row = None if entity is None else analysis.row_of(conn, kind, entity)
        if row is None:
            return {(a, r): EvalDecision.IMPLICIT_DENY.value for a in actions for r in resources}
        subject = _stored_subject(conn, kind, row, documents)
        return {(a, r): decide(subject, a, r, moment, entries).decision.value for a in actions for r in resources}
