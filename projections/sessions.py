"""Temporary credentials in the access-keys view: each session's ``ASIA`` key, its owner, expiry and the digest of
its session token."""

from __future__ import annotations

from sqlalchemy import Connection

from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession, federated_user_arn
from iamledger.projections.registry import handles
from iamledger.projections.tables import ACCESS_KEYS
from iamledger.projections.temporal import open_row


@handles(RoleSession.RoleAssumed, batched=True)
def _role_assumed(conn: Connection, event: RoleSession.RoleAssumed, position: int) -> None:
    open_row(
        conn,
        ACCESS_KEYS,
        position,
        access_key_id=event.key_id,
        account_id=event.account_id,
        owner_kind="session",
        owner_uuid=str(event.originator_id),
        owner_arn=f"arn:aws:sts::{event.account_id}:assumed-role/{event.role_name}/{event.session_name}",
        user_name=None,
        status="Active",
        create_date=event.timestamp,
        expiration=event.expiration,
        session_token_digest=event.session_token_digest,
    )


@handles(UserSession.SessionTokenIssued, batched=True)
def _token_issued(conn: Connection, event: UserSession.SessionTokenIssued, position: int) -> None:
    open_row(
        conn,
        ACCESS_KEYS,
        position,
        access_key_id=event.key_id,
        account_id=event.account_id,
        owner_kind="session",
        owner_uuid=str(event.originator_id),
        owner_arn=event.principal_arn,
        user_name=None,
        status="Active",
        create_date=event.timestamp,
        expiration=event.expiration,
        session_token_digest=event.session_token_digest,
    )


@handles(FederatedSession.FederationTokenIssued, batched=True)
def _federation_token_issued(conn: Connection, event: FederatedSession.FederationTokenIssued, position: int) -> None:
    open_row(
        conn,
        ACCESS_KEYS,
        position,
        access_key_id=event.key_id,
        account_id=event.account_id,
        owner_kind="session",
        owner_uuid=str(event.originator_id),
        owner_arn=federated_user_arn(event.account_id, event.federated_user_name),
        user_name=None,
        status="Active",
        create_date=event.timestamp,
        expiration=event.expiration,
        session_token_digest=event.session_token_digest,
    )
