"""The groups view and group membership reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Executable, Table, bindparam, select

from iamledger.domain.arns import iam_arn
from iamledger.domain.names import name_key
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import execute_prepared, live
from iamledger.projections.engine.temporal_rows import close_rows, open_row
from iamledger.projections.views.principals import (
    close_principal,
    find_by_name,
    hanging_rows,
    rename_principal,
    under_path,
)
from iamledger.projections.views.tables import GROUP_MEMBERS, GROUPS, USERS

if TYPE_CHECKING:
    from iamledger.domain.groups import Group


@prefetches("iamledger.domain.groups:Group.Updated", "iamledger.domain.groups:Group.Deleted")
def _group_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(GROUPS, "entity_uuid", str(event.originator_id))]


@prefetches("iamledger.domain.groups:Group.Deleted")
def _members(event: Any) -> list[tuple[Table, str, Any]]:
    return [(GROUP_MEMBERS, "group_uuid", str(event.originator_id)), *hanging_rows(event)]


@handles("iamledger.domain.groups:Group.Created", batched=True)
def _created(conn: Connection, event: Group.Created, position: int) -> None:
    open_row(
        conn,
        GROUPS,
        position,
        entity_uuid=str(event.originator_id),
        account_id=event.account_id,
        group_id=event.group_id,
        group_name=event.group_name,
        name_key=name_key(event.group_name),
        path=event.path,
        arn=iam_arn(event.account_id, "group", event.path, event.group_name),
        create_date=event.create_date or event.timestamp,
    )


@handles("iamledger.domain.groups:Group.Updated", batched=True)
def _updated(conn: Connection, event: Group.Updated, position: int) -> None:
    rename_principal(conn, GROUPS, "group", event, position, "group_name", event.group_name)


@handles("iamledger.domain.groups:Group.Deleted", batched=True)
def _deleted(conn: Connection, event: Group.Deleted, position: int) -> None:
    entity = str(event.originator_id)
    close_principal(conn, GROUPS, entity, position)
    close_rows(conn, GROUP_MEMBERS, position, group_uuid=entity)


def current_groups(conn: Connection, account_id: str, path_prefix: str = "/") -> list[dict[str, Any]]:
    """The account's groups whose path starts with ``path_prefix``, ordered by name."""
    return under_path(conn, GROUPS, "group_name", account_id, path_prefix)


def find_group(conn: Connection, account_id: str, group_name: str) -> dict[str, Any] | None:
    """The current group called ``group_name`` (any case), or ``None``."""
    return find_by_name(conn, GROUPS, account_id, group_name)


def members_of_group(conn: Connection, group_uuid: str) -> list[dict[str, Any]]:
    """The current users of a group, ordered by name."""

    def build() -> Executable:
        return (
            select(USERS)
            .join(GROUP_MEMBERS, GROUP_MEMBERS.c.user_uuid == USERS.c.entity_uuid)
            .where(GROUP_MEMBERS.c.group_uuid == bindparam("group_uuid"), live(GROUP_MEMBERS), live(USERS))
            .order_by(USERS.c.name_key)
        )

    return [dict(r) for r in execute_prepared(conn, members_of_group, build, group_uuid=group_uuid).mappings()]
