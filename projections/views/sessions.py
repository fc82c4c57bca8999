"""Temporary credentials in the access-keys view: each session's ``ASIA`` key, its owner, expiry and the digest of
its session token."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from iamledger.projections.engine.registry import handles
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import open_row
from iamledger.projections.views.tables import ACCESS_KEYS

if TYPE_CHECKING:
    from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession

    SessionIssued = RoleSession.RoleAssumed | UserSession.SessionTokenIssued | FederatedSession.FederationTokenIssued


def _owner_arn(event: SessionIssued) -> str:
    """Whom the session's key acts as: the assumed role's session, the federated user, or the user (or root user)
    that called GetSessionToken."""
    from iamledger.domain.sessions import FederatedSession, RoleSession, assumed_role_arn, federated_user_arn

    if isinstance(event, RoleSession.RoleAssumed):
        return assumed_role_arn(event.account_id, event.role_name, event.session_name)
    if isinstance(event, FederatedSession.FederationTokenIssued):
        return federated_user_arn(event.account_id, event.federated_user_name)
    return event.principal_arn


@handles(
    "iamledger.domain.sessions:RoleSession.RoleAssumed",
    "iamledger.domain.sessions:UserSession.SessionTokenIssued",
    "iamledger.domain.sessions:FederatedSession.FederationTokenIssued",
    batched=True,
)
def _session_issued(conn: Connection, event: SessionIssued, position: int) -> None:
    open_row(
        conn,
        ACCESS_KEYS,
        position,
        access_key_id=event.key_id,
        account_id=event.account_id,
        owner_kind="session",
        owner_uuid=str(event.originator_id),
        owner_arn=_owner_arn(event),
        user_name=None,
        status="Active",
        create_date=event.timestamp,
        expiration=event.expiration,
        session_token_digest=event.session_token_digest,
    )


def valid_sessions(
    conn: Connection, account_id: str, moment: datetime, owner_arn_prefix: str | None = None
) -> list[dict[str, Any]]:
    """The account's temporary credentials (``ASIA`` keys) among the rows at the bound position issued at or before
    ``moment`` and not expired at it (optionally only those whose owner ARN starts with ``owner_arn_prefix``),
    ordered by issue time then key id."""
    query = select(ACCESS_KEYS).where(
        ACCESS_KEYS.c.account_id == account_id,
        ACCESS_KEYS.c.owner_kind == "session",
        live(ACCESS_KEYS),
        ACCESS_KEYS.c.create_date <= moment,
        ACCESS_KEYS.c.expiration > moment,
    )
    if owner_arn_prefix is not None:
        query = query.where(ACCESS_KEYS.c.owner_arn.startswith(owner_arn_prefix))
    rows = conn.execute(query.order_by(ACCESS_KEYS.c.create_date, ACCESS_KEYS.c.access_key_id)).mappings()
    return [dict(row) for row in rows]


def session_of_key(conn: Connection, access_key_id: str) -> str | None:
    """The aggregate id of the session whose temporary key is ``access_key_id`` at the bound position; ``None`` for
    a key of no session (a long-term key, an unknown one)."""
    key = conn.execute(
        select(ACCESS_KEYS.c.owner_uuid).where(
            ACCESS_KEYS.c.access_key_id == access_key_id, ACCESS_KEYS.c.owner_kind == "session", live(ACCESS_KEYS)
        )
    ).first()
    return None if key is None or not key[0] else str(key[0])
