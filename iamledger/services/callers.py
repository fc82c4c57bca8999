"""Who is calling: the bound audit context's actor (and access key) resolved to a principal with the policies
that apply to it, ready for the evaluator.

* ``arn:aws:iam::A:root``: the account's root user (no policies; allowed everything in its account).
* ``arn:aws:iam::A:user/...``: an IAM user, with its own and its groups' policies and its boundary (and, signing
  with GetSessionToken credentials, their issue time and whether MFA made them).
* ``arn:aws:sts::A:assumed-role/R/S``: a role session, with the role's policies and boundary and the session's
  policies, tags and issue time (found through the session's ``ASIA`` access key).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

from sqlalchemy import Connection

from iamledger.domain.policy import AppliedPolicy, PolicySource, Principal, Session
from iamledger.projections.access.effective import EffectivePolicy, effective_policies, managed_document
from iamledger.projections.views.roles import find_role_by_uuid, find_role_named_exactly
from iamledger.projections.views.sessions import session_of_key
from iamledger.projections.views.tags import current_tags
from iamledger.projections.views.users import find_user_by_arn

if TYPE_CHECKING:
    from iamledger.domain.sessions import FederatedSession, RoleSession

_USER: Final = re.compile(r"arn:aws:iam::(?P<account>\d{12}):user(?P<path>/(?:.*/)?)(?P<name>[^/]+)")
_ROOT: Final = re.compile(r"arn:aws:iam::(?P<account>\d{12}):root")
_ASSUMED: Final = re.compile(r"arn:aws:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)")
_FEDERATED: Final = re.compile(r"arn:aws:sts::(?P<account>\d{12}):federated-user/(?P<name>.+)")
T = TypeVar("T")
_ALLOW_ALL: Final = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'


@dataclass(frozen=True)
class Caller:
    """A resolved caller: its principal and every policy that applies to its requests."""

    arn: str
    account_id: str
    kind: str  # root | user | role-session | federated-user | unknown
    principal: Principal
    identity: tuple[AppliedPolicy, ...] = ()
    boundary: AppliedPolicy | None = None
    session: tuple[AppliedPolicy, ...] | None = None
    session_aggregate: RoleSession | FederatedSession | None = None
    extra_context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_root(self) -> bool:
        """Whether the caller is an account's root user."""
        return self.kind == "root"


def _applied(policies: list[EffectivePolicy]) -> tuple[tuple[AppliedPolicy, ...], AppliedPolicy | None]:
    identity = tuple(
        AppliedPolicy.from_text(p.document, PolicySource(p.source_id, p.source_type))
        for p in policies
        if p.role == "identity"
    )
    boundary = next(
        (
            AppliedPolicy.from_text(p.document, PolicySource(p.source_id, p.source_type))
            for p in policies
            if p.role == "boundary"
        ),
        None,
    )
    return identity, boundary


def resolve_caller(
    conn: Connection,
    actor: str,
    access_key_id: str | None,
    catalogue: Mapping[str, Mapping[str, Any]],
    load_session: Any,
) -> Caller:
    """The caller ``actor`` (signing with ``access_key_id``, if any) as a principal with its policies."""
    root = _ROOT.fullmatch(actor)
    if root is not None:
        return Caller(actor, root["account"], "root", Principal.root(root["account"]))
    user = _USER.fullmatch(actor)
    if user is not None:
        row = find_user_by_arn(conn, actor)
        if row is None:
            return Caller(actor, user["account"], "unknown", Principal.user(user["account"], user["name"]))
        tags = dict(current_tags(conn, str(row["entity_uuid"])))
        principal = Principal.user(
            row["account_id"],
            row["user_name"],
            path=row["path"],
            unique_id=row["user_id"],
            tags=tags,
            session=_user_session(conn, access_key_id, load_session),
        )
        identity, boundary = _applied(effective_policies(conn, row["account_id"], "user", row, catalogue))
        return Caller(actor, row["account_id"], "user", principal, identity, boundary)
    assumed = _ASSUMED.fullmatch(actor)
    if assumed is not None:
        return _role_session(conn, actor, assumed, access_key_id, catalogue, load_session)
    federated = _FEDERATED.fullmatch(actor)
    if federated is not None:
        return _federated_session(conn, actor, federated, access_key_id, catalogue, load_session)
    return Caller(actor, "", "unknown", Principal.anonymous())


def _user_session(conn: Connection, access_key_id: str | None, load_session: Any) -> Session | None:
    """The session facts of a user's GetSessionToken credentials (``aws:TokenIssueTime``,
    ``aws:MultiFactorAuthPresent``), ``None`` for a long-term key or none."""
    from iamledger.domain.sessions import UserSession

    loaded = _session_of_key(conn, access_key_id, load_session, UserSession)
    if loaded is None:
        return None
    return Session(loaded.created_on, mfa_authenticated=loaded.mfa_authenticated)


