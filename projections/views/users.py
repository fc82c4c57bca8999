"""The users view, and the group memberships, inline policies, attachments and tags of users."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Executable, Select, Table, and_, bindparam, select

from iamledger.domain.arns import iam_arn
from iamledger.domain.names import name_key
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import execute_prepared, live
from iamledger.projections.engine.temporal_rows import close_rows, open_row, replace_row
from iamledger.projections.views.principals import (
    account_of,
    close_principal,
    find_by_name,
    hanging_rows,
    remember_account,
    rename_principal,
)
from iamledger.projections.views.tables import GROUP_MEMBERS, GROUPS, LOGIN_PROFILES, TAGS, USERS
from iamledger.projections.views.tags import open_tags, tag_entity, untag_entity

if TYPE_CHECKING:
    from iamledger.domain.users import User


@prefetches(
    "iamledger.domain.users:User.Updated",
    "iamledger.domain.users:User.PermissionsBoundaryPut",
    "iamledger.domain.users:User.PermissionsBoundaryDeleted",
    "iamledger.domain.users:User.AddedToGroup",
    "iamledger.domain.users:User.Tagged",
    "iamledger.domain.users:User.Deleted",
)
def _user_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(USERS, "entity_uuid", str(event.originator_id))]


@prefetches("iamledger.domain.users:User.RemovedFromGroup")
def _memberships(event: Any) -> list[tuple[Table, str, Any]]:
    return [(GROUP_MEMBERS, "user_uuid", str(event.originator_id))]


@prefetches("iamledger.domain.users:User.Tagged", "iamledger.domain.users:User.Untagged")
def _tags(event: Any) -> list[tuple[Table, str, Any]]:
    return [(TAGS, "resource_uuid", str(event.originator_id))]


prefetches("iamledger.domain.users:User.Deleted")(hanging_rows)


@prefetches("iamledger.domain.users:User.LoginProfileDeleted", "iamledger.domain.users:User.Deleted")
def _login_profile(event: Any) -> list[tuple[Table, str, Any]]:
    return [(LOGIN_PROFILES, "user_uuid", str(event.originator_id))]


@handles("iamledger.domain.users:User.Created", batched=True)
def _created(conn: Connection, event: User.Created, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        USERS,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        user_id=event.user_id,
        user_name=event.user_name,
        name_key=name_key(event.user_name),
        path=event.path,
        arn=iam_arn(event.account_id, "user", event.path, event.user_name),
        create_date=event.create_date or event.timestamp,
        boundary_arn=event.permissions_boundary,
    )
    remember_account(conn, entity, event.account_id)
    open_tags(conn, position, event.account_id, "user", entity, event.tags)


@handles("iamledger.domain.users:User.Updated", batched=True)
def _updated(conn: Connection, event: User.Updated, position: int) -> None:
    rename_principal(conn, USERS, "user", event, position, "user_name", event.user_name)


@handles("iamledger.domain.users:User.PermissionsBoundaryPut", batched=True)
def _boundary_put(conn: Connection, event: User.PermissionsBoundaryPut, position: int) -> None:
    replace_row(conn, USERS, position, {"entity_uuid": str(event.originator_id)}, boundary_arn=event.policy_arn)


@handles("iamledger.domain.users:User.PermissionsBoundaryDeleted", batched=True)
def _boundary_deleted(conn: Connection, event: User.PermissionsBoundaryDeleted, position: int) -> None:
    replace_row(conn, USERS, position, {"entity_uuid": str(event.originator_id)}, boundary_arn=None)


@handles("iamledger.domain.users:User.AddedToGroup", batched=True)
def _joined(conn: Connection, event: User.AddedToGroup, position: int) -> None:
    open_row(
        conn,
        GROUP_MEMBERS,
        position,
        account_id=account_of(conn, str(event.originator_id), (USERS,)),
        group_uuid=str(event.group_id),
        user_uuid=str(event.originator_id),
    )


@handles("iamledger.domain.users:User.RemovedFromGroup", batched=True)
def _left(conn: Connection, event: User.RemovedFromGroup, position: int) -> None:
    close_rows(conn, GROUP_MEMBERS, position, group_uuid=str(event.group_id), user_uuid=str(event.originator_id))


@handles("iamledger.domain.users:User.Tagged", batched=True)
def _tagged(conn: Connection, event: User.Tagged, position: int) -> None:
    tag_entity(conn, event, position, account_of(conn, str(event.originator_id)), "user")


@handles("iamledger.domain.users:User.Untagged", batched=True)
def _untagged(conn: Connection, event: User.Untagged, position: int) -> None:
    untag_entity(conn, event, position, "user")


@handles("iamledger.domain.users:User.LoginProfileCreated", batched=True)
def _login_profile_created(conn: Connection, event: User.LoginProfileCreated, position: int) -> None:
    open_row(conn, LOGIN_PROFILES, position, user_uuid=str(event.originator_id), create_date=event.timestamp)


@handles("iamledger.domain.users:User.LoginProfileDeleted", batched=True)
def _login_profile_deleted(conn: Connection, event: User.LoginProfileDeleted, position: int) -> None:
    close_rows(conn, LOGIN_PROFILES, position, user_uuid=str(event.originator_id))


@handles("iamledger.domain.users:User.Deleted", batched=True)
def _deleted(conn: Connection, event: User.Deleted, position: int) -> None:
    close_principal(conn, USERS, str(event.originator_id), position)
    close_rows(conn, LOGIN_PROFILES, position, user_uuid=str(event.originator_id))


def _users_query() -> Select[Any]:
    """The account's live users whose path is like ``path``, ordered by name (the statement both reads share)."""
    return (
        select(USERS)
        .where(USERS.c.account_id == bindparam("account_id"), live(USERS))
        .where(USERS.c.path.like(bindparam("path"), "/"))
        .order_by(USERS.c.name_key, USERS.c.user_name)
    )


