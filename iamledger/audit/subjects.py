"""The principals of an answer as of a moment (:class:`Subject`): users, groups, roles and role sessions, each with
every policy that applies to its requests.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.domain.errors import InvalidInputError, NoSuchEntityError
from iamledger.domain.policy import AppliedPolicy, MatchedStatement, PolicySet, PolicySource, Principal
from iamledger.projections.access import analysis
from iamledger.projections.access.effective import (
    EffectivePolicy,
    effective_policies,
    effective_policies_of_all,
)
from iamledger.projections.engine.timeindex import Moment
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.tags import current_tags, current_tags_of_all
from iamledger.services.base import ServiceBase
from iamledger.services.callers import assumed_role_principal, session_policy_documents

_SESSION_ARN: Final = re.compile(r"arn:aws:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)")


_PRINCIPAL_ARN: Final = re.compile(
    r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>user|group|role)(?:/.*)?/(?P<name>[^/]+)"
)


@dataclass
class Subject:
    """A principal as of a moment, with every policy that applies to its requests."""

    arn: str
    kind: str  # user | group | role | session
    row: dict[str, Any]
    principal: Principal
    policies: list[EffectivePolicy]
    session_policies: tuple[AppliedPolicy, ...] | None = None
    session_row: dict[str, Any] | None = None
    sources: dict[int, EffectivePolicy] = field(default_factory=dict)
    session_documents: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    identity: tuple[AppliedPolicy, ...] = ()
    boundary: AppliedPolicy | None = None
    decision_keys: dict[str, tuple[int, ...] | None] = field(default_factory=dict)  # see shared_decision_key

    @property
    def entity_kind(self) -> str:
        """``user``, ``group`` or ``role`` (a session's is its role's)."""
        return "role" if self.kind == "session" else self.kind

    def policy_set(self, resource: AppliedPolicy | None = None) -> PolicySet:
        """The policies of the subject's requests, with an optional resource-based policy."""
        return PolicySet(
            identity=self.identity, boundary=self.boundary, session=self.session_policies, resource=resource
        )

    def policy_of(self, statement: MatchedStatement) -> EffectivePolicy | None:
        """The stored policy a matched statement came from (``None`` for given and session policies)."""
        return self.sources.get(id(statement.source))


def _principal_for(kind: str, row: Mapping[str, Any], tags: Mapping[str, str]) -> Principal:
    if kind == "role":
        return Principal.assumed_role(
            row["account_id"],
            row["role_name"],
            "simulation",
            role_path=row["path"],
            role_id=row["role_id"],
            tags=tags,
        )
    if kind == "user":
        return Principal.user(
            row["account_id"], row["user_name"], path=row["path"], unique_id=row["user_id"], tags=tags
        )
    return Principal.user(row["account_id"], "simulated-group-member")


def _with_policies(subject: Subject, shared: dict[EffectivePolicy, AppliedPolicy] | None = None) -> Subject:
    """Compile the subject's policies; ``shared`` lets subjects with the same policy (a group's) share its compiled
    form and source."""
    identity: list[AppliedPolicy] = []
    for policy in subject.policies:
        applied = None if shared is None else shared.get(policy)
        if applied is None:
            applied = AppliedPolicy.from_text(policy.document, PolicySource(policy.source_id, policy.source_type))
            if shared is not None:
                shared[policy] = applied
        subject.sources[id(applied.source)] = policy
        if policy.role == "identity":
            identity.append(applied)
        else:
            subject.boundary = applied
    subject.identity = tuple(identity)
    return subject


def _stored_subject(conn: Connection, kind: str, row: dict[str, Any]) -> Subject:
    tags = dict(current_tags(conn, str(row["entity_uuid"])))
    policies = effective_policies(conn, str(row["account_id"]), kind, row, StoreCatalogue(conn))
    return _with_policies(Subject(str(row["arn"]), kind, row, _principal_for(kind, row, tags), policies))


def _session_subject(store: ServiceBase, conn: Connection, arn: str, moment: Moment) -> Subject:
    match = _SESSION_ARN.fullmatch(arn)
    assert match is not None  # noqa: S101 - callers check the ARN's shape
    account = match["account"]
    when = f"{moment.time.isoformat()} (position {moment.position})"
    valid = analysis.sessions_valid_at(conn, account, moment.time, owner_arn=arn)
    if not valid:
        raise NoSuchEntityError(f"The role session {arn} was not valid at {when}: not yet issued, or expired.")
    key = valid[-1]
    try:
        session: Any = store.repository.get(uuid.UUID(str(key["owner_uuid"])))
    except (AggregateNotFoundError, ValueError):
        raise NoSuchEntityError(f"The role session {arn} cannot be found.") from None
    row = analysis.row_of(conn, "role", str(session.role_uuid))
    if row is None:
        raise NoSuchEntityError(f"The role {match['role']} of the session {arn} did not exist at {when}.")
    principal = assumed_role_principal(conn, account, row, match["session"], session)
    policies = effective_policies(conn, account, "role", row, StoreCatalogue(conn))
    subject = _with_policies(Subject(arn, "session", row, principal, policies, session_row=key))
    if session.session_policy or session.policy_arns:
        for document, source_id, policy_arn in session_policy_documents(conn, account, session, StoreCatalogue(conn)):
            source = {"SourcePolicyId": source_id} | ({} if policy_arn is None else {"PolicyArn": policy_arn})
            subject.session_documents.append((document, source))
        subject.session_policies = tuple(
            AppliedPolicy.from_text(text, PolicySource(str(source["SourcePolicyId"]), "session"))
            for text, source in subject.session_documents
        )
    return subject


