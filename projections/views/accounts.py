"""The accounts view: each account's id, alias and creation date; and the counts of an account's entities."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Table, func, select

from iamledger.projections.engine.registry import handles
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import open_row, replace_row
from iamledger.projections.views.tables import (
    ACCOUNTS,
    ATTACHMENTS,
    GROUPS,
    INSTANCE_PROFILES,
    MFA_DEVICES,
    POLICIES,
    ROLES,
    SERVER_CERTIFICATES,
    USERS,
)

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account


@handles("iamledger.domain.accounts:Account.Created", batched=True)
def _created(conn: Connection, event: Account.Created, position: int) -> None:
    open_row(conn, ACCOUNTS, position, account_id=event.account_id, alias=None, create_date=event.timestamp)


@handles("iamledger.domain.accounts:Account.AliasCreated", batched=True)
def _alias_created(conn: Connection, event: Account.AliasCreated, position: int) -> None:
    replace_row(conn, ACCOUNTS, position, {"account_id": event.account_id}, alias=event.alias)


@handles("iamledger.domain.accounts:Account.AliasDeleted", batched=True)
def _alias_deleted(conn: Connection, event: Account.AliasDeleted, position: int) -> None:
    replace_row(conn, ACCOUNTS, position, {"account_id": event.account_id}, alias=None)


def list_accounts(conn: Connection) -> list[dict[str, Any]]:
    """Every current account, in creation order."""
    rows = conn.execute(select(ACCOUNTS).where(live(ACCOUNTS)).order_by(ACCOUNTS.c.valid_from))
    return [dict(r) for r in rows.mappings()]


def account_alias(conn: Connection, account_id: str) -> str | None:
    """The current alias of an account, if it has one."""
    query = select(ACCOUNTS.c.alias).where(ACCOUNTS.c.account_id == account_id, live(ACCOUNTS))
    value = conn.execute(query).scalar()
    return None if value is None else str(value)


def account_create_date(conn: Connection, account_id: str) -> datetime | None:
    """When the account was created, ``None`` for an account not in the view at the bound position."""
    query = select(ACCOUNTS.c.create_date).where(ACCOUNTS.c.account_id == account_id, live(ACCOUNTS))
    value: datetime | None = conn.execute(query).scalar()
    return value


def _count(conn: Connection, table: Table, account_id: str, *where: ColumnElement[bool]) -> int:
    query = select(func.count()).where(table.c.account_id == account_id, live(table), *where)
    return int(conn.execute(query).scalar() or 0)


def entity_counts(conn: Connection, account_id: str) -> dict[str, int]:
    """How many of each kind of entity the account has at the bound position: ``users``, ``groups``, ``roles``,
    ``policies`` (customer managed), ``instance_profiles``, ``attachments`` (of managed policies to users, groups
    and roles), ``mfa_devices``, ``mfa_devices_in_use`` (enabled for a user) and ``server_certificates``."""
    return {
        "users": _count(conn, USERS, account_id),
        "groups": _count(conn, GROUPS, account_id),
        "roles": _count(conn, ROLES, account_id),
        "policies": _count(conn, POLICIES, account_id),
        "instance_profiles": _count(conn, INSTANCE_PROFILES, account_id),
        "attachments": _count(conn, ATTACHMENTS, account_id),
        "mfa_devices": _count(conn, MFA_DEVICES, account_id),
        "mfa_devices_in_use": _count(conn, MFA_DEVICES, account_id, MFA_DEVICES.c.user_uuid.is_not(None)),
        "server_certificates": _count(conn, SERVER_CERTIFICATES, account_id),
    }
