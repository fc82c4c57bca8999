"""The state of the trail's renderer: what the replay knows of the entities, their names, the sessions and the material,
kept in memory or in the database (:class:`~iamledger.projections.trail.stored_state.StoredState`); and who made a call.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from iamledger.domain.accounts import Account
from iamledger.domain.arns import iam_arn
from iamledger.domain.federation import OpenIDConnectProvider, SAMLProvider
from iamledger.domain.groups import Group
from iamledger.domain.instance_profiles import InstanceProfile
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import Role
from iamledger.domain.sessions import RoleSession, UserSession
from iamledger.domain.users import User
from iamledger.projections.trail.federation_facts import federated_identity, provider_entity
from iamledger.projections.trail.material import apply_material, is_material_event
from iamledger.projections.trail.records import (
    RESOURCE_TYPES,
    Resource,
    TrailRecord,
    _account_of,
    _Entity,
    _Fact,
    _Session,
    _UserSession,
    iso,
)


class TrailState:
    """What the replay knows: the entities, their names, the sessions and the material, as the events are applied."""

    def __init__(self, state: Any = None) -> None:
        """``state``: where what the replay knows is kept (an object with the attributes below, read and written as
        dicts: :class:`~iamledger.projections.trail.stored_state.StoredState` keeps them in the database); dicts in
        memory when ``None``."""
        self.entities: Any = {} if state is None else state.entities  # id -> _Entity
        self.names: Any = {} if state is None else state.names  # (kind, casefolded name) -> ids that had it
        self.user_ids: Any = {} if state is None else state.user_ids  # user ARN -> unique id
        self.sessions: Any = {} if state is None else state.sessions  # role session key id -> _Session
        self.user_sessions: Any = {} if state is None else state.user_sessions  # key id -> _UserSession
        self.records: list[TrailRecord] = []
        self.material: Any = {} if state is None else state.material  # MFA devices, keyrings, server certificates
        self.mfa_users: Any = {} if state is None else state.mfa_users  # MFA device -> the user it is enabled for

    def _register(self, entity_id: uuid.UUID, entity: _Entity, since: datetime) -> None:
        self.entities[entity_id] = entity
        key = (entity.kind, entity.name.casefold())
        self.names[key] = set(self.names.get(key, ())) | {entity_id}
        if entity.kind == "user" and entity.unique_id:
            self.user_ids[entity.arn] = [*self.user_ids.get(entity.arn, []), (since, entity.unique_id)]

    def user_id(self, arn: str, at: datetime) -> str | None:
        """The unique id of the user ``arn`` named at ``at`` (an ARN is reused for a new user with a new id), so that
        a record says who acted then whenever it is rendered."""
        found = None
        for since, unique_id in self.user_ids.get(arn, []):
            if since <= at:
                found = unique_id
        return found

    def apply(self, event: Any) -> None:  # noqa: C901 - one branch per kind of entity
        """Update what the replay knows of names, ids and sessions with ``event``."""
        oid = event.originator_id
        if is_material_event(event):
            apply_material(self, event)
        elif isinstance(event, User.Created):
            self._register(
                oid, _Entity("user", event.account_id, event.user_name, event.path, event.user_id), event.timestamp
            )
        elif isinstance(event, Group.Created):
            self._register(
                oid, _Entity("group", event.account_id, event.group_name, event.path, event.group_id), event.timestamp
            )
        elif isinstance(event, Role.Created):
            self._register(
                oid, _Entity("role", event.account_id, event.role_name, event.path, event.role_id), event.timestamp
            )
        elif isinstance(event, ManagedPolicy.Created):
            self._register(
                oid,
                _Entity("policy", event.account_id, event.policy_name, event.path, event.policy_id),
                event.timestamp,
            )
        elif isinstance(event, InstanceProfile.Created):
            entity = _Entity(
                "instance-profile",
                event.account_id,
                event.instance_profile_name,
                event.path,
                event.instance_profile_id,
            )
            self._register(oid, entity, event.timestamp)
        elif isinstance(event, OpenIDConnectProvider.Created | SAMLProvider.Created):
            self._register(oid, provider_entity(event), event.timestamp)
        elif isinstance(event, Account.Created):
            self.entities[oid] = _Entity("account", event.account_id, "root")
        elif isinstance(event, User.Updated | Group.Updated):
            old = self.entities.get(oid)
            if old is not None:
                name = event.user_name if isinstance(event, User.Updated) else event.group_name
                self._register(oid, dataclasses.replace(old, name=name, path=event.path), event.timestamp)
        elif isinstance(event, RoleSession.RoleAssumed):
            session = _Session(
                arn=f"arn:aws:sts::{event.account_id}:assumed-role/{event.role_name}/{event.session_name}",
                account_id=event.account_id,
                role_id=event.role_id,
                role_arn=event.role_arn,
                role_name=event.role_name,
                session_name=event.session_name,
                issued_at=event.issued_at,
                source_identity=event.source_identity,
            )
            self.sessions[event.key_id] = session
            self.entities[oid] = _Entity("role-session", event.account_id, event.session_name, session.arn)
        elif isinstance(event, UserSession.SessionTokenIssued):
            self.user_sessions[event.key_id] = _UserSession(
                event.principal_arn, event.timestamp, event.mfa_authenticated
            )

    def entity_ids(self, account_id: str | None, kind: str, name: str) -> set[uuid.UUID]:
        """Every entity of ``kind`` that ever had ``name`` (any case) in ``account_id`` (any account: ``None``)."""
        ids = self.names.get((kind, name.casefold()), set())
        return {i for i in ids if account_id is None or self.entities[i].account_id == account_id}

    def identity(self, actor: str, access_key_id: str | None, at: datetime) -> tuple[dict[str, Any], str]:
        """CloudTrail's ``userIdentity`` of an actor ARN and the key it signed with at ``at``, and the ``Username``
        ``LookupEvents`` reports (the user's name, ``root``, or a role session's name)."""
        account = _account_of(actor) or ""
        resource = actor.split(":", 5)[5] if actor.count(":") >= 5 else actor  # noqa: PLR2004
        identity: dict[str, Any]
        if resource == "root":
            identity = {"type": "Root", "principalId": account, "arn": actor, "accountId": account}
            username = "root"
        elif actor.startswith("arn:aws:iam::") and resource.startswith("user/"):
            username = resource.rsplit("/", 1)[-1]
            identity = {
                "type": "IAMUser",
                "principalId": self.user_id(actor, at) or username,
                "arn": actor,
                "accountId": account,
            }
        elif actor.startswith("arn:aws:sts::") and resource.startswith("assumed-role/"):
            _, role_name, *rest = resource.split("/")
            username = rest[-1] if rest else role_name
            identity = self._assumed_role(actor, account, role_name, username, access_key_id)
        elif actor.startswith("arn:aws:sts::") and resource.startswith("federated-user/"):
            username = resource.split("/", 1)[1]
            identity = {
                "type": "FederatedUser",
                "principalId": f"{account}:{username}",
                "arn": actor,
                "accountId": account,
            }
        else:
            federated = federated_identity(actor)
            if federated is not None:
                identity, username = federated
            else:
                username = resource.rsplit("/", 1)[-1]
                identity = {"type": "Unknown", "principalId": actor, "arn": actor, "accountId": account}
        if access_key_id:
            identity["accessKeyId"] = access_key_id
        if identity["type"] == "IAMUser":
            identity["userName"] = username
            user_session = self.user_sessions.get(access_key_id or "")
            if user_session is not None:
                identity["sessionContext"] = {
                    "attributes": {
                        "creationDate": iso(user_session.created),
                        "mfaAuthenticated": "true" if user_session.mfa else "false",
                    }
                }
        return identity, username

    def _assumed_role(
        self, actor: str, account: str, role_name: str, session_name: str, access_key_id: str | None
    ) -> dict[str, Any]:
        session = self.sessions.get(access_key_id or "")
        if session is not None:
            role_id, role_arn, created = session.role_id, session.role_arn, iso(session.issued_at)
        else:
            ids = self.entity_ids(account, "role", role_name)
            role = self.entities[max(ids)] if ids else None
            role_id = (role.unique_id if role else None) or role_name
            role_arn = role.arn if role else iam_arn(account, "role", "/", role_name)
            created = None
        context: dict[str, Any] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn,
                "accountId": account,
                "userName": role_name,
            },
            "attributes": {"creationDate": created, "mfaAuthenticated": "false"},
        }
        if session is not None and session.source_identity:
            context["sourceIdentity"] = session.source_identity
        return {
            "type": "AssumedRole",
            "principalId": f"{role_id}:{session_name}",
            "arn": actor,
            "accountId": account,
            "sessionContext": context,
        }

    @staticmethod
    def _set(
        fact: _Fact,
        operation: str,
        params: dict[str, Any] | None,
        *,
        primary: bool = True,
        joins: tuple[str, ...] = (),
    ) -> _Fact:
        fact.operation = operation
        fact.params = params
        fact.primary = primary
        fact.joins = joins
        return fact

    def _name_of(self, entity_id: uuid.UUID) -> str | None:
        entity = self.entities.get(entity_id)
        return None if entity is None else entity.name

    def _resource_of(self, entity_id: uuid.UUID) -> list[Resource]:
        entity = self.entities.get(entity_id)
        return [] if entity is None or entity.kind not in RESOURCE_TYPES else [entity.resource()]