def _session_of_key(conn: Connection, access_key_id: str | None, load_session: Any, kind: type[T]) -> T | None:
    """The session (an aggregate of class ``kind``) whose temporary key is ``access_key_id``; ``None`` without a
    key, or for a key of no such session (a long-term key, another kind of session's)."""
    if not access_key_id:
        return None
    owner = session_of_key(conn, access_key_id)
    loaded = load_session(owner) if owner is not None else None
    return loaded if isinstance(loaded, kind) else None


def _federated_session(
    conn: Connection,
    actor: str,
    match: re.Match[str],
    access_key_id: str | None,
    catalogue: Mapping[str, Mapping[str, Any]],
    load_session: Any,
) -> Caller:
    """A GetFederationToken session: the issuing user's policies (all actions for a root-issued one) narrowed by the
    session policies; no session policy at all means no permission (``session`` is then an empty tuple)."""
    from iamledger.domain.sessions import FederatedSession

    account = match["account"]
    session = _session_of_key(conn, access_key_id, load_session, FederatedSession)
    if session is None:
        return Caller(actor, account, "unknown", Principal.federated_user(account, match["name"]))
    identity: tuple[AppliedPolicy, ...] = ()
    boundary: AppliedPolicy | None = None
    tags = {t["Key"]: t["Value"] for t in session.tags}
    if _ROOT.fullmatch(session.principal_arn):
        identity = (AppliedPolicy.from_text(_ALLOW_ALL, PolicySource("root", "identity")),)
    else:
        row = find_user_by_arn(conn, session.principal_arn)
        if row is not None:  # a deleted user's sessions act with no permissions
            identity, boundary = _applied(effective_policies(conn, account, "user", row, catalogue))
    principal = Principal.federated_user(
        account,
        session.federated_user_name,
        source_user_arn=session.principal_arn,
        tags=tags,
        session=Session(session.issued_at),
    )
    policies = _session_policies(conn, account, session, catalogue)
    return Caller(actor, account, "federated-user", principal, identity, boundary, policies, session)


def _role_session(
    conn: Connection,
    actor: str,
    match: re.Match[str],
    access_key_id: str | None,
    catalogue: Mapping[str, Mapping[str, Any]],
    load_session: Any,
) -> Caller:
    from iamledger.domain.sessions import RoleSession

    account = match["account"]
    session_aggregate = _session_of_key(conn, access_key_id, load_session, RoleSession)
    if session_aggregate is not None:
        row = find_role_by_uuid(conn, str(session_aggregate.role_uuid))
    else:
        row = find_role_named_exactly(conn, account, match["role"])
    if row is None:  # the role was deleted: its sessions act with no permissions
        return Caller(actor, account, "unknown", Principal.assumed_role(account, match["role"], match["session"]))
    principal = assumed_role_principal(conn, account, row, match["session"], session_aggregate)
    session_policies: tuple[AppliedPolicy, ...] | None = None
    if session_aggregate is not None and (session_aggregate.session_policy or session_aggregate.policy_arns):
        session_policies = _session_policies(conn, account, session_aggregate, catalogue)
    identity, boundary = _applied(effective_policies(conn, account, "role", row, catalogue))
    return Caller(actor, account, "role-session", principal, identity, boundary, session_policies, session_aggregate)


def assumed_role_principal(
    conn: Connection, account: str, role: Mapping[Any, Any], session_name: str, session: RoleSession | None
) -> Principal:
    """The principal of ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION_NAME``, ``role`` being the role's view row
    (name, path, id, entity uuid): the role's tags, overridden by the session's own, and the session's issue time
    and source identity; without the session's aggregate (``None``), the role's tags alone and no session facts."""
    tags = dict(current_tags(conn, str(role["entity_uuid"])))
    facts: Session | None = None
    if session is not None:
        tags.update({t["Key"]: t["Value"] for t in session.tags})
        facts = Session(session.issued_at, source_identity=session.source_identity)
    return Principal.assumed_role(
        account,
        role["role_name"],
        session_name,
        role_path=role["path"],
        role_id=role["role_id"],
        tags=tags,
        session=facts,
    )


def session_policy_documents(
    conn: Connection,
    account: str,
    session: RoleSession | FederatedSession,
    catalogue: Mapping[str, Mapping[str, Any]],
) -> list[tuple[str, str, str | None]]:
    """The session policies of a role or federated session, as ``(document, source id, policy ARN)``: its inline
    ``Policy`` (source ``SessionPolicy``, no ARN), then each of its ``PolicyArns`` that still exists (source: the
    policy's name)."""
    documents: list[tuple[str, str, str | None]] = []
    if session.session_policy:
        documents.append((session.session_policy, "SessionPolicy", None))
    for arn in session.policy_arns:
        document = managed_document(conn, account, arn, catalogue)
        if document is not None:
            documents.append((document, arn.rsplit("/", 1)[1], arn))
    return documents


def _session_policies(
    conn: Connection,
    account: str,
    session: RoleSession | FederatedSession,
    catalogue: Mapping[str, Mapping[str, Any]],
) -> tuple[AppliedPolicy, ...]:
    """The session policies of a role or federated session, as the evaluator takes them."""
    return tuple(
        AppliedPolicy.from_text(document, PolicySource(source, "session"))
        for document, source, _ in session_policy_documents(conn, account, session, catalogue)
    )
