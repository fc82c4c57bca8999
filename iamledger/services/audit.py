"""The audit analysis: permission checks as of a moment with the events that explain them, reverse queries (who can
do an action, what can a principal do), diffs between two moments and the windows in which a request was allowed.

Every answer reports the moment it was computed at (``"AsOf": {"Position": N, "Time": ...}``; a diff its ``From``
and ``To``), so it can be repeated exactly with ``position:N``. The functions take the store as their first
argument (any :class:`~iamledger.services.base.ServiceBase` application); :class:`AuditService` offers them as
store methods. Decisions come from the same evaluator as ``simulate_principal_policy``: ``audit simulate`` follows
IAM's simulator exactly (only ``ContextEntries`` supply context keys); ``who-can``, ``what-can``, ``diff`` and
``exposure`` evaluate each request as it would have been made at the moment (the principal's own keys and
``aws:CurrentTime`` in the context, plus any ``ContextEntries``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, cast

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import BindParameter, Connection, Select, Table, bindparam, or_, select

from iamledger.awsmodel import service_model, validate_input
from iamledger.domain.errors import InvalidInputError, NoSuchEntityError, ValidationError
from iamledger.domain.policy import (
    AppliedPolicy,
    Decision,
    EvalDecision,
    MatchedStatement,
    PolicyKind,
    PolicyRole,
    PolicySet,
    PolicySource,
    Principal,
    Request,
    Session,
    check_simulation_input,
    evaluate,
    parse,
    request_context,
)
from iamledger.domain.policy.simulation import (
    _action_result,
    _caller,
    _owner,
    _resource_owner,
    simulation_context,
)
from iamledger.domain.policy.wildcards import compile_glob
from iamledger.projections import analysis, permissions
from iamledger.projections.catalogue import StoreCatalogue
from iamledger.projections.effective import (
    EffectivePolicy,
    effective_policies,
    effective_policies_of_all,
    managed_document,
)
from iamledger.projections.operations import event_name
from iamledger.projections.tables import (
    ACCESS_KEYS,
    ATTACHMENTS,
    GROUP_MEMBERS,
    GROUPS,
    INLINE_POLICIES,
    POLICIES,
    POLICY_VERSIONS,
    ROLES,
    USERS,
)
from iamledger.projections.tags import current_tags, current_tags_of_all
from iamledger.projections.temporal import reading_at, reading_now
from iamledger.projections.timeindex import Moment, settle, time_of
from iamledger.services.base import ServiceBase, translated
from iamledger.services.paging import page

if TYPE_CHECKING:
    from eventsourcing.application import Application

_SESSION_ARN: Final = re.compile(r"arn:aws:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)")
_PRINCIPAL_ARN: Final = re.compile(
    r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>user|group|role)(?:/.*)?/(?P<name>[^/]+)"
)
_ANALYSIS_OPERATION: Final = "GetAccountAuthorizationDetails"
_CHUNK: Final = 500
_EXPANDED_SERVICES: Final = ("iam", "sts")

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
_ENTITY_NAMES: Final[dict[str, tuple[Table, str, str]]] = {
    "User": (USERS, "user_name", "UserName"),
    "Group": (GROUPS, "group_name", "GroupName"),
    "Role": (ROLES, "role_name", "RoleName"),
    "ManagedPolicy": (POLICIES, "arn", "PolicyArn"),
}


def _app(store: ServiceBase) -> Application[uuid.UUID]:
    return cast("Application[uuid.UUID]", store)


class EventBook:
    """Loads and describes events by position for one answer (each position read once)."""

    def __init__(self, store: ServiceBase, conn: Connection) -> None:
        self._store = store
        self._conn = conn
        self._cache: dict[int, dict[str, Any]] = {}

    def load(self, position: int) -> Any:
        """The domain event at ``position`` (``None`` if there is none)."""
        app = _app(self._store)
        notifications = app.recorder.select_notifications(start=position, limit=1, stop=position)
        if not notifications:
            return None
        return app.mapper.to_domain_event(notifications[0])

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
            name = self._name_of(entity[0], entity[1], str(event.originator_id), position)
            if name is not None:
                out[entity[2]] = name
        for attribute, table, column, shown in (
            ("user_id", USERS, "user_name", "UserName"),
            ("group_id", GROUPS, "group_name", "GroupName"),
        ):
            other = getattr(event, attribute, None)
            if isinstance(other, uuid.UUID) and shown not in out:
                name = self._name_of(table, column, str(other), position)
                if name is not None:
                    out[shown] = name
        for attribute, shown in _SHOWN_FIELDS.items():
            value = getattr(event, attribute, None)
            if value is not None and shown not in out:
                out[shown] = value
        return out

    def _name_of(self, table: Table, column: str, entity: str, position: int) -> str | None:
        query = _NAME_QUERIES.get((table.name, column))
        if query is None:
            at: BindParameter[int] = bindparam("position")
            query = (
                select(table.c[column])
                .where(
                    table.c.entity_uuid == bindparam("entity"),
                    table.c.valid_from <= at,
                    or_(table.c.valid_to.is_(None), table.c.valid_to > at),
                )
                .order_by(table.c.valid_from, table.c.row_id)
                .limit(1)
            )
            _NAME_QUERIES[(table.name, column)] = query
        for moment in (position, position - 1):
            name = self._conn.execute(query, {"entity": entity, "position": moment}).scalar()
            if name is not None:
                return str(name)
        return None


# The statement naming an entity as of a position, per (table, column): built once, as describing thousands of
# events (who-can on a large account) otherwise spends most of its time building it.
_NAME_QUERIES: dict[tuple[str, str], Select[tuple[Any]]] = {}


# -- moments and the principals of an answer ---------------------------------------------------------------------


def _moment(store: ServiceBase, conn: Connection, when: str | int | datetime | None) -> Moment:
    """The moment ``when`` names, the views current to it; ``None`` is now, at the position the views are current
    to (caught up here; on a read replica, where they are, or waited for: see :func:`settle`)."""
    return settle(conn, when, store.clock(), store.projector.reach)


def describe_moment(moment: Moment) -> dict[str, Any]:
    """A moment as answers report it."""
    return {"Position": moment.position, "Time": moment.time}


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
    tags = dict(current_tags(conn, str(row["entity_uuid"])))
    tags.update({t["Key"]: t["Value"] for t in session.tags})
    principal = Principal.assumed_role(
        account,
        row["role_name"],
        match["session"],
        role_path=row["path"],
        role_id=row["role_id"],
        tags=tags,
        session=Session(session.issued_at, source_identity=session.source_identity),
    )
    policies = effective_policies(conn, account, "role", row, StoreCatalogue(conn))
    subject = _with_policies(Subject(arn, "session", row, principal, policies, session_row=key))
    if session.session_policy or session.policy_arns:
        if session.session_policy:
            subject.session_documents.append((session.session_policy, {"SourcePolicyId": "SessionPolicy"}))
        for policy_arn in session.policy_arns:
            document = managed_document(conn, account, policy_arn, StoreCatalogue(conn))
            if document is not None:
                source = {"SourcePolicyId": policy_arn.rsplit("/", 1)[1], "PolicyArn": policy_arn}
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
        (kind, row)
        for kind, table in (("user", USERS), ("role", ROLES))
        for row in analysis.live_rows(conn, table, table.c.account_id == account_id)
    ]
    return _subjects_from(conn, account_id, rows)


def _subjects_of(conn: Connection, account_id: str, users: set[str], roles: set[str]) -> list[Subject]:
    """The users and roles with the given aggregate ids, at the bound position, read set-based as
    :func:`_all_subjects` reads them all."""
    rows: list[tuple[str, dict[str, Any]]] = []
    for kind, table, ids in (("user", USERS, users), ("role", ROLES, roles)):
        ordered = sorted(ids)
        for start in range(0, len(ordered), _CHUNK):
            chunk = ordered[start : start + _CHUNK]
            where = (table.c.account_id == account_id, table.c.entity_uuid.in_(chunk))
            rows += [(kind, row) for row in analysis.live_rows(conn, table, *where)]
    return _subjects_from(conn, account_id, rows)


def _subjects_from(conn: Connection, account_id: str, rows: list[tuple[str, dict[str, Any]]]) -> list[Subject]:
    """The subjects of ``(kind, row)`` pairs, their tags and policies read in a handful of queries, the compiled form
    of a policy they share built once."""
    tags = current_tags_of_all(conn, {str(row["entity_uuid"]) for _kind, row in rows})
    policies = effective_policies_of_all(conn, account_id, rows, StoreCatalogue(conn))
    shared: dict[EffectivePolicy, AppliedPolicy] = {}
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
        for kind, table in (("user", USERS), ("role", ROLES))
        for row in analysis.live_rows(conn, table, table.c.account_id == account_id)
    ]
    return sorted(subjects, key=lambda s: (s.kind, s.arn))


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


# -- the store's side: authorization, connections -----------------------------------------------------------------


def _authorize(store: ServiceBase, operation: str, params: Mapping[str, Any], account_id: str) -> None:
    store._authorize("iam", operation, params, account_id)  # noqa: SLF001 - the store's own check, reused


@contextmanager
def _reading(store: ServiceBase, when: str | int | datetime | None) -> Iterator[tuple[Connection, Moment]]:
    """Catch the views up, resolve ``when``, and read as of it."""
    with reading_now(), store.engine.connect() as conn:
        moment = _moment(store, conn, when)
    with reading_at(moment.position), translated(), store.engine.connect() as conn:
        yield conn, moment


def _check_action(action: str) -> None:
    check_simulation_input(
        ActionNames=[action],
        PolicyInputList=[],
        PermissionsBoundaryPolicyInputList=None,
        ResourcePolicy=None,
        ResourceHandlingOption=None,
    )


# -- 1. the permission check as of a moment, with its reasons ----------------------------------------------------


def _provenance(
    conn: Connection, book: EventBook, subject: Subject, policy: EffectivePolicy | None, statement: MatchedStatement
) -> list[dict[str, Any]]:
    if statement.role is PolicyRole.SESSION or (policy is None and subject.session_row is not None):
        if subject.session_row is not None and statement.role is PolicyRole.SESSION:
            return [book.describe(int(subject.session_row["valid_from"]), "session")]
        return []
    if policy is None:
        return []
    reasons = analysis.reasons_for(conn, subject.entity_kind, subject.row, policy)
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


def _credentials(conn: Connection, store: ServiceBase, subject: Subject, moment: Moment) -> dict[str, Any]:
    """The credentials the subject had at the moment: long-term keys and their status, sessions valid then."""
    account = str(subject.row["account_id"])
    out: dict[str, Any] = {}
    if subject.kind == "user":
        keys = analysis.live_rows(conn, ACCESS_KEYS, ACCESS_KEYS.c.owner_uuid == str(subject.row["entity_uuid"]))
        out["AccessKeys"] = [
            {"AccessKeyId": k["access_key_id"], "Status": k["status"]} for k in keys if k["owner_kind"] == "user"
        ]
        out["ConsolePassword"] = _has_login_profile(store, str(subject.row["entity_uuid"]))
        sessions = analysis.sessions_valid_at(conn, account, moment.time, owner_arn=subject.arn)
    elif subject.kind == "role":
        prefix = f"arn:aws:sts::{account}:assumed-role/{subject.row['role_name']}/"
        sessions = [
            s for s in analysis.sessions_valid_at(conn, account, moment.time) if str(s["owner_arn"]).startswith(prefix)
        ]
    elif subject.kind == "session" and subject.session_row is not None:
        sessions = [subject.session_row]
    else:
        return out
    out["ValidSessions"] = [
        {"Arn": s["owner_arn"], "AccessKeyId": s["access_key_id"], "Expiration": s["expiration"]} for s in sessions
    ]
    return out


class _CredentialBook:
    """:func:`_credentials` for many subjects of an account: the access keys and the sessions valid at the moment read
    once, then each subject's picked out (in the same order)."""

    def __init__(self, conn: Connection, store: ServiceBase, account_id: str, moment: Moment) -> None:
        self._conn = conn
        self._store = store
        self._account_id = account_id
        self._moment = moment
        self._keys: dict[str, list[dict[str, Any]]] | None = None
        self._by_owner: dict[str, list[dict[str, Any]]] = {}
        self._by_role: dict[str, list[dict[str, Any]]] = {}

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        if self._keys is None:
            self._keys = {}
            for key in analysis.live_rows(self._conn, ACCESS_KEYS):
                self._keys.setdefault(str(key["owner_uuid"]), []).append(key)
            base = f"arn:aws:sts::{self._account_id}:assumed-role/"
            for session in analysis.sessions_valid_at(self._conn, self._account_id, self._moment.time):
                owner = str(session["owner_arn"])
                self._by_owner.setdefault(owner, []).append(session)
                if owner.startswith(base):
                    role, slash, _rest = owner[len(base) :].partition("/")
                    if slash:
                        self._by_role.setdefault(role, []).append(session)
        return self._keys

    def of(self, subject: Subject) -> dict[str, Any]:
        """What :func:`_credentials` answers for a user or role of the account."""
        if subject.kind not in {"user", "role"} or str(subject.row["account_id"]) != self._account_id:
            return _credentials(self._conn, self._store, subject, self._moment)
        keys = self._load()
        out: dict[str, Any] = {}
        if subject.kind == "user":
            entity = str(subject.row["entity_uuid"])
            out["AccessKeys"] = [
                {"AccessKeyId": k["access_key_id"], "Status": k["status"]}
                for k in keys.get(entity, [])
                if k["owner_kind"] == "user"
            ]
            out["ConsolePassword"] = _has_login_profile(self._store, entity)
            sessions = self._by_owner.get(subject.arn, [])
        else:
            sessions = self._by_role.get(str(subject.row["role_name"]), [])
        out["ValidSessions"] = [
            {"Arn": s["owner_arn"], "AccessKeyId": s["access_key_id"], "Expiration": s["expiration"]} for s in sessions
        ]
        return out


