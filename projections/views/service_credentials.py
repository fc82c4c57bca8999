"""The view of users' service-specific credentials (CodeCommit and Amazon Keyspaces user names and passwords,
Amazon Bedrock and CloudWatch Logs API keys): one row per credential, by keyring. Passwords and API-key secrets are
in no event and no view: only their hashes, in the credential vault."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from iamledger.projections.engine.registry import handles
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import close_rows, open_row, replace_row
from iamledger.projections.views.tables import SERVICE_CREDENTIALS

if TYPE_CHECKING:
    from iamledger.domain.user_keys import UserKeyring


@handles("iamledger.domain.user_keys:UserKeyring.ServiceCredentialCreated", batched=True)
def _created(conn: Connection, event: UserKeyring.ServiceCredentialCreated, position: int) -> None:
    open_row(
        conn,
        SERVICE_CREDENTIALS,
        position,
        keyring_uuid=str(event.originator_id),
        account_id=event.account_id,
        user_uuid=str(event.user_uuid),
        credential_id=event.credential_id,
        service_name=event.service_name,
        service_user_name=event.service_user_name,
        alias=event.alias,
        status="Active",
        create_date=event.timestamp,
        expiration_date=event.expiration_date,
    )


@handles("iamledger.domain.user_keys:UserKeyring.ServiceCredentialUpdated", batched=True)
def _updated(conn: Connection, event: UserKeyring.ServiceCredentialUpdated, position: int) -> None:
    key = {"keyring_uuid": str(event.originator_id), "credential_id": event.credential_id}
    replace_row(conn, SERVICE_CREDENTIALS, position, key, status=event.status)


@handles("iamledger.domain.user_keys:UserKeyring.ServiceCredentialDeleted", batched=True)
def _deleted(conn: Connection, event: UserKeyring.ServiceCredentialDeleted, position: int) -> None:
    close_rows(
        conn, SERVICE_CREDENTIALS, position, keyring_uuid=str(event.originator_id), credential_id=event.credential_id
    )


def service_credentials_of(conn: Connection, keyring_uuid: str, service_name: str | None) -> list[dict[str, Any]]:
    """A user's service-specific credentials at the bound position (for one service, when given), oldest first."""
    table = SERVICE_CREDENTIALS
    query = select(table).where(table.c.keyring_uuid == keyring_uuid, live(table))
    if service_name is not None:
        query = query.where(table.c.service_name == service_name)
    return [dict(r) for r in conn.execute(query.order_by(table.c.create_date, table.c.credential_id)).mappings()]


def account_service_credentials(conn: Connection, account_id: str, service_name: str | None) -> list[dict[str, Any]]:
    """Every user's service-specific credentials in ``account_id`` at the bound position (for one service, when
    given), oldest first."""
    table = SERVICE_CREDENTIALS
    query = select(table).where(table.c.account_id == account_id, live(table))
    if service_name is not None:
        query = query.where(table.c.service_name == service_name)
    return [dict(r) for r in conn.execute(query.order_by(table.c.create_date, table.c.credential_id)).mappings()]
