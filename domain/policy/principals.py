"""Who makes a request: a small frozen description of the calling principal.

Build one with the class methods (:meth:`Principal.user`, :meth:`Principal.assumed_role`, ...), which derive the
ARNs and ids AWS uses. ``arn`` is the principal of the request (for a role session the *session* ARN
``arn:aws:sts::A:assumed-role/<role>/<session>``, without the role's path); ``role_arn`` is the role's own ARN
(with path), which is what ``aws:PrincipalArn`` holds for sessions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class PrincipalType(StrEnum):
    """The kind of caller; values are what ``aws:PrincipalType`` holds."""

    ROOT = "Account"
    USER = "User"
    ASSUMED_ROLE = "AssumedRole"
    FEDERATED_USER = "FederatedUser"
    SERVICE = "Service"
    WEB_IDENTITY = "WebIdentityUser"
    SAML = "SAMLUser"
    ANONYMOUS = "Anonymous"


IAM_PRINCIPAL_TYPES = frozenset(
    {PrincipalType.ROOT, PrincipalType.USER, PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER}
)
"""Principals that belong to an account and have (or, for root, replace) identity-based permissions."""
SESSION_TYPES = frozenset({PrincipalType.ASSUMED_ROLE, PrincipalType.FEDERATED_USER})
"""Principals that are sessions, to which session policies apply."""


@dataclass(frozen=True)
class Session:
    """Facts about temporary credentials: when they were issued, whether MFA was used (and how long ago, in
    seconds) and the source identity. Their presence adds ``aws:TokenIssueTime`` and ``aws:MultiFactorAuthPresent``
    to the request context; long-term access keys have no session."""

    issued_at: datetime
    mfa_authenticated: bool = False
    mfa_age_seconds: int | None = None
    source_identity: str | None = None


def _frozen(tags: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(tags or {}))


@dataclass(frozen=True)
class Principal:
    """The caller of a request. ``account`` is ``None`` for service, identity-provider and anonymous callers."""

    type: PrincipalType
    arn: str
    account: str | None = None
    unique_id: str | None = None
    name: str | None = None
    partition: str = "aws"
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    role_arn: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    session: Session | None = None
    source_user_arn: str | None = None
    canonical_user_id: str | None = None

    @property
    def is_session(self) -> bool:
        """Whether session policies apply (role sessions and federated-user sessions)."""
        return self.type in SESSION_TYPES

    @classmethod
    def root(cls, account: str, *, partition: str = "aws", session: Session | None = None) -> Principal:
        """The account's root user ``arn:aws:iam::A:root``."""
        return cls(
            PrincipalType.ROOT,
            f"arn:{partition}:iam::{account}:root",
            account,
            unique_id=account,
            partition=partition,
            session=session,
        )

    @classmethod
    def user(
        cls,
        account: str,
        name: str,
        *,
        path: str = "/",
        unique_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        partition: str = "aws",
        session: Session | None = None,
    ) -> Principal:
        """An IAM user ``arn:aws:iam::A:user/<path><name>`` (``session`` for GetSessionToken credentials)."""
        return cls(
            PrincipalType.USER,
            f"arn:{partition}:iam::{account}:user{path}{name}",
            account,
            unique_id=unique_id,
            name=name,
            partition=partition,
            tags=_frozen(tags),
            session=session,
        )

    @classmethod
    def assumed_role(
        cls,
        account: str,
        role_name: str,
        session_name: str,
        *,
        role_path: str = "/",
        role_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        partition: str = "aws",
        session: Session | None = None,
    ) -> Principal:
        """A role session ``arn:aws:sts::A:assumed-role/<role>/<session>``; ``tags`` are the role's tags merged
        with the session tags (session tags win)."""
        return cls(
            PrincipalType.ASSUMED_ROLE,
            f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{session_name}",
            account,
            unique_id=f"{role_id}:{session_name}" if role_id else None,
            name=role_name,
            partition=partition,
            tags=_frozen(tags),
            role_arn=f"arn:{partition}:iam::{account}:role{role_path}{role_name}",
            role_id=role_id,
            session_name=session_name,
            session=session,
        )

    @classmethod
    def federated_user(
        cls,
        account: str,
        name: str,
        *,
        source_user_arn: str | None = None,
        tags: Mapping[str, str] | None = None,
        partition: str = "aws",
        session: Session | None = None,
    ) -> Principal:
        """A GetFederationToken session ``arn:aws:sts::A:federated-user/<name>`` of the IAM user
        ``source_user_arn``."""
        return cls(
            PrincipalType.FEDERATED_USER,
            f"arn:{partition}:sts::{account}:federated-user/{name}",
            account,
            unique_id=f"{account}:{name}",
            name=name,
            partition=partition,
            tags=_frozen(tags),
            source_user_arn=source_user_arn,
            session=session,
        )

    @classmethod
    def service(cls, service_principal: str) -> Principal:
        """An AWS service acting for itself (``ec2.amazonaws.com``), matched by ``{"Service": ...}``."""
        return cls(PrincipalType.SERVICE, service_principal, name=service_principal)

    @classmethod
    def identity_provider(cls, provider: str, *, saml: bool = False) -> Principal:
        """A web-identity or SAML provider (``cognito-identity.amazonaws.com`` or a provider ARN), matched by
        ``{"Federated": ...}`` in AssumeRoleWithWebIdentity/SAML trust policies."""
        return cls(PrincipalType.SAML if saml else PrincipalType.WEB_IDENTITY, provider, name=provider)

    @classmethod
    def anonymous(cls) -> Principal:
        """An unsigned request, matched only by ``"Principal": "*"``."""
        return cls(PrincipalType.ANONYMOUS, "", unique_id="anonymous")