def _has_login_profile(store: ServiceBase, entity: str) -> bool:
    try:
        user: Any = store.repository.get(uuid.UUID(entity))
    except (AggregateNotFoundError, ValueError):
        return False
    return getattr(user, "login_profile", None) is not None


def simulate_principal_policy_at(
    store: ServiceBase,
    *,
    PolicySourceArn: str,
    ActionNames: list[str],
    At: str | int | datetime | None = None,
    PolicyInputList: list[str] | None = None,
    PermissionsBoundaryPolicyInputList: list[str] | None = None,
    ResourceArns: list[str] | None = None,
    ResourcePolicy: str | None = None,
    ResourceOwner: str | None = None,
    CallerArn: str | None = None,
    ContextEntries: list[dict[str, Any]] | None = None,
    ResourceHandlingOption: str | None = None,
    MaxItems: int | None = None,
    Marker: str | None = None,
) -> dict[str, Any]:
    """``SimulatePrincipalPolicy`` as of ``At`` (default now), each matched statement extended with ``Provenance``:
    the events that made its policy apply to the principal then (the membership, the attachment or inline put, the
    default version), oldest first. ``PolicySourceArn`` may also be a role session
    (``arn:aws:sts::A:assumed-role/R/S``), and ``CallerArn`` too: a session counts only if it was valid at ``At``."""
    params = {
        "PolicySourceArn": PolicySourceArn,
        "ActionNames": ActionNames,
        "PolicyInputList": PolicyInputList,
        "PermissionsBoundaryPolicyInputList": PermissionsBoundaryPolicyInputList,
        "ResourceArns": ResourceArns,
        "ResourcePolicy": ResourcePolicy,
        "ResourceOwner": ResourceOwner,
        "CallerArn": CallerArn,
        "ContextEntries": ContextEntries,
        "ResourceHandlingOption": ResourceHandlingOption,
        "MaxItems": MaxItems,
        "Marker": Marker,
    }
    present = {k: v for k, v in params.items() if v is not None}
    validate_input("iam", "SimulatePrincipalPolicy", present)
    account_id = store.current_account_id()
    _authorize(store, "SimulatePrincipalPolicy", present, account_id)
    with _reading(store, At) as (conn, moment):
        check_simulation_input(
            ActionNames=ActionNames,
            PolicyInputList=PolicyInputList or [],
            PermissionsBoundaryPolicyInputList=PermissionsBoundaryPolicyInputList,
            ResourcePolicy=ResourcePolicy,
            ResourceHandlingOption=ResourceHandlingOption,
        )
        subject = resolve_subject(store, conn, account_id, PolicySourceArn, moment)
        identity = list(subject.identity) + [
            AppliedPolicy.from_text(text, PolicySource(f"PolicyInputList.{number}", "IAM Policy"))
            for number, text in enumerate(PolicyInputList or [], start=1)
        ]
        boundary = subject.boundary
        if PermissionsBoundaryPolicyInputList:
            source = PolicySource("PermissionsBoundaryPolicyInputList.1", "IAM Policy")
            boundary = AppliedPolicy.from_text(PermissionsBoundaryPolicyInputList[0], source)
        caller = subject.principal
        if CallerArn is not None and _SESSION_ARN.fullmatch(CallerArn):
            caller = resolve_subject(store, conn, account_id, CallerArn, moment).principal
        elif CallerArn is not None:
            caller = _caller(CallerArn, has_resource_policy=ResourcePolicy is not None)
        default_owner = _resource_owner(ResourceOwner) or caller.account
        resource_policy = (
            AppliedPolicy.from_text(
                ResourcePolicy, PolicySource("ResourcePolicy", "Resource Policy"), PolicyKind.RESOURCE
            )
            if ResourcePolicy is not None
            else None
        )
        policies = PolicySet(
            identity=tuple(identity), boundary=boundary, session=subject.session_policies, resource=resource_policy
        )
        context = simulation_context(ContextEntries)
        resources = list(ResourceArns) if ResourceArns else ["*"]
        per_resource = resources != ["*"]
        book = EventBook(store, conn)
        results = []
        for action in ActionNames:
            decisions = [
                evaluate(Request(caller, action, resource, context, _owner(resource, default_owner)), policies)
                for resource in resources
            ]
            result = _action_result(
                action, resources, decisions, per_resource=per_resource, has_boundary=boundary is not None
            )
            worst = result["EvalDecision"]
            _explain(conn, book, subject, result["MatchedStatements"], [d for d in decisions if d.decision == worst])
            for resource_result, decision in zip(result.get("ResourceSpecificResults", []), decisions, strict=False):
                _explain(conn, book, subject, resource_result["MatchedStatements"], [decision])
            results.append(result)
        shown, more = page(results, Marker, MaxItems)
        answer: dict[str, Any] = {"EvaluationResults": shown, "IsTruncated": False, **more}
        answer["AsOf"] = describe_moment(moment)
        answer["PolicySource"] = {"Arn": subject.arn, "Type": subject.kind}
        if subject.session_row is not None:
            answer["Session"] = book.describe(int(subject.session_row["valid_from"]), "session")
        answer["Credentials"] = _credentials(conn, store, subject, moment)
        return answer