def resolve_subject(store: ServiceBase, conn: Connection, account_id: str, arn: str, moment: Moment) -> Subject:
    """The principal ``arn`` (a user, group, role or role session ARN) at the bound position; ``NoSuchEntity`` when
    it did not exist then (a session: was not valid at the moment's time)."""
    if _SESSION_ARN.fullmatch(arn):
        return _session_subject(store, conn, arn, moment)
    match = _PRINCIPAL_ARN.fullmatch(arn)
    if match is None:
        raise InvalidInputError(
            f"Invalid PolicySourceArn: {arn}. It must be the ARN of a user, group, role or session."
        )
    found = analysis.principal_at(conn, arn)
    if found is None or match["account"] != account_id:
        when = f"{moment.time.isoformat()} (position {moment.position})"
        raise NoSuchEntityError(f"The {match['kind']} with name {match['name']} cannot be found at {when}.")
    return _stored_subject(conn, *found)


def _all_subjects(conn: Connection, account_id: str) -> list[Subject]:
    """Every user and role of the account at the bound position, read set-based (a handful of queries whatever the
    number of principals): the same subjects :func:`_stored_subject` builds one by one."""
    rows: list[tuple[str, dict[str, Any]]] = [
        (kind, row) for kind in ("user", "role") for row in analysis.principal_rows(conn, kind, account_id)
    ]
    return _subjects_from(conn, account_id, rows)


def _subjects_of(
    conn: Connection,
    account_id: str,
    users: set[str],
    roles: set[str],
    shared: dict[EffectivePolicy, AppliedPolicy] | None = None,
) -> list[Subject]:
    """The users and roles with the given aggregate ids, at the bound position, read set-based as
    :func:`_all_subjects` reads them all; ``shared``: compiled policies kept across calls (see
    :func:`_subjects_from`)."""
    rows: list[tuple[str, dict[str, Any]]] = [
        (kind, row)
        for kind, ids in (("user", users), ("role", roles))
        for row in analysis.principal_rows(conn, kind, account_id, ids)
    ]
    return _subjects_from(conn, account_id, rows, shared)


def _subjects_from(
    conn: Connection,
    account_id: str,
    rows: list[tuple[str, dict[str, Any]]],
    shared: dict[EffectivePolicy, AppliedPolicy] | None = None,
) -> list[Subject]:
    """The subjects of ``(kind, row)`` pairs, their tags and policies read in a handful of queries, the compiled form
    of a policy they share built once (and kept in ``shared``, when given, for the subjects of later calls)."""
    tags = current_tags_of_all(conn, {str(row["entity_uuid"]) for _kind, row in rows})
    policies = effective_policies_of_all(conn, account_id, rows, StoreCatalogue(conn))
    if shared is None:
        shared = {}
    subjects = [
        _with_policies(
            Subject(
                str(row["arn"]),
                kind,
                row,
                _principal_for(kind, row, dict(tags.get(str(row["entity_uuid"]), []))),
                found,
            ),
            shared,
        )
        for (kind, row), found in zip(rows, policies, strict=True)
    ]
    return sorted(subjects, key=lambda s: (s.kind, s.arn))


def _all_subjects_one_by_one(conn: Connection, account_id: str) -> list[Subject]:
    """:func:`_all_subjects` the slow way, a subject at a time (kept to check the set-based reads against)."""
    subjects = [
        _stored_subject(conn, kind, row)
        for kind in ("user", "role")
        for row in analysis.principal_rows(conn, kind, account_id)
    ]
    return sorted(subjects, key=lambda s: (s.kind, s.arn))


def policies_only_key(subject: Subject) -> tuple[int, ...] | None:
    """What every decision of ``subject`` on ``*`` depends on when none of its statements reads a condition key or a
    policy variable: its compiled identity policies and boundary (shared by the subjects read together with the same
    ones), so that alike subjects decide alike; ``None`` when a decision may depend on the subject itself."""
    parts = (*subject.identity, *(() if subject.boundary is None else (subject.boundary,)))
    if any(st.keys or st.resource_keys for applied in parts for st in applied.policy.statements):
        return None
    return (*sorted(id(applied) for applied in subject.identity), -1, id(subject.boundary))


def shared_decision_key(subject: Subject, action: str) -> tuple[int, ...] | None:
    """What the subject's decisions of ``action`` (lowercased) depend on when nothing but the action and resource
    matters (no statement of its policies that can match the action reads a condition key or a policy variable):
    the compiled policies with such statements, shared by the subjects built together with the same ones, and its
    boundary. Policies whose statements cannot match the action change no decision of it, so subjects that differ
    only by those share one. ``None`` when a decision depends on the subject itself."""
    if action in subject.decision_keys:
        return subject.decision_keys[action]
    key = subject.decision_keys[action] = _decision_key(subject, action)
    return key


def _decision_key(subject: Subject, action: str) -> tuple[int, ...] | None:
    relevant = tuple(applied for applied in subject.identity if applied.policy.statements_for(action))
    boundary = subject.boundary
    bounded = () if boundary is None else boundary.policy.statements_for(action)
    for statement in (*(st for applied in relevant for st in applied.policy.statements_for(action)), *bounded):
        if statement.keys or statement.resource_keys:
            return None
    # a boundary that cannot match the action denies it, whichever boundary it is
    fence = 0 if boundary is None else (id(boundary) if bounded else 1)
    return (*(id(applied) for applied in relevant), -1, fence)
