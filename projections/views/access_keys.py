"""The access keys view: one row per long-term access key of a root user or an IAM user, with its status and last
recorded use (never its secret: that is in the credential vault, under the key's id)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Engine, Table, select

from iamledger.domain.ids import root_arn
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import close_rows, current_row, current_rows, open_row, replace_row
from iamledger.projections.views.tables import ACCESS_KEYS, ACCOUNTS, USERS

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account
    from iamledger.domain.users import User


@prefetches(
    "iamledger.domain.accounts:Account.RootAccessKeyUpdated",
    "iamledger.domain.users:User.AccessKeyUpdated",
    "iamledger.domain.accounts:Account.RootAccessKeyDeleted",
    "iamledger.domain.users:User.AccessKeyDeleted",
    "iamledger.domain.accounts:Account.RootAccessKeyUsed",
    "iamledger.domain.users:User.AccessKeyUsed",
)
def _key_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(ACCESS_KEYS, "access_key_id", event.key_id)]


@prefetches("iamledger.domain.users:User.AccessKeyCreated")
def _owner_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(USERS, "entity_uuid", str(event.originator_id))]


@prefetches("iamledger.domain.users:User.Updated")
def _owner_keys(event: Any) -> list[tuple[Table, str, Any]]:
    return [(ACCESS_KEYS, "owner_uuid", str(event.originator_id))]


def _account_id_of(conn: Connection, account_uuid: str) -> str:
    """The account id of an ``Account`` aggregate (whose id is derived from the account id)."""
    from iamledger.domain.accounts import Account

    for row in current_rows(conn, ACCOUNTS):
        if str(Account.create_id(row["account_id"])) == account_uuid:
            return str(row["account_id"])
    return ""


@handles("iamledger.domain.accounts:Account.RootAccessKeyCreated", batched=True)
def _root_key_created(conn: Connection, event: Account.RootAccessKeyCreated, position: int) -> None:
    account_id = _account_id_of(conn, str(event.originator_id))
    open_row(
        conn,
        ACCESS_KEYS,
        position,
        access_key_id=event.key_id,
        account_id=account_id,
        owner_kind="root",
        owner_uuid=str(event.originator_id),
        owner_arn=root_arn(account_id),
        user_name=None,
        status="Active",
        create_date=event.timestamp,
    )


@handles(
    "iamledger.domain.accounts:Account.RootAccessKeyUpdated",
    "iamledger.domain.users:User.AccessKeyUpdated",
    batched=True,
)
def _status_updated(
    conn: Connection, event: Account.RootAccessKeyUpdated | User.AccessKeyUpdated, position: int
) -> None:
    replace_row(conn, ACCESS_KEYS, position, {"access_key_id": event.key_id}, status=event.status)


@handles(
    "iamledger.domain.accounts:Account.RootAccessKeyDeleted",
    "iamledger.domain.users:User.AccessKeyDeleted",
    batched=True,
)
def _deleted(conn: Connection, event: Account.RootAccessKeyDeleted | User.AccessKeyDeleted, position: int) -> None:
    close_rows(conn, ACCESS_KEYS, position, access_key_id=event.key_id)


@handles(
    "iamledger.domain.accounts:Account.RootAccessKeyUsed", "iamledger.domain.users:User.AccessKeyUsed", batched=True
)
def _used(conn: Connection, event: Account.RootAccessKeyUsed | User.AccessKeyUsed, position: int) -> None:
    replace_row(
        conn,
        ACCESS_KEYS,
        position,
        {"access_key_id": event.key_id},
        last_used_date=event.timestamp,
        last_used_service=event.service_name,
        last_used_region=event.region,
    )


@handles("iamledger.domain.users:User.AccessKeyCreated", batched=True)
def _user_key_created(conn: Connection, event: User.AccessKeyCreated, position: int) -> None:
    user = current_row(conn, USERS, entity_uuid=str(event.originator_id)) or {}
    open_row(
        conn,
        ACCESS_KEYS,
        position,
        access_key_id=event.key_id,
        account_id=user.get("account_id", ""),
        owner_kind="user",
        owner_uuid=str(event.originator_id),
        owner_arn=user.get("arn", ""),
        user_name=user.get("user_name"),
        status="Active",
        create_date=event.timestamp,
    )


@handles("iamledger.domain.users:User.Updated", batched=True)
def _user_renamed(conn: Connection, event: User.Updated, position: int) -> None:
    """A renamed or moved user's keys follow it: their owner ARN and user name change."""
    owner = str(event.originator_id)
    for row in current_rows(conn, ACCESS_KEYS, owner_uuid=owner):
        key_id, account_id = row["access_key_id"], row["account_id"]
        arn = f"arn:aws:iam::{account_id}:user{event.path}{event.user_name}"
        replace_row(conn, ACCESS_KEYS, position, {"access_key_id": key_id}, owner_arn=arn, user_name=event.user_name)