# -- 2. reverse queries -------------------------------------------------------------------------------------------


def _paths(
    reasons_book: analysis.ReasonBook, book: EventBook, subject: Subject, decision: Decision
) -> list[dict[str, Any]]:
    paths: dict[tuple[Any, ...], dict[str, Any]] = {}
    for statement in decision.matched_statements:
        if statement.role is not PolicyRole.IDENTITY:
            continue
        policy = subject.policy_of(statement)
        if policy is None:
            continue
        path: dict[str, Any] = {"Via": "group" if policy.via else "direct"}
        if policy.via:
            path["GroupName"] = policy.via
        path["PolicySource"] = {"SourcePolicyId": policy.source_id, "SourcePolicyType": policy.source_type}
        if policy.policy_arn:
            path["PolicySource"]["PolicyArn"] = policy.policy_arn
        key = (policy.via, policy.source_id, policy.source_type, policy.policy_arn)
        if key not in paths:
            reasons = reasons_book.reasons_for(subject.entity_kind, subject.row, policy)
            path["Provenance"] = [book.describe(r.position, r.what) for r in reasons]
            paths[key] = path
    return list(paths.values())


def _trust_outsiders(trust_text: str, account_id: str) -> list[dict[str, Any]]:
    """Principals a trust policy admits that are not this account's users and roles: other accounts' principals,
    services, identity providers (listed by the names the policy gives)."""
    found: list[dict[str, Any]] = []
    try:
        document = parse(trust_text, PolicyKind.TRUST)
    except Exception:  # noqa: BLE001 - a stored trust policy is valid; be safe anyway
        return found
    own = (f"arn:aws:iam::{account_id}:", account_id)
    for statement in document.statements:
        if statement.effect.value != "Allow" or statement.principal is None:
            continue
        if statement.principal.wildcard:
            found.append({"Type": "AWS", "Principal": "*", "Conditional": bool(statement.condition)})
            continue
        for principal_type, values in statement.principal.entries:
            for value in values:
                if principal_type == "AWS" and (value.startswith(own[0]) or value == own[1]):
                    continue
                found.append({"Type": principal_type, "Principal": value, "Conditional": bool(statement.condition)})
    return found


