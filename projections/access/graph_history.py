"""Where the escalation graph of an account can change, read from the temporal views over the whole history (whatever
the bound position): the positions at which a row of the account's principals and policies began or ended
(:func:`account_change_points`), those of a few entities (:func:`entities_change_points`), and an access key's rows
over time (:func:`access_key_history`). The per-principal change points are
:func:`iamledger.projections.access.change_points.change_points`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Table, or_, select

from iamledger.projections.access.analysis import _bounds
from iamledger.projections.views.catalogue import AWS_ACCOUNT
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
    "access_key_history",
    "account_change_points",
    "entities_change_points",
    "groups_whose_members_changed",
    "structure_changed",
]


def entities_change_points(conn: Connection, entities: Iterable[str]) -> set[int]:
    """Every position at which a row of the users, groups, roles or managed policies with the aggregate ids
    ``entities`` began or ended: their own rows, login profiles, tags, memberships (as user or group), inline
    policies, attachments and versions, and the rows and versions of every managed policy ever attached to them
    (whatever the bound position)."""
    ids = sorted(set(entities))
    if not ids:
        return set()
    points: set[int] = set()
    for table in (USERS, ROLES, GROUPS, POLICIES):
        points |= _bounds(conn, table, table.c.entity_uuid.in_(ids))
    points |= _bounds(conn, LOGIN_PROFILES, LOGIN_PROFILES.c.user_uuid.in_(ids))
    points |= _bounds(conn, TAGS, TAGS.c.resource_uuid.in_(ids))
    points |= _bounds(conn, GROUP_MEMBERS, or_(GROUP_MEMBERS.c.user_uuid.in_(ids), GROUP_MEMBERS.c.group_uuid.in_(ids)))
    points |= _bounds(conn, INLINE_POLICIES, INLINE_POLICIES.c.principal_uuid.in_(ids))
    points |= _bounds(conn, ATTACHMENTS, ATTACHMENTS.c.principal_uuid.in_(ids))
    attached = select(ATTACHMENTS.c.policy_arn).where(ATTACHMENTS.c.principal_uuid.in_(ids))
    policies = select(POLICIES.c.entity_uuid).where(or_(POLICIES.c.arn.in_(attached), POLICIES.c.entity_uuid.in_(ids)))
    points |= _bounds(conn, POLICIES, POLICIES.c.entity_uuid.in_(policies))
    points |= _bounds(conn, POLICY_VERSIONS, POLICY_VERSIONS.c.policy_uuid.in_(policies))
    return points


def _bounds_within(conn: Connection, table: Table, start: int, stop: int, *where: Any) -> set[int]:
    points: set[int] = set()
    for column in (table.c.valid_from, table.c.valid_to):
        query = select(column).distinct().where(column.between(start + 1, stop), *where)
        points |= {int(position) for (position,) in conn.execute(query)}
    return points


def account_change_points(conn: Connection, account_id: str, start: int, stop: int) -> list[int]:
    """Every position in ``(start, stop]`` at which a row of ``account_id`` that any of its principals' permissions
    or the escalation graph depend on began or ended, in order: users and roles (boundary, trust policy), groups,
    memberships, inline policies, attachments, tags, the managed policies of the account and the imported AWS
    managed ones with their versions (default version), and its users' login profiles. Between two such positions
    nothing the graph reads changes (only the time, for a condition that reads it)."""
    points: set[int] = set()
    for table in (USERS, ROLES, GROUPS, GROUP_MEMBERS, INLINE_POLICIES, ATTACHMENTS, TAGS):
        points |= _bounds_within(conn, table, start, stop, table.c.account_id == account_id)
    accounts = [account_id, AWS_ACCOUNT]
    points |= _bounds_within(conn, POLICIES, start, stop, POLICIES.c.account_id.in_(accounts))
    policies = select(POLICIES.c.entity_uuid).where(POLICIES.c.account_id.in_(accounts))
    points |= _bounds_within(conn, POLICY_VERSIONS, start, stop, POLICY_VERSIONS.c.policy_uuid.in_(policies))
    users = select(USERS.c.entity_uuid).where(USERS.c.account_id == account_id)
    points |= _bounds_within(conn, LOGIN_PROFILES, start, stop, LOGIN_PROFILES.c.user_uuid.in_(users))
    return sorted(points)


def access_key_history(conn: Connection, access_key_id: str) -> list[dict[str, Any]]:
    """Every row the access key ``access_key_id`` ever had (its status over time), whatever the bound position, in
    the order they began."""
    query = (
        select(ACCESS_KEYS)
        .where(ACCESS_KEYS.c.access_key_id == access_key_id)
        .order_by(ACCESS_KEYS.c.valid_from, ACCESS_KEYS.c.row_id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def structure_changed(conn: Connection, account_id: str, start: int, stop: int) -> bool:
    """Whether, in the positions ``(start, stop]``, a row of the account began or ended that changes more of the
    escalation graph than the edges its principals decide: a user, group or role (created, deleted, renamed, its
    boundary or trust policy changed), a login profile, or a group's inline policy or attachment (what joining the
    group would give). Other changes (a principal's own policies, memberships and tags, the versions of the policies
    it holds) change only the edges of the principals they touch
    (:func:`~iamledger.projections.access.analysis.principals_touched`)."""
    for table in (USERS, ROLES, GROUPS):
        if _bounds_within(conn, table, start, stop, table.c.account_id == account_id):
            return True
    for table in (INLINE_POLICIES, ATTACHMENTS):
        where = (table.c.account_id == account_id, table.c.principal_kind == "group")
        if _bounds_within(conn, table, start, stop, *where):
            return True
    users = select(USERS.c.entity_uuid).where(USERS.c.account_id == account_id)
    return bool(_bounds_within(conn, LOGIN_PROFILES, start, stop, LOGIN_PROFILES.c.user_uuid.in_(users)))


def groups_whose_members_changed(conn: Connection, account_id: str, start: int, stop: int) -> set[str]:
    """The groups of ``account_id`` (aggregate ids) a user joined or left in the positions ``(start, stop]``: the
    grants of those who may change a group's policies reach its members, so they change with the members."""
    where = (GROUP_MEMBERS.c.account_id == account_id,)
    found: set[str] = set()
    for column in (GROUP_MEMBERS.c.valid_from, GROUP_MEMBERS.c.valid_to):
        query = select(GROUP_MEMBERS.c.group_uuid).distinct().where(column.between(start + 1, stop), *where)
        found |= {str(uuid) for (uuid,) in conn.execute(query)}
    return found
