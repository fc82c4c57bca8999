"""Temporary credentials in the access-keys view: each session's ``ASIA`` key, its owner, expiry and the digest of
its session token."""

from __future__ import annotations

from sqlalchemy import Connection

from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession, assumed_role_arn, federated_user_arn
from iamledger.projections.registry import handles
from iamledger.projections.tables import ACCESS_KEYS
from iamledger.projections.temporal import open_row

SessionIssued = RoleSession.RoleAssumed | UserSession.SessionTokenIssued | FederatedSession.FederationTokenIssued


def _owner_arn(event: SessionIssued) -> str:
    """Whom the session's key acts as: the assumed role's session, the federated user, or the user (or root user)
    that called GetSessionToken."""
    if isinstance(event, RoleSession.RoleAssumed):
        return assumed_role_arn(event.account_id, event.role_name, event.session_name)
    if isinstance(event, FederatedSession.FederationTokenIssued):
        return federated_user_arn(event.account_id, event.federated_user_name)
    return event.principal_arn


@handles(RoleSession.RoleAssumed, UserSession.SessionTokenIssued, FederatedSession.FederationTokenIssued, batched=True)
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