_ASSUME_ROLE: Final = "sts:assumerole"
_ACCOUNT_NAME: Final = re.compile(r"\d{12}|arn:aws:iam::\d{12}:root")


def may_assume_roles(subject: Subject) -> bool:
    """Whether one of the subject's identity policies has an ``Allow`` statement covering ``sts:AssumeRole``."""
    return any(
        statement.allow for applied in subject.identity for statement in applied.policy.statements_for(_ASSUME_ROLE)
    )


def _trust_names_no_account(trust: AppliedPolicy) -> bool:
    """Whether no ``Allow`` of the trust policy can name one of the account's users or roles at all (it names only
    services and identity providers): then none of them can assume the role, since a trust policy must allow them."""
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if not statement.allow:
            continue
        principal = statement.principal
        if principal is None or principal.wildcard or principal.canonical_user or principal.aws:
            return False
    return True


def _trust_names_principals(trust: AppliedPolicy) -> bool:
    """Whether an ``Allow`` of the trust policy may admit one of the account's users or roles by itself (naming it,
    ``*``, ``NotPrincipal``...), rather than only delegating to the account's identity policies (naming an account)
    or admitting services and identity providers. Errs on the side of ``True``."""
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if not statement.allow:
            continue
        principal = statement.principal
        if principal is None or principal.wildcard or principal.canonical_user:
            return True
        if any(_ACCOUNT_NAME.fullmatch(name) is None for name in principal.aws):
            return True
    return False


def assumable_by(
    subjects: Sequence[Subject],
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    assumers: Sequence[Subject] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    shared: dict[tuple[int, ...], bool] | None = None,
) -> list[dict[str, Any]]:
    """Who could assume ``role`` at the moment: this account's users and roles whose identity policies allow
    ``sts:AssumeRole`` on it and whom its trust policy admits (as ``sts:AssumeRole`` itself decides), then the
    outside principals the trust policy names.

    ``assumers``, when given, are the ``subjects`` for which :func:`may_assume_roles` holds (in the same order): when
    the trust policy only names accounts (or services, identity providers), an identity ``Allow`` is needed, so only
    they are evaluated (none when it names no account or principal of one); the answer is the same. ``contexts``
    keeps each subject's request context across calls. ``shared``, when the trust policy decides alike for every
    principal of the account (it names only accounts, without conditions), keeps the decision of each context-free
    set of identity policies, evaluated once."""
    role_arn = str(role.row["arn"])
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )
    if assumers is not None and not _trust_names_principals(trust):
        subjects = [] if _trust_names_no_account(trust) else assumers
    found: list[dict[str, Any]] = []
    for other in subjects:
        if other.arn == role.arn:
            continue
        context = None if contexts is None else contexts.get(other.arn)
        if context is None:
            context = _request_context(other, moment, entries, {"sts:RoleSessionName": "who-can"})
            if contexts is not None:
                contexts[other.arn] = context
        key = (*(id(a) for a in other.identity), id(other.boundary)) if shared is not None else None
        allowed = None if key is None or not _context_free(other) else shared.get(key)  # type: ignore[union-attr]
        if allowed is None:
            request = Request(other.principal, "sts:AssumeRole", role_arn, context, str(role.row["account_id"]))
            allowed = evaluate(request, other.policy_set(trust)).allowed
            if key is not None and shared is not None and _context_free(other):
                shared[key] = allowed
        if allowed:
            found.append({"Arn": other.arn, "Type": other.kind.capitalize()})
    found += _trust_outsiders(str(role.row["trust_policy"]), str(role.row["account_id"]))
    return found


def _context_free(subject: Subject) -> bool:
    """Whether the subject's decisions depend on nothing but the action and resource: no statement of its policies
    reads a condition key or a policy variable (then subjects with the same policies decide alike)."""
    applied = [*subject.identity, *([subject.boundary] if subject.boundary else [])]
    return all(not st.keys and not st.resource_keys for a in applied for st in a.policy.statements)


class _Decider:
    """Decisions for a request, evaluated once per set of policies shared by context-free subjects (the members of
    a group with no policies of their own), else once per subject."""

    def __init__(self, action: str, resource: str, moment: Moment, entries: Sequence[dict[str, Any]] | None) -> None:
        self.action, self.resource, self.moment, self.entries = action, resource, moment, entries
        self._shared: dict[tuple[int, ...], Decision] = {}

    def __call__(self, subject: Subject) -> Decision:
        if not _context_free(subject):
            return decide(subject, self.action, self.resource, self.moment, self.entries)
        key = (*(id(a) for a in subject.identity), id(subject.boundary))
        found = self._shared.get(key)
        if found is None:
            found = self._shared[key] = decide(subject, self.action, self.resource, self.moment, self.entries)
        return found


class _Principals:
    """The account's users and roles at the bound position, built as the questions need them (never all at once
    unless a trust policy admits anyone)."""

    def __init__(self, conn: Connection, account_id: str) -> None:
        self.conn, self.account_id = conn, account_id
        self.by_arn: dict[str, Subject] = {}
        self._uuids: set[str] = set()
        self._everyone = False

    def load(self, users: set[str], roles: set[str]) -> list[Subject]:
        wanted_users, wanted_roles = users - self._uuids, roles - self._uuids
        if (wanted_users or wanted_roles) and not self._everyone:
            for subject in _subjects_of(self.conn, self.account_id, wanted_users, wanted_roles):
                self.by_arn[subject.arn] = subject
            self._uuids |= wanted_users | wanted_roles
        wanted = users | roles
        return [s for s in self.by_arn.values() if str(s.row["entity_uuid"]) in wanted]

    def everyone(self) -> list[Subject]:
        if not self._everyone:
            for subject in _all_subjects(self.conn, self.account_id):
                self.by_arn.setdefault(subject.arn, subject)
            self._everyone = True
        return sorted(self.by_arn.values(), key=lambda s: (s.kind, s.arn))


def _named_in_trust(conn: Connection, account_id: str, trust: AppliedPolicy) -> tuple[set[str], set[str], bool] | None:
    """The users and roles of the account a trust policy names itself (by ARN or unique id), and whether it names
    an account (then the account's identity policies decide for everyone else); ``None`` when it may admit anyone
    (``*``, ``NotPrincipal``, a canonical user): then every principal is a candidate."""
    names: set[str] = set()
    accounts = False
    for statement in trust.policy.statements_for(_ASSUME_ROLE):
        if not statement.allow:
            continue
        principal = statement.principal
        if principal is None or principal.wildcard or principal.canonical_user:
            return None
        named_accounts = {name for name in principal.aws if _ACCOUNT_NAME.fullmatch(name) is not None}
        accounts = accounts or bool(named_accounts)
        names |= set(principal.aws) - named_accounts
    found: tuple[set[str], set[str], bool] = (set(), set(), accounts)
    if not names:
        return found
    for ids, table, id_column in ((found[0], USERS, USERS.c.user_id), (found[1], ROLES, ROLES.c.role_id)):
        rows = analysis.live_rows(
            conn, table, table.c.account_id == account_id, or_(table.c.arn.in_(names), id_column.in_(names))
        )
        ids |= {str(row["entity_uuid"]) for row in rows}
    return found