def _path_pattern(path_prefix: str) -> str:
    return path_prefix.replace("/", "//").replace("%", "/%").replace("_", "/_") + "%"  # a prefix, not a pattern


def current_users(conn: Connection, account_id: str, path_prefix: str = "/") -> list[dict[str, Any]]:
    """The account's users whose path starts with ``path_prefix``, ordered by name."""
    values = {"account_id": account_id, "path": _path_pattern(path_prefix)}
    return [dict(r) for r in execute_prepared(conn, current_users, _users_query, **values).mappings()]


def users_page(conn: Connection, account_id: str, path_prefix: str, offset: int, limit: int) -> list[dict[str, Any]]:
    """``limit`` users of :func:`current_users` from ``offset`` on, in its order, read with SQL's ``LIMIT`` and
    ``OFFSET``: a page of a large account without reading the users before and after it."""

    def build() -> Executable:
        return _users_query().limit(bindparam("limit")).offset(bindparam("offset"))

    values = {"account_id": account_id, "path": _path_pattern(path_prefix), "limit": limit, "offset": offset}
    return [dict(r) for r in execute_prepared(conn, users_page, build, **values).mappings()]


def find_user(conn: Connection, account_id: str, user_name: str) -> dict[str, Any] | None:
    """The current user called ``user_name`` (any case), or ``None``."""
    return find_by_name(conn, USERS, account_id, user_name)


def groups_of_user(conn: Connection, user_uuid: str) -> list[dict[str, Any]]:
    """The current groups of a user, ordered by name."""

    def build() -> Executable:
        return (
            select(GROUPS)
            .join(GROUP_MEMBERS, and_(GROUP_MEMBERS.c.group_uuid == GROUPS.c.entity_uuid))
            .where(GROUP_MEMBERS.c.user_uuid == bindparam("user_uuid"), live(GROUP_MEMBERS), live(GROUPS))
            .order_by(GROUPS.c.name_key)
        )

    return [dict(r) for r in execute_prepared(conn, groups_of_user, build, user_uuid=user_uuid).mappings()]


def find_user_by_arn(conn: Connection, arn: str) -> dict[str, Any] | None:
    """The user called ``arn`` at the bound position, or ``None``."""
    row = conn.execute(select(USERS).where(USERS.c.arn == arn, live(USERS))).mappings().first()
    return dict(row) if row else None


def find_user_by_uuid(conn: Connection, user_uuid: str) -> dict[str, Any] | None:
    """The user with the aggregate id ``user_uuid`` at the bound position, or ``None``."""
    row = conn.execute(select(USERS).where(USERS.c.entity_uuid == user_uuid, live(USERS))).mappings().first()
    return dict(row) if row else None


def user_creation_dates(conn: Connection, account_id: str) -> list[tuple[str, Any]]:
    """The account's users at the bound position as ``(entity_uuid, create_date)``, oldest first."""
    query = (
        select(USERS.c.entity_uuid, USERS.c.create_date)
        .where(USERS.c.account_id == account_id, live(USERS))
        .order_by(USERS.c.create_date, USERS.c.row_id)
    )
    return [(str(entity), created) for entity, created in conn.execute(query)]


def user_uuid_of_arn(conn: Connection, arn: str) -> str | None:
    """The aggregate id of the user called ``arn`` at the bound position, or ``None``."""
    row = conn.execute(select(USERS.c.entity_uuid).where(USERS.c.arn == arn, live(USERS))).first()
    return None if row is None else str(row[0])
