"""The accounts view: each account's id, alias and creation date."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from iamledger.domain.accounts import Account
from iamledger.projections.registry import handles
from iamledger.projections.tables import ACCOUNTS
from iamledger.projections.temporal import live, open_row, replace_row


@handles(Account.Created, batched=True)
def _created(conn: Connection, event: Account.Created, position: int) -> None:
    open_row(conn, ACCOUNTS, position, account_id=event.account_id, alias=None, create_date=event.timestamp)


@handles(Account.AliasCreated, batched=True)
def _alias_created(conn: Connection, event: Account.AliasCreated, position: int) -> None:
    replace_row(conn, ACCOUNTS, position, {"account_id": event.account_id}, alias=event.alias)


@handles(Account.AliasDeleted, batched=True)
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