def _assumers(
    conn: Connection,
    principals: _Principals,
    role: Subject,
    moment: Moment,
    entries: Sequence[dict[str, Any]] | None,
    contexts: dict[str, dict[str, Any]],
) -> list[dict[str, Any]]:
    """:func:`assumable_by` over the candidates only: the principals whose identity policies can allow
    ``sts:AssumeRole`` and those the trust policy names itself (everyone when it may admit anyone)."""
    trust = AppliedPolicy.from_text(
        str(role.row["trust_policy"]), PolicySource("AssumeRolePolicyDocument", "Resource Policy"), PolicyKind.TRUST
    )
    named = _named_in_trust(conn, principals.account_id, trust)
    if named is None:
        subjects = principals.everyone()
    elif named[2]:  # an account named: whoever its identity policies allow sts:AssumeRole, besides those named
        users, roles = permissions.candidates(conn, principals.account_id, "sts:AssumeRole")
        loaded = principals.load(users | named[0], roles | named[1])
        role_arn = str(role.row["arn"])
        subjects = [
            s
            for s in loaded
            if str(s.row["entity_uuid"]) in named[0] | named[1] or _may_allow(s, _ASSUME_ROLE, role_arn)
        ]
    else:  # only the principals named can be admitted: a trust policy must allow the caller
        subjects = principals.load(named[0], named[1])
    alike = named is not None and not named[0] and not named[1] and _unconditional(trust)
    return assumable_by(subjects, role, moment, entries, None, contexts, {} if alike else None)


def _may_allow(subject: Subject, action: str, resource: str) -> bool:
    """Whether an ``Allow`` statement of the subject's identity policies can cover ``action`` (lowercased) on
    ``resource``: a cheap test before the evaluation decides (a resource with policy variables counts as covered)."""
    for applied in subject.identity:
        for statement in applied.policy.statements_for(action):
            if not statement.allow:
                continue
            if statement.resource is None or statement.resource_keys or statement.resource(resource, {}):
                return True
    return False


def _unconditional(trust: AppliedPolicy) -> bool:
    """Whether no statement of a trust policy reads a condition key or a policy variable."""
    return all(not st.keys and not st.resource_keys for st in trust.policy.statements)


