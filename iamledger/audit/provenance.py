"""The events behind an answer: each described by position (:class:`EventBook`), and the matched statements
extended with the events that put their policy in place.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, cast

from eventsourcing.persistence import Notification
from sqlalchemy import Connection

from iamledger.audit.subjects import Subject
from iamledger.domain.policy import Decision, MatchedStatement, PolicyRole
from iamledger.projections.access import analysis, policy_reasons
from iamledger.projections.access.effective import EffectivePolicy
from iamledger.projections.log.ledger import raw_events_at
from iamledger.projections.trail.event_names import event_name
from iamledger.services.base import ServiceBase

if TYPE_CHECKING:
    from eventsourcing.application import Application


# Payload fields an event description may show (never a secret, a digest or a document), under AWS's names.
_SHOWN_FIELDS: Final = {
    "user_name": "UserName",
    "group_name": "GroupName",
    "role_name": "RoleName",
    "policy_name": "PolicyName",
    "policy_arn": "PolicyArn",
    "version_id": "VersionId",
    "set_as_default": "SetAsDefault",
    "key_id": "AccessKeyId",
    "status": "Status",
    "role_arn": "RoleArn",
    "session_name": "RoleSessionName",
    "caller_arn": "CallerArn",
    "issued_at": "IssuedAt",
    "expiration": "Expiration",
    "path": "Path",
    "instance_profile_name": "InstanceProfileName",
    "alias": "AccountAlias",
    "principal_arn": "PrincipalArn",
}


_NAMED_IDS: Final = (
    ("user_id", "user", "UserName"),
    ("group_id", "group", "GroupName"),
)
"""Event fields naming another entity by id, described by its name at the event."""

_ENTITY_NAMES: Final[dict[str, tuple[str, str]]] = {
    "User": ("user", "UserName"),
    "Group": ("group", "GroupName"),
    "Role": ("role", "RoleName"),
    "ManagedPolicy": ("policy", "PolicyArn"),
}
"""The entity an event's aggregate is (its kind, as :func:`~iamledger.projections.access.analysis.label_at` takes it),
and the field its name (a managed policy's: its ARN) is described under."""


def _app(store: ServiceBase) -> Application[uuid.UUID]:
    return cast("Application[uuid.UUID]", store)


class EventBook:
    """Loads and describes events by position for one answer (each position read once; :meth:`prefetch` reads many
    at once)."""

    def __init__(self, store: ServiceBase, conn: Connection) -> None:
        self._store = store
        self._conn = conn
        self._cache: dict[int, dict[str, Any]] = {}
        self._events: dict[int, Any] = {}
        # the rows of entities whose name at a position is asked, in order: (kind, entity) -> (since, until, name)
        self._names: dict[tuple[str, str], list[tuple[int, int | None, str]]] = {}

    def load(self, position: int) -> Any:
        """The domain event at ``position`` (``None`` if there is none)."""
        if position in self._events:
            return self._events.pop(position)
        app = _app(self._store)
        notifications = app.recorder.select_notifications(start=position, limit=1, stop=position)
        if not notifications:
            return None
        return app.mapper.to_domain_event(notifications[0])

    def prefetch(self, positions: Iterable[int]) -> None:
        """Read the events at ``positions`` not described yet, and the names they will be described with, in a
        few queries (describing thousands of events one query at a time is most of a large answer's time)."""
        wanted = {p for p in positions if p not in self._cache and p not in self._events}
        if not wanted:
            return
        app = _app(self._store)
        table = str(getattr(app.recorder, "events_table_name", "stored_events"))
        for position, originator, version, topic, state in raw_events_at(self._conn, table, wanted):
            notification = Notification(
                id=int(position),
                originator_id=uuid.UUID(str(originator)),
                originator_version=int(version),
                topic=str(topic),
                state=bytes(state),
            )
            self._events[int(position)] = app.mapper.to_domain_event(notification)
        needed: dict[str, set[str]] = {}
        for event in self._events.values():
            for kind, entity in self._names_needed(event):
                if (kind, entity) not in self._names:
                    needed.setdefault(kind, set()).add(entity)
        for kind, entities in needed.items():
            self._load_names(kind, entities)

    @staticmethod
    def _names_needed(event: Any) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        entity = _ENTITY_NAMES.get(type(event).__qualname__.partition(".")[0])
        if entity is not None:
            found.append((entity[0], str(event.originator_id)))
        for attribute, kind, _shown in _NAMED_IDS:
            other = getattr(event, attribute, None)
            if isinstance(other, uuid.UUID):
                found.append((kind, str(other)))
        return found

    def _load_names(self, kind: str, entities: set[str]) -> None:
        for entity in entities:
            self._names[(kind, entity)] = []
        for entity, since, until, name in analysis.label_history(self._conn, kind, entities):
            self._names[(kind, entity)].append((since, until, name))

    def describe(self, position: int, why: str | None = None) -> dict[str, Any]:
        """``{"Position", "EventTime", "EventName", "Actor", "RequestId", "SourceIPAddress", ...}`` and what the event
        did (the entity it acted on, the policy, the version...), never a secret."""
        if position not in self._cache:
            self._cache[position] = self._describe(position)
        described = dict(self._cache[position])
        if why is not None:
            described["Reason"] = why
        return described

    def _describe(self, position: int) -> dict[str, Any]:
        event = self.load(position)
        if event is None:
            return {"Position": position}
        out: dict[str, Any] = {
            "Position": position,
            "EventTime": event.timestamp,
            "EventName": event_name(event),
            "Actor": event.actor,
            "RequestId": event.request_id,
            "SourceIPAddress": event.source_ip,
            "UserAgent": event.user_agent,
        }
        if event.access_key_id:
            out["ActorAccessKeyId"] = event.access_key_id
        aggregate = type(event).__qualname__.partition(".")[0]
        entity = _ENTITY_NAMES.get(aggregate)
        if entity is not None:
            name = self._name_of(entity[0], str(event.originator_id), position)
            if name is not None:
                out[entity[1]] = name
        for attribute, kind, shown in _NAMED_IDS:
            other = getattr(event, attribute, None)
            if isinstance(other, uuid.UUID) and shown not in out:
                name = self._name_of(kind, str(other), position)
                if name is not None:
                    out[shown] = name
        for attribute, shown in _SHOWN_FIELDS.items():
            value = getattr(event, attribute, None)
            if value is not None and shown not in out:
                out[shown] = value
        return out

    def _name_of(self, kind: str, entity: str, position: int) -> str | None:
        rows = self._names.get((kind, entity))
        if rows is not None:  # prefetched: the same rows the query below would find
            for moment in (position, position - 1):
                for since, until, held in rows:
                    if since <= moment and (until is None or until > moment):
                        return held
            return None
        for moment in (position, position - 1):
            name = analysis.label_at(self._conn, kind, entity, moment)
            if name is not None:
                return name
        return None


def _provenance(
    conn: Connection, book: EventBook, subject: Subject, policy: EffectivePolicy | None, statement: MatchedStatement
) -> list[dict[str, Any]]:
    if statement.role is PolicyRole.SESSION or (policy is None and subject.session_row is not None):
        if subject.session_row is not None and statement.role is PolicyRole.SESSION:
            return [book.describe(int(subject.session_row["valid_from"]), "session")]
        return []
    if policy is None:
        return []
    reasons = policy_reasons.reasons_for(conn, subject.entity_kind, subject.row, policy)
    return [book.describe(r.position, r.what) for r in reasons]


def _key(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    start = entry.get("StartPosition") or {}
    end = entry.get("EndPosition") or {}
    return (
        entry.get("SourcePolicyId"),
        entry.get("SourcePolicyType"),
        start.get("Line"),
        start.get("Column"),
        end.get("Line"),
        end.get("Column"),
    )


def _statement_key(statement: MatchedStatement) -> tuple[Any, ...]:
    start, end = statement.start, statement.end
    return (
        statement.source.id,
        statement.source.type,
        start.line if start else None,
        start.column if start else None,
        end.line if end else None,
        end.column if end else None,
    )


def _explain(
    conn: Connection,
    book: EventBook,
    subject: Subject,
    entries: list[dict[str, Any]],
    decisions: Sequence[Decision],
) -> None:
    """Extend each reported matched statement with the stored policy it came from and the events behind it."""
    by_key: dict[tuple[Any, ...], list[MatchedStatement]] = {}
    for decision in decisions:
        for statement in decision.matched_statements:
            by_key.setdefault(_statement_key(statement), []).append(statement)
    for entry in entries:
        provenance: dict[int, dict[str, Any]] = {}
        for statement in by_key.get(_key(entry), []):
            policy = subject.policy_of(statement)
            if policy is not None:
                if policy.policy_arn is not None:
                    entry["PolicyArn"] = policy.policy_arn
                if policy.via is not None:
                    entry["GroupName"] = policy.via
            for described in _provenance(conn, book, subject, policy, statement):
                provenance.setdefault(int(described["Position"]), described)
        entry["Provenance"] = [provenance[p] for p in sorted(provenance)]


def _paths(
    reasons_book: policy_reasons.ReasonBook, book: EventBook, subject: Subject, decision: Decision
) -> list[dict[str, Any]]:
    """The paths by which the decision's identity statements apply to the subject (``direct`` or ``group``), each
    with the events that put it in place."""
    return described_paths(book, pending_paths(reasons_book, subject, decision))


def pending_paths(
    reasons_book: policy_reasons.ReasonBook, subject: Subject, decision: Decision
) -> list[tuple[dict[str, Any], list[policy_reasons.Reason]]]:
    """:func:`_paths` before its events are described: each path with the reasons (positions) behind it, so that
    the events of many answers can be read at once (:meth:`EventBook.prefetch`)."""
    paths: dict[tuple[Any, ...], tuple[dict[str, Any], list[policy_reasons.Reason]]] = {}
    for statement in decision.matched_statements:
        if statement.role is not PolicyRole.IDENTITY:
            continue
        policy = subject.policy_of(statement)
        if policy is None:
            continue
        key = (policy.via, policy.source_id, policy.source_type, policy.policy_arn)
        if key in paths:
            continue
        path: dict[str, Any] = {"Via": "group" if policy.via else "direct"}
        if policy.via:
            path["GroupName"] = policy.via
        path["PolicySource"] = {"SourcePolicyId": policy.source_id, "SourcePolicyType": policy.source_type}
        if policy.policy_arn:
            path["PolicySource"]["PolicyArn"] = policy.policy_arn
        paths[key] = (path, reasons_book.reasons_for(subject.entity_kind, subject.row, policy))
    return list(paths.values())


def described_paths(
    book: EventBook, pending: list[tuple[dict[str, Any], list[policy_reasons.Reason]]]
) -> list[dict[str, Any]]:
    """The paths of :func:`pending_paths`, each with ``Provenance``: its events described."""
    for path, reasons in pending:
        path["Provenance"] = [book.describe(r.position, r.what) for r in reasons]
    return [path for path, _ in pending]
