"""Temporary credentials: role sessions (AssumeRole) and user sessions (GetSessionToken).

A session's aggregate records who obtained it, for which role or user, until when, and with which session policy and
tags. Its credentials are an ``ASIA`` access key id (in the event), a secret (only in the credential vault) and a
session token (only its SHA-256 digest is kept, so a presented token can be checked and never recovered).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final, Self

from iamledger.domain.base import AuditedAggregate

ROLE_CHAINING_MAX_SECONDS: Final = 3600
MIN_DURATION_SECONDS: Final = 900


class RoleSession(AuditedAggregate):
    """A session of a role, created by ``sts:AssumeRole``. The sessions of the federation operations are subclasses
    whose created event adds fields to ``RoleAssumed``'s; their event's ``apply`` keeps what the aggregate needs of
    them, so this ``__init__`` serves them all."""

    class RoleAssumed(AuditedAggregate.Created):
        account_id: str
        role_uuid: uuid.UUID
        role_arn: str
        role_id: str
        role_name: str
        session_name: str
        caller_arn: str
        key_id: str
        secret_fingerprint: str
        session_token_digest: str
        issued_at: datetime
        expiration: datetime
        duration_seconds: int
        session_policy: str | None
        policy_arns: list[str]
        source_identity: str | None
        tags: list[dict[str, str]]
        transitive_tag_keys: list[str]
        chained: bool
        external_id_given: bool

    assumed_event = "RoleAssumed"  # the name of the class's created event (not annotated: no dataclass field)

    def __init__(
        self,
        account_id: str,
        role_uuid: uuid.UUID,
        role_arn: str,
        role_id: str,
        role_name: str,
        session_name: str,
        caller_arn: str,
        key_id: str,
        secret_fingerprint: str,
        session_token_digest: str,
        issued_at: datetime,
        expiration: datetime,
        duration_seconds: int,
        session_policy: str | None,
        policy_arns: list[str],
        source_identity: str | None,
        tags: list[dict[str, str]],
        transitive_tag_keys: list[str],
        chained: bool,
        external_id_given: bool,
    ) -> None:
        self.account_id = account_id
        self.role_uuid = role_uuid
        self.role_arn = role_arn
        self.role_id = role_id
        self.role_name = role_name
        self.session_name = session_name
        self.caller_arn = caller_arn
        self.key_id = key_id
        self.session_token_digest = session_token_digest
        self.issued_at = issued_at
        self.expiration = expiration
        self.session_policy = session_policy
        self.policy_arns = list(policy_arns)
        self.source_identity = source_identity
        self.tags = list(tags)
        self.transitive_tag_keys = list(transitive_tag_keys)
        self.chained = chained
        del secret_fingerprint, duration_seconds, external_id_given

    @classmethod
    def assume(cls, **fields: Any) -> Self:
        """A new session of this class, recorded by its created event (named by ``assumed_event``): ``RoleAssumed``,
        or a subclass's own with its further ``fields`` (the constructor takes only ``RoleAssumed``'s fields)."""
        return cls._create(getattr(cls, cls.assumed_event), **fields)

    @property
    def arn(self) -> str:
        """``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` (no role path, as AWS)."""
        return assumed_role_arn(self.account_id, self.role_name, self.session_name)

    @property
    def assumed_role_id(self) -> str:
        """``AROA...:SESSION``, the session's ``aws:userid``."""
        return f"{self.role_id}:{self.session_name}"


class UserSession(AuditedAggregate):
    """A session of an IAM user or of the root user, created by ``sts:GetSessionToken``."""

    class SessionTokenIssued(AuditedAggregate.Created):
        account_id: str
        principal_arn: str
        key_id: str
        secret_fingerprint: str
        session_token_digest: str
        expiration: datetime
        duration_seconds: int
        mfa_authenticated: bool

    def __init__(
        self,
        account_id: str,
        principal_arn: str,
        key_id: str,
        secret_fingerprint: str,
        session_token_digest: str,
        expiration: datetime,
        duration_seconds: int,
        mfa_authenticated: bool,
    ) -> None:
        self.account_id = account_id
        self.principal_arn = principal_arn
        self.key_id = key_id
        self.session_token_digest = session_token_digest
        self.expiration = expiration
        self.mfa_authenticated = mfa_authenticated
        del secret_fingerprint, duration_seconds


class FederatedSession(AuditedAggregate):
    """A federated-user session, created by ``sts:GetFederationToken`` for an IAM user (or the root user). Its
    permissions are the issuing principal's policies intersected with the session policies passed; without any
    session policy it may do nothing."""

    class FederationTokenIssued(AuditedAggregate.Created):
        account_id: str
        principal_arn: str
        federated_user_name: str
        key_id: str
        secret_fingerprint: str
        session_token_digest: str
        issued_at: datetime
        expiration: datetime
        duration_seconds: int
        session_policy: str | None
        policy_arns: list[str]
        tags: list[dict[str, str]]

    def __init__(
        self,
        account_id: str,
        principal_arn: str,
        federated_user_name: str,
        key_id: str,
        secret_fingerprint: str,
        session_token_digest: str,
        issued_at: datetime,
        expiration: datetime,
        duration_seconds: int,
        session_policy: str | None,
        policy_arns: list[str],
        tags: list[dict[str, str]],
    ) -> None:
        del secret_fingerprint, duration_seconds
        self.account_id = account_id
        self.principal_arn = principal_arn
        self.federated_user_name = federated_user_name
        self.key_id = key_id
        self.session_token_digest = session_token_digest
        self.issued_at = issued_at
        self.expiration = expiration
        self.session_policy = session_policy
        self.policy_arns = list(policy_arns)
        self.tags = list(tags)

    @property
    def arn(self) -> str:
        """``arn:aws:sts::ACCOUNT:federated-user/NAME``."""
        return federated_user_arn(self.account_id, self.federated_user_name)


def assumed_role_arn(account_id: str, role_name: str, session_name: str) -> str:
    """The ARN of a role session: ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` (no role path, as AWS)."""
    return f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"


def federated_user_arn(account_id: str, name: str) -> str:
    """The ARN of a federated user: ``arn:aws:sts::ACCOUNT:federated-user/NAME``."""
    return f"arn:aws:sts::{account_id}:federated-user/{name}"