def who_can(
    store: ServiceBase,
    *,
    ActionName: str,
    ResourceArn: str = "*",
    At: str | int | datetime | None = None,
    ContextEntries: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every user and role of the account that would have been allowed ``ActionName`` on ``ResourceArn`` at ``At``
    (default now), with the paths that allow it (``direct``, ``group`` with its name, or ``role`` for a principal
    that can reach an allowed role, through a chain of roles of any length: ``Chain`` names each role assumed in
    turn), the events behind each, and for roles who could assume them.

    Only the principals the permission index names as possibly allowed are evaluated
    (:func:`iamledger.projections.permissions.candidates`), with the real evaluator; principals sharing a
    context-free set of policies are evaluated once."""
    account_id = store.current_account_id()
    _authorize(store, _ANALYSIS_OPERATION, {}, account_id)
    _check_action(ActionName)
    with _reading(store, At) as (conn, moment):
        book = EventBook(store, conn)
        reasons = analysis.ReasonBook(conn)
        credentials = _CredentialBook(conn, store, account_id, moment)
        principals = _Principals(conn, account_id)
        decider = _Decider(ActionName, ResourceArn, moment, ContextEntries)
        users, roles = permissions.candidates(conn, account_id, ActionName)
        contexts: dict[str, dict[str, Any]] = {}
        allowed: dict[str, dict[str, Any]] = {}
        for subject in principals.load(users, roles):
            decision = decider(subject)
            if not decision.allowed:
                continue
            entry: dict[str, Any] = {"Arn": subject.arn, "Type": subject.kind.capitalize()}
            entry["Paths"] = _paths(reasons, book, subject, decision)
            entry["Credentials"] = credentials.of(subject)
            allowed[subject.arn] = entry
        # Roles lead on: whoever can assume an allowed role, directly or through other roles, reaches it.
        directly = [(arn, [arn]) for arn, entry in sorted(allowed.items()) if entry["Type"] == "Role"]
        frontier = list(directly)
        assumers_of: dict[str, list[dict[str, Any]]] = {}
        reached: set[tuple[str, str]] = set()
        while frontier:
            role_arn, chain = frontier.pop(0)
            if role_arn not in assumers_of:
                assumers_of[role_arn] = _assumers(
                    conn, principals, principals.by_arn[role_arn], moment, ContextEntries, contexts
                )
            for assumer in assumers_of[role_arn]:
                arn = assumer.get("Arn")
                if arn is None or arn not in principals.by_arn or arn in chain or (arn, chain[-1]) in reached:
                    continue
                reached.add((arn, chain[-1]))
                other = principals.by_arn[arn]
                target = allowed.get(arn)
                if target is None:
                    target = {"Arn": arn, "Type": other.kind.capitalize(), "Paths": []}
                    target["Credentials"] = credentials.of(other)
                    allowed[arn] = target
                # ``chain``: the roles from the one ``arn`` assumes first to the allowed one, in order
                target["Paths"].append({"Via": "role", "RoleArn": chain[-1], "Chain": list(chain)})
                if other.kind == "role":
                    frontier.append((arn, [arn, *chain]))
        for arn, _ in directly:
            allowed[arn]["AssumableBy"] = assumers_of[arn]
        principals_out = sorted(allowed.values(), key=lambda e: (e["Type"], e["Arn"]))
        return {
            "ActionName": ActionName,
            "ResourceArn": ResourceArn,
            "AsOf": describe_moment(moment),
            "Principals": principals_out,
        }


def _service_actions(service: str) -> list[str]:
    return sorted(f"{service}:{name}" for name in service_model(service).operation_names)


@dataclass
class _Statement:
    effect: str
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    condition_keys: tuple[str, ...]
    source: dict[str, Any]

    def covers(self, action: str) -> bool:
        if self.actions is not None:
            return any(compile_glob(p.lower())(action.lower()) for p in self.actions)
        return not any(compile_glob(p.lower())(action.lower()) for p in self.not_actions or ())

    def where(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.resources is not None:
            out["Resources"] = list(self.resources)
        if self.not_resources is not None:
            out["NotResources"] = list(self.not_resources)
        if self.condition_keys:
            out["Conditional"] = True
            out["ConditionKeys"] = list(self.condition_keys)
        return out


def _statements(text: str, source: dict[str, Any]) -> list[_Statement]:
    document = parse(text, PolicyKind.IDENTITY)
    return [
        _Statement(
            s.effect.value,
            s.action,
            s.not_action,
            s.resource,
            s.not_resource,
            s.condition_keys(),
            source,
        )
        for s in document.statements
    ]


def _source_of(policy: EffectivePolicy) -> dict[str, Any]:
    out: dict[str, Any] = {"SourcePolicyId": policy.source_id, "SourcePolicyType": policy.source_type}
    if policy.policy_arn:
        out["PolicyArn"] = policy.policy_arn
    if policy.via:
        out["GroupName"] = policy.via
    return out


def _service_of(pattern: str) -> str:
    return pattern.split(":", 1)[0].lower() if ":" in pattern else "*"


def _by_service(identity: Sequence[_Statement]) -> dict[str, dict[str, Any]]:
    """The identity statements grouped by the service prefix of their action patterns (``*`` for every service and
    for ``NotAction``), Allow and Deny apart; ``AllActions`` when some Allow names the whole service."""
    services: dict[str, dict[str, Any]] = {}
    for statement in identity:
        patterns = statement.actions if statement.actions is not None else ("*",)
        for service in sorted({_service_of(p) for p in patterns}):
            bucket = services.setdefault(service, {"Service": service, "Allow": [], "Deny": []})
            entry: dict[str, Any] = {}
            if statement.actions is not None:
                entry["Actions"] = [p for p in statement.actions if _service_of(p) in {service, "*"}]
            else:
                entry["NotActions"] = list(statement.not_actions or ())
            entry.update(statement.where())
            entry["Source"] = statement.source
            bucket["Allow" if statement.effect == "Allow" else "Deny"].append(entry)
    for service, bucket in services.items():
        whole = [a for a in bucket["Allow"] if any(p.split(":", 1)[-1] == "*" for p in a.get("Actions", []))]
        bucket["AllActions"] = bool(bucket["Allow"]) if service == "*" else bool(whole)
    return services


def what_can(
    store: ServiceBase,
    *,
    PrincipalArn: str,
    At: str | int | datetime | None = None,
) -> dict[str, Any]:
    """What ``PrincipalArn`` (a user, group, role or role session) could do at ``At`` (default now), by service: the
    allowed action patterns with their resources and conditions, the denies, and for ``iam`` and ``sts`` the
    operations they expand to (a pattern's operations less those an unconditional ``Deny`` on every resource removes,
    and less those the permissions boundary or session policies do not allow)."""
    account_id = store.current_account_id()
    _authorize(store, "SimulatePrincipalPolicy", {"PolicySourceArn": PrincipalArn}, account_id)
    with _reading(store, At) as (conn, moment):
        subject = resolve_subject(store, conn, account_id, PrincipalArn, moment)
        identity: list[_Statement] = []
        limits: list[list[_Statement]] = []
        for policy in subject.policies:
            statements = _statements(policy.document, _source_of(policy))
            if policy.role == "identity":
                identity += statements
            else:
                limits.append(statements)
        if subject.session_policies is not None:
            limits.append([s for text, source in subject.session_documents for s in _statements(text, source)])
        services = _by_service(identity)
        for service in _EXPANDED_SERVICES:
            expanded = _expand(service, identity, limits)
            if expanded:
                bucket = services.setdefault(
                    service, {"Service": service, "Allow": [], "Deny": [], "AllActions": False}
                )
                bucket["AllowedActions"] = expanded
        ordered = [services[k] for k in sorted(services, key=lambda s: (s != "*", s))]
        return {
            "PrincipalArn": subject.arn,
            "Type": subject.kind,
            "AsOf": describe_moment(moment),
            "PermissionsBoundary": next((p.policy_arn for p in subject.policies if p.role == "boundary"), None),
            "HasSessionPolicies": subject.session_policies is not None,
            "Services": ordered,
        }


def _expand(
    service: str, identity: Sequence[_Statement], limits: Sequence[Sequence[_Statement]]
) -> list[dict[str, Any]]:
    """The operations of ``service`` some Allow covers, each with the resources allowed and whether only under
    conditions; an unconditional Deny on ``*`` removes an operation, a boundary or session policy without an
    Allow covering it too."""
    out = []
    for action in _service_actions(service):
        allows = [s for s in identity if s.effect == "Allow" and s.covers(action)]
        if not allows:
            continue
        if any(
            s.effect == "Deny" and s.covers(action) and not s.condition_keys and s.resources == ("*",) for s in identity
        ):
            continue
        if any(not any(s.effect == "Allow" and s.covers(action) for s in limit) for limit in limits):
            continue
        resources = sorted({r for s in allows for r in (s.resources or ("NotResource",))})
        denied = [s for s in identity if s.effect == "Deny" and s.covers(action)]
        item: dict[str, Any] = {"Action": action, "Resources": resources}
        item["Conditional"] = all(s.condition_keys for s in allows)
        if denied:
            item["PartlyDenied"] = True
        out.append(item)
    return out


# -- 3. diffs between two moments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Category:
    """One kind of row a diff compares: its table, the columns that identify a row, the columns whose change is a
    change of the row, and how a row is shown."""

    name: str
    table: Table
    key: tuple[str, ...]
    compared: tuple[str, ...]
    show: Callable[[Mapping[str, Any], _Names], dict[str, Any]]
    where: Callable[[Table], tuple[Any, ...]] = lambda _table: ()


class _Names:
    """Names and ARNs of entities by aggregate id, as of either moment of a diff (the later one first)."""

    def __init__(self) -> None:
        self.by_uuid: dict[str, dict[str, Any]] = {}

    def add(self, conn: Connection) -> None:
        for kind, table, column in (
            ("User", USERS, "user_name"),
            ("Group", GROUPS, "group_name"),
            ("Role", ROLES, "role_name"),
            ("Policy", POLICIES, "policy_name"),
        ):
            for row in analysis.live_rows(conn, table):
                self.by_uuid.setdefault(str(row["entity_uuid"]), {"Type": kind, "Name": row[column], "Arn": row["arn"]})

    def arn(self, entity: Any) -> str | None:
        found = self.by_uuid.get(str(entity))
        return None if found is None else str(found["Arn"])

    def name(self, entity: Any) -> str | None:
        found = self.by_uuid.get(str(entity))
        return None if found is None else str(found["Name"])


def _show_entity(kind: str, column: str) -> Callable[[Mapping[str, Any], _Names], dict[str, Any]]:
    def show(row: Mapping[str, Any], _names: _Names) -> dict[str, Any]:
        out = {f"{kind}Name": row[column], "Arn": row["arn"]}
        if row.get("boundary_arn") is not None:
            out["PermissionsBoundary"] = row["boundary_arn"]
        if kind == "Policy":
            out["DefaultVersionId"] = row["default_version_id"]
        if kind == "Role":
            out["AssumeRolePolicyDocument"] = row["trust_policy"]
        return out

    return show


def _show_membership(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {"UserName": names.name(row["user_uuid"]), "GroupName": names.name(row["group_uuid"])}


def _show_attachment(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {
        "PrincipalType": str(row["principal_kind"]).capitalize(),
        "PrincipalArn": names.arn(row["principal_uuid"]),
        "PolicyArn": row["policy_arn"],
    }


def _show_inline(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {
        "PrincipalType": str(row["principal_kind"]).capitalize(),
        "PrincipalArn": names.arn(row["principal_uuid"]),
        "PolicyName": row["policy_name"],
        "PolicyDocument": row["document"],
    }


def _show_version(row: Mapping[str, Any], names: _Names) -> dict[str, Any]:
    return {"PolicyArn": names.arn(row["policy_uuid"]), "VersionId": row["version_id"]}


def _show_key(row: Mapping[str, Any], _names: _Names) -> dict[str, Any]:
    return {"AccessKeyId": row["access_key_id"], "OwnerArn": row["owner_arn"], "Status": row["status"]}


def _show_session(row: Mapping[str, Any], _names: _Names) -> dict[str, Any]:
    return {"Arn": row["owner_arn"], "AccessKeyId": row["access_key_id"], "Expiration": row["expiration"]}


_CATEGORIES: Final = (
    _Category(
        "User", USERS, ("entity_uuid",), ("user_name", "path", "boundary_arn"), _show_entity("User", "user_name")
    ),
    _Category("Group", GROUPS, ("entity_uuid",), ("group_name", "path"), _show_entity("Group", "group_name")),
    _Category(
        "Role",
        ROLES,
        ("entity_uuid",),
        ("role_name", "path", "boundary_arn", "trust_policy"),
        _show_entity("Role", "role_name"),
    ),
    _Category(
        "Policy",
        POLICIES,
        ("entity_uuid",),
        ("policy_name", "default_version_id"),
        _show_entity("Policy", "policy_name"),
    ),
    _Category("PolicyVersion", POLICY_VERSIONS, ("policy_uuid", "version_id"), (), _show_version),
    _Category("GroupMembership", GROUP_MEMBERS, ("user_uuid", "group_uuid"), (), _show_membership),
    _Category("PolicyAttachment", ATTACHMENTS, ("principal_uuid", "policy_arn"), (), _show_attachment),
    _Category("InlinePolicy", INLINE_POLICIES, ("principal_uuid", "policy_name"), ("document",), _show_inline),
    _Category(
        "AccessKey",
        ACCESS_KEYS,
        ("access_key_id",),
        ("status",),
        _show_key,
        lambda t: (t.c.owner_kind != "session",),
    ),
    _Category("Session", ACCESS_KEYS, ("access_key_id",), (), _show_session, lambda t: (t.c.owner_kind == "session",)),
)
# What a changed column means, for the readers of a diff.
_CHANGED_WHAT: Final = {
    "trust_policy": "AssumeRolePolicyDocument",
    "default_version_id": "DefaultVersionId",
    "boundary_arn": "PermissionsBoundary",
    "document": "PolicyDocument",
    "status": "Status",
    "user_name": "UserName",
    "group_name": "GroupName",
    "role_name": "RoleName",
    "policy_name": "PolicyName",
    "path": "Path",
}


@dataclass
class _Scope:
    """What affects the principal an ARN names at either moment of a diff: the holder at each moment (its aggregate
    id and unique id; ``None`` when the ARN named no one then), their groups (at either moment), the policies
    attached to them. AWS gives a deleted principal's ARN to the next one of that name, so the two holders may
    differ."""

    kind: str
    arn: str
    holders: tuple[str | None, str | None]
    principal_ids: tuple[str | None, str | None]
    groups: set[str]
    policies: set[str]
    policy_arns: set[str]
    # The positions between the moments at which the ARN began or stopped naming each moment's holder.
    handovers: tuple[list[int], list[int]]

    @property
    def handed_over(self) -> bool:
        """Whether the ARN named another principal (or no one) at one moment than at the other."""
        return self.holders[0] != self.holders[1]

    def covers(self, category: str, row: Mapping[str, Any], side: int) -> bool:  # noqa: PLR0911 - a rule per category
        """Whether ``row`` affects the principal at moment ``side`` (0: From, 1: To): a principal's own rows count
        only on the side of the moment it held the ARN, its groups' and policies' on both."""
        own = self.holders[side]
        holders = self.groups if own is None else {own} | self.groups
        if category in {"User", "Group", "Role"}:
            return str(row["entity_uuid"]) in holders
        if category == "Policy":
            return str(row["entity_uuid"]) in self.policies
        if category == "PolicyVersion":
            return str(row["policy_uuid"]) in self.policies
        if category == "GroupMembership":
            return str(row["user_uuid"]) == own
        if category in {"PolicyAttachment", "InlinePolicy"}:
            return str(row["principal_uuid"]) in holders
        if category == "AccessKey":
            return str(row["owner_uuid"]) == own
        if category == "Session":
            owner = str(row["owner_arn"])
            if self.kind == "role":
                name = self.arn.rsplit("/", 1)[1]
                return owner.startswith(f"arn:aws:sts::{self.arn.split(':')[4]}:assumed-role/{name}/")
            return owner == self.arn
        return False


def _scope(conn: Connection, account_id: str, arn: str, first: Moment, second: Moment) -> _Scope:
    found = analysis.holders(conn, arn)
    if not found or arn.split(":")[4] != account_id:
        raise NoSuchEntityError(f"The principal {arn} cannot be found.")
    # The ARN names whoever held it at each moment, not its latest holder.
    held = [next((h for h in found if h.holds(m.position)), None) for m in (first, second)]
    groups: set[str] = set()
    arns: set[str] = set()
    for moment, holder in zip((first, second), held, strict=True):
        with reading_at(moment.position):
            owners = list(groups)
            if holder is not None:
                if holder.kind == "user":
                    rows = analysis.live_rows(conn, GROUP_MEMBERS, GROUP_MEMBERS.c.user_uuid == holder.entity)
                    groups |= {str(r["group_uuid"]) for r in rows}
                owners = [holder.entity, *groups]
                row = analysis.row_of(conn, holder.kind, holder.entity)
                if row is not None and row.get("boundary_arn"):
                    arns.add(str(row["boundary_arn"]))
            if owners:
                attached = analysis.live_rows(conn, ATTACHMENTS, ATTACHMENTS.c.principal_uuid.in_(owners))
                arns |= {str(r["policy_arn"]) for r in attached}
    handovers = tuple(
        sorted(
            bound
            for span in ([] if holder is None else holder.held)
            for bound in span
            if bound is not None and first.position < bound <= second.position
        )
        for holder in held
    )
    return _Scope(
        found[0].kind,
        arn,
        (None if held[0] is None else held[0].entity, None if held[1] is None else held[1].entity),
        (None if held[0] is None else held[0].principal_id, None if held[1] is None else held[1].principal_id),
        groups,
        analysis.policy_ids(conn, arns),
        arns,
        (handovers[0], handovers[1]),
    )


def _rows_by_key(conn: Connection, category: _Category, account_id: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    table = category.table
    where = list(category.where(table))
    if "account_id" in table.c:
        where.append(table.c.account_id == account_id)
    return {tuple(str(r[k]) for k in category.key): r for r in analysis.live_rows(conn, table, *where)}


def _events_of(
    conn: Connection, book: EventBook, category: _Category, row: Mapping[str, Any], start: int, stop: int
) -> list[dict[str, Any]]:
    table = category.table
    where = [table.c[k] == row[k] for k in category.key]
    positions: set[int] = set()
    for touched in analysis.rows_touching(conn, table, start, stop, *where):
        for bound in (touched["valid_from"], touched["valid_to"]):
            if bound is not None and start < int(bound) <= stop:
                positions.add(int(bound))
    return [book.describe(p) for p in sorted(positions)]


def _changes(
    conn: Connection, book: EventBook, account_id: str, first: Moment, second: Moment, scope: _Scope | None
) -> list[dict[str, Any]]:
    names = _Names()
    with reading_at(second.position):
        names.add(conn)
        after = {c.name: _rows_by_key(conn, c, account_id) for c in _CATEGORIES}
    with reading_at(first.position):
        names.add(conn)
        before = {c.name: _rows_by_key(conn, c, account_id) for c in _CATEGORIES}
    changes: list[dict[str, Any]] = []
    start, stop = first.position, second.position
    for category in _CATEGORIES:
        old, new = before[category.name], after[category.name]
        for key in sorted(set(old) | set(new)):
            was, now = old.get(key), new.get(key)
            row = now if now is not None else was
            assert row is not None  # noqa: S101 - the key came from one side
            if scope is not None:
                # Each side keeps what affected the ARN's holder at its moment: when the ARN changed hands, the
                # first holder's own rows are only before and the second's only after (removed and added).
                kept = (
                    was if was is not None and scope.covers(category.name, was, 0) else None,
                    now if now is not None and scope.covers(category.name, now, 1) else None,
                )
                if kept == (None, None):
                    obtained = category.name == "Session" and any(
                        e.get("Actor") == scope.arn for e in _events_of(conn, book, category, row, start, stop)
                    )
                    if not obtained:  # a session the principal obtained for a role still concerns it
                        continue
                else:
                    was, now = kept
                    row = now if now is not None else was
                    assert row is not None  # noqa: S101 - one side was kept
            change: dict[str, Any]
            if was is None:
                change = {"Category": category.name, "Change": "Added", **category.show(row, names)}
            elif now is None:
                change = {"Category": category.name, "Change": "Removed", **category.show(row, names)}
            else:
                changed = [c for c in category.compared if was[c] != now[c]]
                if not changed:
                    continue
                change = {"Category": category.name, "Change": "Changed", **category.show(now, names)}
                change["Changed"] = {_CHANGED_WHAT.get(c, c): {"From": was[c], "To": now[c]} for c in changed}
            change["Events"] = _events_of(conn, book, category, row, start, stop)
            if not change["Events"] and scope is not None and scope.handed_over and change["Change"] != "Changed":
                # A row on one side only that did not change between the moments belongs to a holder of the ARN
                # at one moment only: what added or removed it is the event that handed the ARN over.
                side = 1 if change["Change"] == "Added" else 0
                change["Events"] = [book.describe(p) for p in scope.handovers[side]]
            changes.append(change)
    changes.sort(key=lambda c: c["Events"][0]["Position"] if c["Events"] else 0)
    return changes


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


# -- 4. exposure windows ------------------------------------------------------------------------------------------


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
    :func:`iamledger.projections.analysis.change_points`), so it is evaluated at those positions only."""
    account_id = store.current_account_id()
    _authorize(store, "SimulatePrincipalPolicy", {"PolicySourceArn": PrincipalArn}, account_id)
    _check_action(ActionName)
    if _SESSION_ARN.fullmatch(PrincipalArn):
        raise InvalidInputError("Exposure is computed for users, groups and roles; give the session's role ARN.")
    with reading_now(), store.engine.connect() as conn:
        start = _moment(store, conn, From) if From is not None else None
        end = _moment(store, conn, To)
    with translated(), store.engine.connect() as conn:
        found = analysis.holders(conn, PrincipalArn)
        if not found or PrincipalArn.split(":")[4] != account_id:
            raise NoSuchEntityError(f"The principal {PrincipalArn} cannot be found.")
        book = EventBook(store, conn)
        series: list[dict[str, Any]] = []
        allowed_at_end = False
        for holder in found:
            if not holder.overlaps(0 if start is None else start.position, end.position):
                continue
            request = (ActionName, ResourceArn, ContextEntries)
            windows, is_open = _windows_of(store, conn, book, holder, end, *request)
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
    store: ServiceBase,
    conn: Connection,
    book: EventBook,
    holder: analysis.Holder,
    end: Moment,
    action: str,
    resource: str,
    entries: Sequence[dict[str, Any]] | None,
) -> tuple[list[dict[str, Any]], bool]:
    """The windows up to ``end`` in which ``holder`` held the ARN and was allowed the request, and whether the last
    is still open at ``end``."""
    windows: list[dict[str, Any]] = []
    is_open = False
    for position in analysis.change_points(conn, holder.kind, holder.entity):
        if position > end.position:
            break
        # Its own row's bounds are change points, so the positions it took or lost the ARN are among them.
        allowed = False
        if holder.holds(position):
            moment = Moment(position, time_of(conn, position) or end.time)
            decision = _decision_at(store, conn, holder.kind, holder.entity, moment, [action], [resource], entries)
            allowed = decision[(action, resource)] == EvalDecision.ALLOWED.value
        if allowed and not is_open:
            windows.append({"PrincipalId": holder.principal_id, "From": _boundary(book, conn, position), "To": None})
        elif is_open and not allowed:
            windows[-1]["To"] = _boundary(book, conn, position)
        is_open = allowed
    return windows, is_open