def find_access_key(conn: Connection, access_key_id: str) -> dict[str, Any] | None:
    """The current row of an access key (any account; long-term or a session's ``ASIA`` key): ``access_key_id``,
    ``account_id``, ``owner_kind`` (``root``, ``user`` or ``session``; sessions add ``expiration`` and
    ``session_token_digest``), ``owner_uuid``, ``owner_arn``, ``user_name``, ``status`` (``Active``/``Inactive``),
    ``create_date`` and the ``last_used_*`` columns; ``None`` for an unknown or deleted key. Request authentication
    pairs it with ``store.vault.get_secret(access_key_id)``."""
    return current_row(conn, ACCESS_KEYS, access_key_id=access_key_id)


def access_key_ever_existed(conn: Connection, access_key_id: str, account_id: str | None = None) -> bool:
    """Whether ``access_key_id`` was ever a key of ``account_id`` (any account: ``None``): any row of the view,
    current or closed, whatever the read position, so a key deleted long ago still counts (``audit history``). One
    probe of the index on the key id."""
    query = select(ACCESS_KEYS.c.account_id).where(ACCESS_KEYS.c.access_key_id == access_key_id)
    if account_id is not None:
        query = query.where(ACCESS_KEYS.c.account_id == account_id)
    return conn.execute(query.limit(1)).first() is not None


class AccessKeyRows:
    """:func:`find_access_key`'s answers, remembered while the views stay at one position (request authentication
    reads the same key's row on every request; the views change only by moving to another position), and past a
    move of this process's projector that did not touch the key rows (:meth:`advanced`). The rows are shared:
    callers must not change them."""

    MAX_ROWS: Final = 10_000

    def __init__(self) -> None:
        self._position = -1
        self._rows: dict[str, dict[str, Any] | None] = {}

    def advanced(self, start: int, end: int, *, touched: bool) -> None:
        """The views were moved from ``start`` to ``end`` by this process, changing the key rows or not
        (``touched``): rows remembered at ``start`` still hold at ``end`` when they were not. (A move by another
        process is not reported here: the position differs, and :meth:`find` forgets.)"""
        if touched:
            self._rows.clear()
            self._position = -1
        elif self._position == start:
            self._position = end

    def find(self, engine: Engine, access_key_id: str, position: int) -> dict[str, Any] | None:
        """The key's current row, the views being at ``position`` (what the projector's catch-up returned); a
        connection of ``engine`` is taken only when the row is not remembered."""
        if position != self._position:
            self._rows.clear()
            self._position = position
        try:
            return self._rows[access_key_id]
        except KeyError:
            with engine.connect() as conn:
                row = find_access_key(conn, access_key_id)
            if len(self._rows) < self.MAX_ROWS:
                self._rows[access_key_id] = row
            return row


def keys_of_owner(conn: Connection, owner_uuid: str) -> list[dict[str, Any]]:
    """The current keys of one user (or of one account's root), oldest first."""
    query = (
        select(ACCESS_KEYS)
        .where(ACCESS_KEYS.c.owner_uuid == owner_uuid, live(ACCESS_KEYS))
        .order_by(ACCESS_KEYS.c.create_date, ACCESS_KEYS.c.access_key_id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]
