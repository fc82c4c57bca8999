"""The audit analysis queries over the temporal views: the principals and their policies at a position, the state of
each kind of row at two positions (for diffs), and the positions at which anything a principal's permissions depend on
changed (for exposure windows). Why a policy applied (the rows that made it apply, and the events that opened them) is
:mod:`iamledger.projections.access.policy_reasons`.

Every function reads through :func:`~iamledger.projections.engine.temporal.live`, so it answers as of the position bound
with :func:`~iamledger.projections.engine.temporal.reading_at`; functions that look at the whole history
(:func:`change_points`, :func:`rows_touching`) read every row regardless of the bound position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import BindParameter, ColumnElement, Connection, Select, Table, bindparam, or_, select

from iamledger.projections.access import permissions
from iamledger.projections.engine.temporal import live, reading_at
from iamledger.projections.views.catalogue import AWS_ACCOUNT
from iamledger.projections.views.principals import PRINCIPAL_TABLES
from iamledger.projections.views.tables import (
    ACCESS_KEYS,
    ATTACHMENTS,
    GROUP_MEMBERS,
    GROUPS,
    INLINE_POLICIES,
    LOGIN_PROFILES,
    POLICIES,
    POLICY_VERSIONS,
    ROLES,
    TAGS,
    USERS,
)

__all__ = [
    "DIFF_VIEWS",
    "UNIQUE_ID_COLUMNS",
    "Holder",
    "access_key_rows",
    "attachments_of",
    "diff_rows",
    "diff_rows_changed",
    "diff_rows_touching",
    "entity_names",
    "groups_of_users",
    "holders",
    "label_at",
    "label_history",
    "live_rows",
    "login_profile_rows",
    "memberships_of_user",
    "policy_ids",
    "principal_at",
    "principal_rows",
    "principals_named",
    "principals_touched",
    "row_of",
    "rows_touching",
    "sessions_valid_at",
]

# The unique id AWS gives a user, group or role (AIDA..., AGPA..., AROA...): unlike its ARN, never given to another.
UNIQUE_ID_COLUMNS: Final = {"user": "user_id", "group": "group_id", "role": "role_id"}
_CHUNK: Final = 500  # values per ``IN (...)``


def principal_at(conn: Connection, arn: str) -> tuple[str, dict[str, Any]] | None:
    """The user, group or role called ``arn`` at the bound position, as ``(kind, row)``."""
    for kind, table in PRINCIPAL_TABLES.items():
        if f":{kind}/" not in arn:
            continue
        row = conn.execute(select(table).where(table.c.arn == arn, live(table))).mappings().first()
        if row is not None:
            return kind, dict(row)
    return None


@dataclass(frozen=True, slots=True)
class Holder:
    """A principal that was called an ARN, and the positions ``[start, end)`` in which it was (``end`` ``None``
    while it still is)."""

    kind: str
    entity: str
    principal_id: str
    held: tuple[tuple[int, int | None], ...]

    def holds(self, position: int) -> bool:
        """Whether the ARN named this principal at ``position``."""
        return any(start <= position and (end is None or position < end) for start, end in self.held)

    def overlaps(self, start: int, stop: int) -> bool:
        """Whether the ARN named this principal at some position of ``[start, stop]``."""
        return any(begin <= stop and (end is None or end > start) for begin, end in self.held)


def holders(conn: Connection, arn: str) -> list[Holder]:
    """Every user, group or role that was ever called ``arn``, in the order they were. AWS gives the ARN of a
    deleted (or renamed) principal to the next one created or renamed with its name, with a new unique id, so an
    ARN can name several principals over the history, one at a time."""
    for kind, table in PRINCIPAL_TABLES.items():
        if f":{kind}/" not in arn:
            continue
        query = (
            select(table.c.entity_uuid, table.c[UNIQUE_ID_COLUMNS[kind]], table.c.valid_from, table.c.valid_to)
            .where(table.c.arn == arn)
            .order_by(table.c.valid_from, table.c.row_id)
        )
        spans: dict[str, tuple[str, list[tuple[int, int | None]]]] = {}
        for entity, principal_id, start, end in conn.execute(query):
            held = spans.setdefault(str(entity), (str(principal_id), []))[1]
            stop = None if end is None else int(end)
            if held and held[-1][1] == int(start):  # a row replaced (a boundary set...): the ARN still names it
                held[-1] = (held[-1][0], stop)
            else:
                held.append((int(start), stop))
        if spans:
            return [Holder(kind, entity, principal_id, tuple(held)) for entity, (principal_id, held) in spans.items()]
    return []


def row_of(conn: Connection, kind: str, entity: str) -> dict[str, Any] | None:
    """The row of a user, group or role (by aggregate id) at the bound position."""
    table = PRINCIPAL_TABLES[kind]
    row = conn.execute(select(table).where(table.c.entity_uuid == entity, live(table))).mappings().first()
    return None if row is None else dict(row)


# -- whole-history reads --------------------------------------------------------------------------------------------


def _bounds(conn: Connection, table: Table, *where: Any) -> set[int]:
    points: set[int] = set()
    for start, end in conn.execute(select(table.c.valid_from, table.c.valid_to).where(*where)):
        points.add(int(start))
        if end is not None:
            points.add(int(end))
    return points


def rows_touching(conn: Connection, table: Table, start: int, stop: int, *where: Any) -> list[dict[str, Any]]:
    """The rows of ``table`` (matching ``where``) that began or ended in the positions ``(start, stop]``."""
    began = table.c.valid_from.between(start + 1, stop)
    ended = table.c.valid_to.between(start + 1, stop)
    query = select(table).where(or_(began, ended), *where).order_by(table.c.valid_from, table.c.row_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def _touching(table: Table, start: int, stop: int) -> ColumnElement[bool]:
    """The rows of ``table`` that began or ended in the positions ``(start, stop]``."""
    return or_(table.c.valid_from.between(start + 1, stop), table.c.valid_to.between(start + 1, stop))


def principals_touched(conn: Connection, account_id: str, start: int, stop: int) -> set[str]:
    """The users and roles of ``account_id`` (aggregate ids; a few may be ids of other entities, which name no user
    or role) of which a row the permissions depend on (see :func:`change_points`) began or ended in the positions
    ``(start, stop]``, read set-based from those rows: a user's or role's own rows and tags, memberships, the inline
    policies and attachments of it or of a group it is in at ``start`` or ``stop``, the rows and versions of a
    managed policy it holds at either (attached to it or such a group, or as its boundary). Its decisions at
    ``start`` and ``stop`` can differ only if it is one of them, or holds a policy that reads the time
    (:func:`~iamledger.projections.access.permissions.time_dependent_holders`)."""
    touched: set[str] = set()
    groups: set[str] = set()
    for table in (USERS, ROLES):
        query = select(table.c.entity_uuid).where(table.c.account_id == account_id, _touching(table, start, stop))
        touched |= {str(uuid) for (uuid,) in conn.execute(query)}
    tagged = select(TAGS.c.resource_uuid).where(TAGS.c.account_id == account_id, _touching(TAGS, start, stop))
    touched |= {str(uuid) for (uuid,) in conn.execute(tagged)}
    members = select(GROUP_MEMBERS.c.user_uuid, GROUP_MEMBERS.c.group_uuid).where(
        GROUP_MEMBERS.c.account_id == account_id, _touching(GROUP_MEMBERS, start, stop)
    )
    touched |= {str(user) for user, _group in conn.execute(members)}
    renamed = select(GROUPS.c.entity_uuid).where(GROUPS.c.account_id == account_id, _touching(GROUPS, start, stop))
    groups |= {str(uuid) for (uuid,) in conn.execute(renamed)}
    for table in (INLINE_POLICIES, ATTACHMENTS):
        query = select(table.c.principal_kind, table.c.principal_uuid).where(
            table.c.account_id == account_id, _touching(table, start, stop)
        )
        for kind, uuid in conn.execute(query):
            (groups if kind == "group" else touched).add(str(uuid))
    # a managed policy is found by ARN, as attachments and boundaries name it: imported AWS ones too (account "aws")
    accounts = [account_id, AWS_ACCOUNT]
    policies = select(POLICIES.c.arn).where(POLICIES.c.account_id.in_(accounts), _touching(POLICIES, start, stop))
    arns = {str(arn) for (arn,) in conn.execute(policies)}
    versions = (
        select(POLICIES.c.arn)
        .join(POLICY_VERSIONS, POLICY_VERSIONS.c.policy_uuid == POLICIES.c.entity_uuid)
        .where(POLICIES.c.account_id.in_(accounts), _touching(POLICY_VERSIONS, start, stop))
    )
    arns |= {str(arn) for (arn,) in conn.execute(versions)}
    for position in (start, stop):
        with reading_at(position):
            users, roles = permissions.principals_holding(
                conn, account_id, {("group", group) for group in groups}, arns, as_boundary=True
            )
        touched |= users | roles
    return touched


def live_rows(conn: Connection, table: Table, *where: Any) -> list[dict[str, Any]]:
    """The rows of ``table`` (matching ``where``) at the bound position."""
    query = select(table).where(live(table), *where).order_by(table.c.valid_from, table.c.row_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def sessions_valid_at(
    conn: Connection, account_id: str, moment: Any, owner_arn: str | None = None
) -> list[dict[str, Any]]:
    """The temporary credentials (``ASIA`` keys) of the account issued at or before ``moment`` and not expired at it,
    among the rows at the bound position (optionally of one owner ARN, e.g. a role session's)."""
    where = [
        ACCESS_KEYS.c.account_id == account_id,
        ACCESS_KEYS.c.owner_kind == "session",
        ACCESS_KEYS.c.create_date <= moment,
        ACCESS_KEYS.c.expiration > moment,
    ]
    if owner_arn is not None:
        where.append(ACCESS_KEYS.c.owner_arn == owner_arn)
    return live_rows(conn, ACCESS_KEYS, *where)


def policy_ids(conn: Connection, arns: Iterable[str]) -> set[str]:
    """The aggregate ids of every customer managed policy that was ever called one of ``arns``."""
    wanted = set(arns)
    if not wanted:
        return set()
    return {str(r[0]) for r in conn.execute(select(POLICIES.c.entity_uuid).where(POLICIES.c.arn.in_(wanted)))}


def principal_rows(
    conn: Connection, kind: str, account_id: str, entities: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """The rows of the account's users, groups or roles (``kind``) at the bound position, in the order they were
    written; with ``entities``, only those with these aggregate ids (read a chunk of ids at a time, in id order)."""
    table = PRINCIPAL_TABLES[kind]
    if entities is None:
        return live_rows(conn, table, table.c.account_id == account_id)
    ordered = sorted(entities)
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        rows += live_rows(conn, table, table.c.account_id == account_id, table.c.entity_uuid.in_(chunk))
    return rows


def principals_named(conn: Connection, kind: str, account_id: str, names: Iterable[str]) -> set[str]:
    """The aggregate ids of the account's users, groups or roles (``kind``) at the bound position whose ARN or unique
    id (``AIDA...``, ``AROA...``) is one of ``names``, as a policy's ``Principal`` names them."""
    table = PRINCIPAL_TABLES[kind]
    wanted = list(names)
    unique_id = table.c[UNIQUE_ID_COLUMNS[kind]]
    rows = live_rows(conn, table, table.c.account_id == account_id, or_(table.c.arn.in_(wanted), unique_id.in_(wanted)))
    return {str(row["entity_uuid"]) for row in rows}


def access_key_rows(conn: Connection, owner_uuid: str | None = None) -> list[dict[str, Any]]:
    """The access keys (long-term and sessions') at the bound position, of one owner (a user's, a session's or an
    account root's aggregate id) or of everyone, in the order they were written."""
    if owner_uuid is None:
        return live_rows(conn, ACCESS_KEYS)
    return live_rows(conn, ACCESS_KEYS, ACCESS_KEYS.c.owner_uuid == owner_uuid)


def login_profile_rows(conn: Connection, user_uuid: str | None = None) -> list[dict[str, Any]]:
    """The login profiles (console passwords) at the bound position, of one user or of everyone."""
    if user_uuid is None:
        return live_rows(conn, LOGIN_PROFILES)
    return live_rows(conn, LOGIN_PROFILES, LOGIN_PROFILES.c.user_uuid == user_uuid)


def memberships_of_user(conn: Connection, user_uuid: str) -> list[dict[str, Any]]:
    """The group memberships of a user at the bound position (rows with ``group_uuid``), in the order they began."""
    return live_rows(conn, GROUP_MEMBERS, GROUP_MEMBERS.c.user_uuid == user_uuid)


def groups_of_users(conn: Connection, account_id: str) -> dict[str, list[dict[str, Any]]]:
    """The live group rows each user of the account is a member of at the bound position (by user aggregate id, in
    the order the memberships began): one query for the account, where asking user by user costs one per user."""
    query = (
        select(GROUP_MEMBERS.c.user_uuid, GROUPS)
        .join(GROUPS, GROUPS.c.entity_uuid == GROUP_MEMBERS.c.group_uuid)
        .where(GROUPS.c.account_id == account_id, live(GROUP_MEMBERS), live(GROUPS))
        .order_by(GROUP_MEMBERS.c.valid_from, GROUP_MEMBERS.c.row_id)
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in conn.execute(query).mappings():
        group = dict(row)
        found.setdefault(str(group.pop("user_uuid")), []).append(group)
    return found


def attachments_of(conn: Connection, owners: Iterable[str]) -> list[dict[str, Any]]:
    """The managed policy attachments (rows with ``policy_arn``) of the users, groups and roles ``owners`` (aggregate
    ids) at the bound position, in the order they began."""
    return live_rows(conn, ATTACHMENTS, ATTACHMENTS.c.principal_uuid.in_(list(owners)))


_NAMES: Final = {"user": (USERS, "user_name"), "group": (GROUPS, "group_name"), "role": (ROLES, "role_name")}


def entity_names(conn: Connection, entities: Iterable[str] | None = None) -> list[tuple[str, str, str, str]]:
    """Every user, group, role and customer managed policy at the bound position (with ``entities``, those with
    these aggregate ids only), as ``(kind, aggregate id, name, ARN)`` (kind ``user``, ``group``, ``role`` or
    ``policy``), kind by kind in the order they were written."""
    wanted = None if entities is None else sorted(set(entities))
    found: list[tuple[str, str, str, str]] = []
    for kind, (table, column) in {**_NAMES, "policy": (POLICIES, "policy_name")}.items():
        chunks = [()] if wanted is None else [wanted[i : i + _CHUNK] for i in range(0, len(wanted), _CHUNK)]
        for chunk in chunks:
            where = () if wanted is None else (table.c.entity_uuid.in_(chunk),)
            found += [
                (kind, str(row["entity_uuid"]), row[column], row["arn"]) for row in live_rows(conn, table, *where)
            ]
    return found


# -- diffs: the rows of each category of change ---------------------------------------------------------------------

DIFF_VIEWS: Final[dict[str, tuple[Table, tuple[ColumnElement[bool], ...]]]] = {
    "User": (USERS, ()),
    "Group": (GROUPS, ()),
    "Role": (ROLES, ()),
    "Policy": (POLICIES, ()),
    "PolicyVersion": (POLICY_VERSIONS, ()),
    "GroupMembership": (GROUP_MEMBERS, ()),
    "PolicyAttachment": (ATTACHMENTS, ()),
    "InlinePolicy": (INLINE_POLICIES, ()),
    "AccessKey": (ACCESS_KEYS, (ACCESS_KEYS.c.owner_kind != "session",)),
    "Session": (ACCESS_KEYS, (ACCESS_KEYS.c.owner_kind == "session",)),
}
"""The rows each category of a diff compares: a view, and which of its rows (access keys: long-term ones, or
sessions')."""


def diff_rows(conn: Connection, category: str, account_id: str) -> list[dict[str, Any]]:
    """The rows of a category of :data:`DIFF_VIEWS` at the bound position (of the account, when its view has an
    account column), in the order they were written."""
    table, where = DIFF_VIEWS[category]
    clauses = list(where)
    if "account_id" in table.c:
        clauses.append(table.c.account_id == account_id)
    return live_rows(conn, table, *clauses)


def diff_rows_changed(conn: Connection, category: str, account_id: str, start: int, stop: int) -> list[dict[str, Any]]:
    """The rows of a category of :data:`DIFF_VIEWS` (of the account, when its view has an account column) that began
    or ended in the positions ``(start, stop]``, whatever the bound position: the only rows by which the category
    can differ between ``start`` and ``stop``."""
    table, where = DIFF_VIEWS[category]
    clauses = list(where)
    if "account_id" in table.c:
        clauses.append(table.c.account_id == account_id)
    return rows_touching(conn, table, start, stop, *clauses)


def diff_rows_touching(
    conn: Connection, category: str, key: Mapping[str, Any], start: int, stop: int
) -> list[dict[str, Any]]:
    """The rows of the view of a category of :data:`DIFF_VIEWS` whose columns equal ``key`` that began or ended in
    the positions ``(start, stop]`` (:func:`rows_touching`)."""
    table, _where = DIFF_VIEWS[category]
    return rows_touching(conn, table, start, stop, *(table.c[k] == v for k, v in key.items()))


# -- names over time: how events are described ----------------------------------------------------------------------

_LABELS: Final = {**_NAMES, "policy": (POLICIES, "arn")}
"""What an event's description names an entity by: a user's, group's or role's name, a managed policy's ARN."""
_LABEL_QUERIES: dict[str, Select[tuple[Any]]] = {}
"""The statement naming an entity as of a position, per kind: built once, as describing thousands of events
(who-can on a large account) otherwise spends most of its time building it."""


def label_history(conn: Connection, kind: str, entities: Iterable[str]) -> list[tuple[str, int, int | None, str]]:
    """Every row of the users, groups, roles or managed policies (``kind``) with the aggregate ids ``entities``,
    whatever the bound position, as ``(aggregate id, valid_from, valid_to, label)``, the label being what
    :func:`label_at` answers; read a chunk of ids at a time (in id order), each chunk's in the order written."""
    table, column = _LABELS[kind]
    ordered = sorted(entities)
    found: list[tuple[str, int, int | None, str]] = []
    for start in range(0, len(ordered), _CHUNK):
        rows = conn.execute(
            select(table.c.entity_uuid, table.c.valid_from, table.c.valid_to, table.c[column])
            .where(table.c.entity_uuid.in_(ordered[start : start + _CHUNK]))
            .order_by(table.c.valid_from, table.c.row_id)
        )
        found += [
            (str(entity), int(since), None if until is None else int(until), str(label))
            for entity, since, until, label in rows
        ]
    return found


def label_at(conn: Connection, kind: str, entity: str, position: int) -> str | None:
    """What a user, group or role (``kind``) was called at ``position``, or a managed policy's (``policy``) ARN then
    (whatever the bound position); ``None`` when it did not exist then."""
    query = _LABEL_QUERIES.get(kind)
    if query is None:
        table, column = _LABELS[kind]
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
        _LABEL_QUERIES[kind] = query
    name = conn.execute(query, {"entity": entity, "position": position}).scalar()
    return None if name is None else str(name)