# -- the store's methods -------------------------------------------------------------------------------------------


class AuditService(ServiceBase):
    """The audit analysis operations of the store (see the module docstring)."""

    def audit_simulate_principal_policy(
        self, *, At: str | int | datetime | None = None, **params: Any
    ) -> dict[str, Any]:
        """``SimulatePrincipalPolicy`` as of ``At`` with the events behind each matched statement; see
        :func:`simulate_principal_policy_at`."""
        return simulate_principal_policy_at(self, At=At, **params)

    def who_can(
        self,
        *,
        ActionName: str,
        ResourceArn: str = "*",
        At: str | int | datetime | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Every user and role allowed ``ActionName`` on ``ResourceArn`` at ``At``; see :func:`who_can`."""
        return who_can(self, ActionName=ActionName, ResourceArn=ResourceArn, At=At, ContextEntries=ContextEntries)

    def what_can(self, *, PrincipalArn: str, At: str | int | datetime | None = None) -> dict[str, Any]:
        """What ``PrincipalArn`` could do at ``At``, by service; see :func:`what_can`."""
        return what_can(self, PrincipalArn=PrincipalArn, At=At)

    def audit_diff(
        self,
        *,
        From: str | int | datetime,
        To: str | int | datetime | None = None,
        PrincipalArn: str | None = None,
        ActionNames: list[str] | None = None,
        ResourceArns: list[str] | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The changes between two moments and the decisions that flipped; see :func:`audit_diff`."""
        return audit_diff(
            self,
            From=From,
            To=To,
            PrincipalArn=PrincipalArn,
            ActionNames=ActionNames,
            ResourceArns=ResourceArns,
            ContextEntries=ContextEntries,
        )

    def exposure(
        self,
        *,
        PrincipalArn: str,
        ActionName: str,
        ResourceArn: str = "*",
        From: str | int | datetime | None = None,
        To: str | int | datetime | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The windows in which the request was allowed; see :func:`exposure`."""
        return exposure(
            self,
            PrincipalArn=PrincipalArn,
            ActionName=ActionName,
            ResourceArn=ResourceArn,
            From=From,
            To=To,
            ContextEntries=ContextEntries,
        )
