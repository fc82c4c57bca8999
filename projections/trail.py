"""The audit trail in CloudTrail's shape: one record per API call, built from the store's events, and the
``LookupEvents`` query over them.

Every domain event is mapped to the IAM or STS operation that caused it (``User.Created`` -> ``CreateUser``,
``User.AddedToGroup`` -> ``AddUserToGroup``, ``RoleSession.RoleAssumed`` -> ``sts:AssumeRole``). The events of one
call share its request id; bookkeeping events (name indexes, the account registry, a group's own copy of a
membership, a managed policy's attachment count) are folded into the record of the call they belong to, so there is
one record per request id and operation, as CloudTrail has one record per API call. Refused and failed attempts come
from the security log (:mod:`iamledger.security`): denied requests (``errorCode`` ``AccessDenied``), failed writes
(``EntityAlreadyExists``, ``NoSuchEntity``...) and failed console sign-ins (``ConsoleLogin``).

Records never hold a secret: no password, secret access key, session token, hash or fingerprint. Each record also
says where it sits in the store's logs under keys of iamledger's own (CloudTrail has none of them):
``iamledgerPosition`` (the notification id of the call's last event in the identity log: ``store.at(N)`` shows the
state right after the call) or, for a refused or failed attempt, ``iamledgerSecurityPosition`` (its position in the
security log).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from iamledger.domain.accounts import Account, AccountRegistry
from iamledger.domain.arns import iam_arn, policy_arn_parts
from iamledger.domain.errors import ValidationError
from iamledger.domain.federation import OpenIDConnectProvider, SAMLProvider, SAMLRoleSession, WebIdentityRoleSession
from iamledger.domain.groups import Group
from iamledger.domain.imports import ImportRecord
from iamledger.domain.instance_profiles import InstanceProfile
from iamledger.domain.names import NameIndex
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PermissionsBoundaryDeletedEvent,
    PermissionsBoundaryPutEvent,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import Role
from iamledger.domain.security import SecurityIncident
from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession, federated_user_arn
from iamledger.domain.tagging import TaggedEvent, UntaggedEvent
from iamledger.domain.users import User
from iamledger.projections.timeindex import parse_time
from iamledger.projections.trail_material import apply_material, is_material_event, material_fact

EVENT_VERSION: Final = "1.08"
REGION: Final = "us-east-1"
IAM: Final = "iam.amazonaws.com"
STS: Final = "sts.amazonaws.com"
ORGANIZATIONS: Final = "organizations.amazonaws.com"
IMPORT: Final = "iamledger.import"  # an import of authorization details: iamledger's own, no AWS service
SIGNIN: Final = "signin.amazonaws.com"
POSITION_KEY: Final = "iamledgerPosition"
SECURITY_POSITION_KEY: Final = "iamledgerSecurityPosition"
MAX_RESULTS: Final = 50
BATCH: Final = 1000
NAMESPACE: Final = uuid.UUID("0b6d1a8e-7c3f-5d21-9e4a-3f2b1c0d9e8f")
LOOKUP_KEYS: Final = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)

USER: Final = "AWS::IAM::User"
GROUP: Final = "AWS::IAM::Group"
ROLE: Final = "AWS::IAM::Role"
POLICY: Final = "AWS::IAM::Policy"
ACCESS_KEY: Final = "AWS::IAM::AccessKey"
INSTANCE_PROFILE: Final = "AWS::IAM::InstanceProfile"
ASSUMED_ROLE: Final = "AWS::STS::AssumedRole"
ACCOUNT: Final = "AWS::Organizations::Account"
ACCOUNT_ALIAS: Final = "AWS::IAM::AccountAlias"

RESOURCE_TYPES: Final = {
    "user": USER,
    "group": GROUP,
    "role": ROLE,
    "policy": POLICY,
    "instance-profile": INSTANCE_PROFILE,
    "oidc-provider": "AWS::IAM::OIDCProvider",
    "saml-provider": "AWS::IAM::SAMLProvider",
}
SUFFIXES: Final = {
    "user": "User",
    "group": "Group",
    "role": "Role",
    "policy": "Policy",
    "instance-profile": "InstanceProfile",
    "oidc-provider": "OpenIDConnectProvider",
    "saml-provider": "SAMLProvider",
}
NAME_PARAMS: Final = {
    "user": "userName",
    "group": "groupName",
    "role": "roleName",
    "policy": "policyArn",
    "instance-profile": "instanceProfileName",
    "oidc-provider": "openIDConnectProviderArn",
    "saml-provider": "sAMLProviderArn",
}
NAMED_BY_ARN: Final = frozenset({"policy", "oidc-provider", "saml-provider"})  # kinds whose parameters are ARNs
# Request parameters that name an entity, as a failed attempt records them: (parameter, kind).
PARAM_RESOURCES: Final = (
    ("UserName", "user"),
    ("NewUserName", "user"),
    ("GroupName", "group"),
    ("NewGroupName", "group"),
    ("RoleName", "role"),
    ("InstanceProfileName", "instance-profile"),
    ("PolicyArn", "policy"),
    ("PermissionsBoundary", "policy"),
    ("OpenIDConnectProviderArn", "oidc-provider"),
    ("SAMLProviderArn", "saml-provider"),
)
_BASE_FIELDS: Final = frozenset(
    {
        "originator_id",
        "originator_version",
        "timestamp",
        "originator_topic",
        "actor",
        "access_key_id",
        "source_ip",
        "user_agent",
        "request_id",
    }
)
_NO_PARAMS: Final = frozenset({"ChangePassword", "DeleteAccountPasswordPolicy"})


# -- small helpers ---------------------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """A time as CloudTrail writes ``eventTime``: UTC, whole seconds, ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def camel(name: str) -> str:
    """``UserName`` or ``user_name`` as CloudTrail names a request parameter: ``userName``."""
    if "_" in name:
        head, *rest = name.split("_")
        return head + "".join(part[:1].upper() + part[1:] for part in rest)
    return name[:1].lower() + name[1:]


def camel_keys(value: Any) -> Any:
    """``value`` with every mapping key in CloudTrail's camelCase (``Tags: [{Key, Value}]`` -> ``tags: [{key,
    value}]``)."""
    if isinstance(value, Mapping):
        return {camel(str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel_keys(v) for v in value]
    if isinstance(value, datetime):
        return iso(value)
    return value


def _tags(tags: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    return [{"key": t["Key"], "value": t.get("Value", "")} for t in tags]


def _payload(event: Any) -> dict[str, Any]:
    """An event's own fields (not the audit fields nor eventsourcing's)."""
    return {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name not in _BASE_FIELDS}


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None and v != []}


def _account_of(arn: str | None) -> str | None:
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None  # noqa: PLR2004


@dataclass(frozen=True)
class Resource:
    """A resource a record touches: CloudTrail's ``ResourceType`` and ``ResourceName``, and the other names it is
    found by (its name and its ARN)."""

    type: str
    name: str
    aliases: frozenset[str] = frozenset()

    def matches(self, value: str) -> bool:
        """Whether ``value`` names this resource."""
        return value == self.name or value in self.aliases

    def shape(self) -> dict[str, str]:
        """As ``LookupEvents`` lists it."""
        return {"ResourceType": self.type, "ResourceName": self.name}


def resource_of_arn(arn: str) -> Resource | None:
    """The resource an IAM or STS ARN names (``None`` for ``*`` or an ARN of another service)."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] not in {"iam", "sts"}:  # noqa: PLR2004
        return None
    resource = parts[5]
    name = resource.rsplit("/", 1)[-1]
    if parts[2] == "sts" and resource.startswith("assumed-role/"):
        return Resource(ASSUMED_ROLE, arn, frozenset({arn, resource.split("/")[1]}))
    for kind, type_ in RESOURCE_TYPES.items():
        if resource.startswith(f"{kind}/"):
            display = arn if kind in NAMED_BY_ARN else name
            return Resource(type_, display, frozenset({name, arn}))
    return None


# -- what the replay knows -------------------------------------------------------------------------------------------


@dataclass
class _Entity:
    kind: str
    account_id: str
    name: str
    path: str = "/"
    unique_id: str | None = None

    @property
    def arn(self) -> str:
        if self.kind == "account":
            return f"arn:aws:iam::{self.account_id}:root"
        if self.kind == "role-session":
            return self.path
        return iam_arn(self.account_id, self.kind, self.path, self.name)

    def resource(self) -> Resource:
        arn = self.arn
        display = arn if self.kind in NAMED_BY_ARN else self.name
        return Resource(RESOURCE_TYPES[self.kind], display, frozenset({self.name, arn}))

    def param(self) -> tuple[str, str]:
        return NAME_PARAMS[self.kind], (self.arn if self.kind in NAMED_BY_ARN else self.name)


@dataclass(frozen=True)
class _Session:
    arn: str
    account_id: str
    role_id: str
    role_arn: str
    role_name: str
    session_name: str
    issued_at: datetime
    source_identity: str | None


@dataclass(frozen=True)
class _UserSession:
    principal_arn: str
    created: datetime
    mfa: bool


@dataclass
class _Fact:
    """What one event says about the call that caused it."""

    position: int
    event: Any
    operation: str
    source: str = IAM
    primary: bool = True
    joins: tuple[str, ...] = ()
    params: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    resources: list[Resource] = field(default_factory=list)
    entities: set[uuid.UUID] = field(default_factory=set)
    key_ids: set[str] = field(default_factory=set)
    account: str | None = None


def _joins(fact: _Fact, operation: str) -> bool:
    return any(operation.startswith(j[:-1]) if j.endswith("*") else operation == j for j in fact.joins)


@dataclass
class TrailRecord:
    """One CloudTrail record and what lookups filter it on."""

    record: dict[str, Any]
    time: datetime
    order: tuple[datetime, int, int]
    username: str
    resources: list[Resource]
    access_key_ids: set[str]
    entities: set[uuid.UUID]
    accounts: set[str]

    @property
    def event_id(self) -> str:
        """The record's ``eventID``."""
        return str(self.record["eventID"])

    def lookup_shape(self) -> dict[str, Any]:
        """The record as an element of ``LookupEvents``' ``Events``."""
        shape: dict[str, Any] = {
            "EventId": self.record["eventID"],
            "EventName": self.record["eventName"],
            "ReadOnly": "true" if self.record["readOnly"] else "false",
        }
        key = self.record["userIdentity"].get("accessKeyId")
        if key:
            shape["AccessKeyId"] = key
        shape |= {
            "EventTime": _second(self.time),
            "EventSource": self.record["eventSource"],
            "Username": self.username,
            "Resources": [r.shape() for r in self.resources],
            "CloudTrailEvent": json.dumps(self.record, ensure_ascii=False),
        }
        return shape


# -- the replay ------------------------------------------------------------------------------------------------------


class Trail:
    """Every record of a store, built by one pass over its identity log and its security log."""

    def __init__(self, state: Any = None) -> None:
        """``state``: where what the replay knows is kept (an object with the attributes below, read and written as
        dicts: :class:`~iamledger.projections.trail_index.StoredState` keeps them in the database); dicts in memory
        when ``None``."""
        self.entities: Any = {} if state is None else state.entities  # id -> _Entity
        self.names: Any = {} if state is None else state.names  # (kind, casefolded name) -> ids that had it
        self.user_ids: Any = {} if state is None else state.user_ids  # user ARN -> unique id
        self.sessions: Any = {} if state is None else state.sessions  # role session key id -> _Session
        self.user_sessions: Any = {} if state is None else state.user_sessions  # key id -> _UserSession
        self.records: list[TrailRecord] = []
        self.material: Any = {} if state is None else state.material  # MFA devices, keyrings, server certificates
        self.mfa_users: Any = {} if state is None else state.mfa_users  # MFA device -> the user it is enabled for

    # -- reading the store -------------------------------------------------------------------------------------

    @classmethod
    def of_store(cls, store: Any) -> Trail:
        """The trail of ``store`` (an :class:`iamledger.IdentityStore`): its identity log, then its security log."""
        trail = cls()
        facts: list[_Fact] = []
        start = 1
        while True:
            notifications = store.recorder.select_notifications(start=start, limit=BATCH)
            if not notifications:
                break
            for notification in notifications:
                event = store.mapper.to_domain_event(notification)
                fact = trail.fact(notification.id, event)
                if fact is not None:
                    facts.append(fact)
                trail.apply(event)
            start = notifications[-1].id + 1
        trail.records.extend(trail.assemble(facts))
        security = getattr(store, "security_log", None)
        if security is not None:
            start = 1
            while True:
                batch = security.positioned_incidents(start=start, limit=BATCH)
                if not batch:
                    break
                for position, incident in batch:
                    record = trail.incident_record(position, incident)
                    if record is not None:
                        trail.records.append(record)
                start = batch[-1][0] + 1
        return trail

    # -- state -------------------------------------------------------------------------------------------------

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
            from iamledger.projections.trail_federation import provider_entity

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

    # -- who acted ---------------------------------------------------------------------------------------------

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
            from iamledger.projections.trail_federation import federated_identity

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

    # -- events -> facts ---------------------------------------------------------------------------------------

    def fact(self, position: int, event: Any) -> _Fact | None:  # noqa: C901, PLR0911, PLR0912 - one branch per event kind
        """What ``event`` (at ``position``) says about its call, from the state before it applies; ``None`` for
        events that are no API call of their own (recorded key uses)."""
        if isinstance(event, User.AccessKeyUsed | Account.RootAccessKeyUsed | Role.LastUsed):
            return None
        if isinstance(event, ImportRecord.Recorded):
            return _Fact(
                position,
                event,
                "ImportAuthorizationDetails",
                source=IMPORT,
                params={"source": event.source, "sha256": event.sha256},
                response={"accounts": list(event.accounts), "contents": event.contents, "changes": event.changes},
                resources=[Resource(ACCOUNT, a, frozenset({a})) for a in event.accounts],
                account=event.accounts[0] if event.accounts else None,
            )
        if isinstance(event, NameIndex.Released):
            return _Fact(
                position, event, "NameIndex", primary=False, joins=("Delete*", "Update*", "CreateAccountAlias")
            )
        if isinstance(event, NameIndex.Created | NameIndex.Claimed):
            return _Fact(position, event, "NameIndex", primary=False, joins=("Create*", "Update*"))
        if isinstance(event, AccountRegistry.Created | AccountRegistry.AccountRegistered):
            return _Fact(position, event, "AccountRegistry", primary=False, joins=("CreateAccount",))
        if isinstance(event, Account.Event):
            return self._account_fact(position, event)
        if isinstance(event, SAMLRoleSession.RoleAssumedWithSAML | WebIdentityRoleSession.RoleAssumedWithWebIdentity):
            from iamledger.projections.trail_federation import federated_session_fact

            return federated_session_fact(position, event)
        if isinstance(event, OpenIDConnectProvider.Created | SAMLProvider.Created):
            from iamledger.projections.trail_federation import provider_created_fact

            return provider_created_fact(position, event)
        if isinstance(event, RoleSession.RoleAssumed):
            return self._assume_role_fact(position, event)
        if isinstance(event, FederatedSession.FederationTokenIssued):
            arn = federated_user_arn(event.account_id, event.federated_user_name)
            return _Fact(
                position,
                event,
                "GetFederationToken",
                source=STS,
                params=_drop_none(
                    {
                        "name": event.federated_user_name,
                        "durationSeconds": event.duration_seconds,
                        "policy": event.session_policy,
                        "policyArns": [{"arn": a} for a in event.policy_arns] or None,
                        "tags": _tags(event.tags) or None,
                    }
                ),
                response={
                    "credentials": {"accessKeyId": event.key_id, "expiration": iso(event.expiration)},
                    "federatedUser": {
                        "federatedUserId": f"{event.account_id}:{event.federated_user_name}",
                        "arn": arn,
                    },
                },
                resources=[Resource(ACCESS_KEY, event.key_id, frozenset({event.key_id}))],
                key_ids={event.key_id},
                account=event.account_id,
            )
        if isinstance(event, UserSession.SessionTokenIssued):
            return _Fact(
                position,
                event,
                "GetSessionToken",
                source=STS,
                params={"durationSeconds": event.duration_seconds},
                response={"credentials": {"accessKeyId": event.key_id, "expiration": iso(event.expiration)}},
                resources=[Resource(ACCESS_KEY, event.key_id, frozenset({event.key_id}))],
                key_ids={event.key_id},
                account=event.account_id,
            )
        if is_material_event(event):
            return material_fact(self, position, event)
        if isinstance(
            event, User.Created | Group.Created | Role.Created | ManagedPolicy.Created | InstanceProfile.Created
        ):
            return self._created_fact(position, event)
        entity = self.entities.get(event.originator_id)
        if entity is None or entity.kind not in RESOURCE_TYPES:
            return None
        fact = _Fact(position, event, "", resources=[entity.resource()], entities={event.originator_id})
        fact.account = entity.account_id
        name_param, name_value = entity.param()
        suffix = SUFFIXES[entity.kind]
        base = {name_param: name_value}
        if isinstance(event, TaggedEvent):
            return self._set(fact, f"Tag{suffix}", base | {"tags": _tags(event.tags)})
        if isinstance(event, UntaggedEvent):
            return self._set(fact, f"Untag{suffix}", base | {"tagKeys": list(event.tag_keys)})
        if isinstance(event, InlinePolicyPutEvent):
            params = base | {"policyName": event.policy_name, "policyDocument": event.policy_document}
            return self._set(fact, f"Put{suffix}Policy", params)
        if isinstance(event, InlinePolicyDeletedEvent):
            return self._set(fact, f"Delete{suffix}Policy", base | {"policyName": event.policy_name})
        if isinstance(event, PolicyAttachedEvent | PolicyDetachedEvent):
            verb = "Attach" if isinstance(event, PolicyAttachedEvent) else "Detach"
            fact.resources.append(_policy_resource(event.policy_arn))
            return self._set(fact, f"{verb}{suffix}Policy", base | {"policyArn": event.policy_arn})
        if isinstance(event, PermissionsBoundaryPutEvent):
            fact.resources.append(_policy_resource(event.policy_arn))
            params = base | {"permissionsBoundary": event.policy_arn}
            return self._set(fact, f"Put{suffix}PermissionsBoundary", params)
        if isinstance(event, PermissionsBoundaryDeletedEvent):
            return self._set(fact, f"Delete{suffix}PermissionsBoundary", base)
        if entity.kind == "user":
            return self._user_fact(fact, entity, event, base)
        if entity.kind == "group":
            return self._group_fact(fact, entity, event, base)
        if entity.kind == "role":
            return self._role_fact(fact, event, base)
        if entity.kind == "policy":
            return self._policy_fact(fact, event, base)
        if entity.kind in {"oidc-provider", "saml-provider"}:
            from iamledger.projections.trail_federation import provider_fact

            return provider_fact(fact, event, base)
        return self._instance_profile_fact(fact, event, base)

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

    def _account_fact(self, position: int, event: Any) -> _Fact | None:  # noqa: PLR0911 - one return per event kind
        account = self.entities.get(event.originator_id)
        account_id = getattr(event, "account_id", None) or (account.account_id if account else None)
        fact = _Fact(position, event, "", account=account_id)
        if isinstance(event, Account.Created):
            fact.resources = [Resource(ACCOUNT, event.account_id, frozenset({event.account_id}))]
            fact.response = {"account": {"accountId": event.account_id, "arn": f"arn:aws:iam::{event.account_id}:root"}}
            fact.source = ORGANIZATIONS
            return self._set(fact, "CreateAccount", {"accountId": event.account_id})
        if isinstance(
            event, Account.RootAccessKeyCreated | Account.RootAccessKeyUpdated | Account.RootAccessKeyDeleted
        ):
            fact.resources = [Resource(ACCESS_KEY, event.key_id, frozenset({event.key_id}))]
            fact.key_ids = {event.key_id}
            if isinstance(event, Account.RootAccessKeyCreated):
                fact.response = {
                    "accessKey": {"accessKeyId": event.key_id, "status": "Active", "createDate": iso(event.timestamp)}
                }
                return self._set(fact, "CreateAccessKey", None, joins=("CreateAccount",))
            if isinstance(event, Account.RootAccessKeyUpdated):
                return self._set(fact, "UpdateAccessKey", {"accessKeyId": event.key_id, "status": event.status})
            return self._set(fact, "DeleteAccessKey", {"accessKeyId": event.key_id})
        if isinstance(event, Account.PasswordPolicyUpdated):
            return self._set(fact, "UpdateAccountPasswordPolicy", {camel(k): v for k, v in _payload(event).items()})
        if isinstance(event, Account.PasswordPolicyDeleted):
            return self._set(fact, "DeleteAccountPasswordPolicy", None)
        if isinstance(event, Account.CredentialReportGenerated):
            fact.response = {"state": "STARTED"}
            return self._set(fact, "GenerateCredentialReport", None)
        if isinstance(event, Account.AliasCreated | Account.AliasDeleted):
            fact.resources = [Resource(ACCOUNT_ALIAS, event.alias, frozenset({event.alias}))]
            verb = "Create" if isinstance(event, Account.AliasCreated) else "Delete"
            return self._set(fact, f"{verb}AccountAlias", {"accountAlias": event.alias})
        return None

    def _assume_role_fact(self, position: int, event: RoleSession.RoleAssumed) -> _Fact:
        session_arn = f"arn:aws:sts::{event.account_id}:assumed-role/{event.role_name}/{event.session_name}"
        assumed_role_id = f"{event.role_id}:{event.session_name}"
        params = _drop_none(
            {
                "roleArn": event.role_arn,
                "roleSessionName": event.session_name,
                "durationSeconds": event.duration_seconds,
                "policy": event.session_policy,
                "policyArns": [{"arn": a} for a in event.policy_arns],
                "sourceIdentity": event.source_identity,
                "tags": _tags(event.tags),
                "transitiveTagKeys": list(event.transitive_tag_keys),
            }
        )
        response: dict[str, Any] = {
            "credentials": {"accessKeyId": event.key_id, "expiration": iso(event.expiration)},
            "assumedRoleUser": {"assumedRoleId": assumed_role_id, "arn": session_arn},
        }
        if event.source_identity:
            response["sourceIdentity"] = event.source_identity
        return _Fact(
            position,
            event,
            "AssumeRole",
            source=STS,
            params=params,
            response=response,
            resources=[
                Resource(ACCESS_KEY, event.key_id, frozenset({event.key_id})),
                Resource(ASSUMED_ROLE, session_arn, frozenset({session_arn, assumed_role_id, event.session_name})),
                Resource(ROLE, event.role_arn, frozenset({event.role_arn, event.role_name})),
            ],
            entities={event.originator_id, event.role_uuid},
            key_ids={event.key_id},
            account=event.account_id,
        )

    def _created_fact(self, position: int, event: Any) -> _Fact:
        created = iso(event.timestamp)
        params: dict[str, Any]
        response: dict[str, Any]
        if isinstance(event, User.Created):
            entity = _Entity("user", event.account_id, event.user_name, event.path, event.user_id)
            operation = "CreateUser"
            params = {
                "userName": event.user_name,
                "path": event.path,
                "permissionsBoundary": event.permissions_boundary,
            }
            response = {
                "user": {
                    "path": event.path,
                    "userName": event.user_name,
                    "userId": event.user_id,
                    "arn": entity.arn,
                    "createDate": created,
                }
            }
        elif isinstance(event, Group.Created):
            entity = _Entity("group", event.account_id, event.group_name, event.path, event.group_id)
            operation = "CreateGroup"
            params = {"groupName": event.group_name, "path": event.path}
            response = {
                "group": {
                    "path": event.path,
                    "groupName": event.group_name,
                    "groupId": event.group_id,
                    "arn": entity.arn,
                    "createDate": created,
                }
            }
        elif isinstance(event, Role.Created):
            entity = _Entity("role", event.account_id, event.role_name, event.path, event.role_id)
            operation = "CreateRole"
            params = {
                "roleName": event.role_name,
                "path": event.path,
                "assumeRolePolicyDocument": event.assume_role_policy_document,
                "description": event.description,
                "maxSessionDuration": event.max_session_duration,
                "permissionsBoundary": event.permissions_boundary,
            }
            if isinstance(event, Role.ServiceLinkedCreated):
                operation = "CreateServiceLinkedRole"
                params = {
                    "aWSServiceName": event.aws_service_name,
                    "description": event.description,
                    "customSuffix": event.custom_suffix,
                }
            response = {
                "role": {
                    "path": event.path,
                    "roleName": event.role_name,
                    "roleId": event.role_id,
                    "arn": entity.arn,
                    "createDate": created,
                    "assumeRolePolicyDocument": event.assume_role_policy_document,
                }
            }
        elif isinstance(event, ManagedPolicy.Created):
            entity = _Entity("policy", event.account_id, event.policy_name, event.path, event.policy_id)
            operation = "CreatePolicy"
            params = {
                "policyName": event.policy_name,
                "path": event.path,
                "policyDocument": event.document,
                "description": event.description,
            }
            response = {
                "policy": {
                    "policyName": event.policy_name,
                    "policyId": event.policy_id,
                    "arn": entity.arn,
                    "path": event.path,
                    "defaultVersionId": "v1",
                    "attachmentCount": 0,
                    "permissionsBoundaryUsageCount": 0,
                    "isAttachable": True,
                    "createDate": created,
                    "updateDate": created,
                }
            }
        else:
            entity = _Entity(
                "instance-profile", event.account_id, event.instance_profile_name, event.path, event.instance_profile_id
            )
            operation = "CreateInstanceProfile"
            params = {"instanceProfileName": event.instance_profile_name, "path": event.path}
            response = {
                "instanceProfile": {
                    "path": event.path,
                    "instanceProfileName": event.instance_profile_name,
                    "instanceProfileId": event.instance_profile_id,
                    "arn": entity.arn,
                    "createDate": created,
                    "roles": [],
                }
            }
        tags = getattr(event, "tags", None)
        if tags:
            params["tags"] = _tags(tags)
        resources = [entity.resource()]
        if params.get("permissionsBoundary"):
            resources.append(_policy_resource(str(params["permissionsBoundary"])))
        return _Fact(
            position,
            event,
            operation,
            params=_drop_none(params),
            response=response,
            resources=resources,
            entities={event.originator_id},
            account=event.account_id,
        )

    def _renamed(self, fact: _Fact, entity: _Entity, new_name: str, new_path: str, kind: str) -> dict[str, Any]:
        params: dict[str, Any] = {NAME_PARAMS[kind]: entity.name}
        if new_name != entity.name:
            params[f"new{SUFFIXES[kind]}Name"] = new_name
            new_arn = iam_arn(entity.account_id, kind, new_path, new_name)
            fact.resources.append(Resource(RESOURCE_TYPES[kind], new_name, frozenset({new_name, new_arn})))
        if new_path != entity.path:
            params["newPath"] = new_path
        return params

    def _user_fact(self, fact: _Fact, entity: _Entity, event: Any, base: dict[str, Any]) -> _Fact | None:  # noqa: C901, PLR0911
        if isinstance(event, User.Updated):
            return self._set(fact, "UpdateUser", self._renamed(fact, entity, event.user_name, event.path, "user"))
        if isinstance(event, User.AddedToGroup | User.RemovedFromGroup):
            group_name = event.group_name if isinstance(event, User.AddedToGroup) else self._name_of(event.group_id)
            fact.resources = self._resource_of(event.group_id) + fact.resources
            fact.entities.add(event.group_id)
            verb = "Add" if isinstance(event, User.AddedToGroup) else "Remove"
            preposition = "To" if verb == "Add" else "From"
            params = {"groupName": group_name, "userName": entity.name}
            return self._set(fact, f"{verb}User{preposition}Group", params)
        if isinstance(event, User.LoginProfileCreated):
            fact.response = {
                "loginProfile": {
                    "userName": entity.name,
                    "createDate": iso(event.timestamp),
                    "passwordResetRequired": event.password_reset_required,
                }
            }
            return self._set(
                fact, "CreateLoginProfile", base | {"passwordResetRequired": event.password_reset_required}
            )
        if isinstance(event, User.LoginProfileUpdated):
            params = base | {"passwordResetRequired": event.password_reset_required}
            return self._set(fact, "UpdateLoginProfile", params)
        if isinstance(event, User.LoginProfileDeleted):
            return self._set(fact, "DeleteLoginProfile", base)
        if isinstance(event, User.PasswordChanged):
            return self._set(fact, "ChangePassword", None)
        if isinstance(event, User.AccessKeyCreated | User.AccessKeyUpdated | User.AccessKeyDeleted):
            fact.resources.insert(0, Resource(ACCESS_KEY, event.key_id, frozenset({event.key_id})))
            fact.key_ids.add(event.key_id)
            if isinstance(event, User.AccessKeyCreated):
                fact.response = {
                    "accessKey": {
                        "userName": entity.name,
                        "accessKeyId": event.key_id,
                        "status": "Active",
                        "createDate": iso(event.timestamp),
                    }
                }
                return self._set(fact, "CreateAccessKey", base)
            if isinstance(event, User.AccessKeyUpdated):
                params = base | {"accessKeyId": event.key_id, "status": event.status}
                return self._set(fact, "UpdateAccessKey", params)
            return self._set(fact, "DeleteAccessKey", base | {"accessKeyId": event.key_id})
        if isinstance(event, User.Deleted):
            return self._set(fact, "DeleteUser", base)
        return None

    def _group_fact(self, fact: _Fact, entity: _Entity, event: Any, base: dict[str, Any]) -> _Fact | None:
        if isinstance(event, Group.Updated):
            return self._set(fact, "UpdateGroup", self._renamed(fact, entity, event.group_name, event.path, "group"))
        if isinstance(event, Group.MemberAdded | Group.MemberRemoved):
            fact.entities.add(event.user_id)
            joins = ("AddUserToGroup",) if isinstance(event, Group.MemberAdded) else ("RemoveUserFromGroup",)
            return self._set(fact, "GroupMembership", None, primary=False, joins=joins)
        if isinstance(event, Group.Deleted):
            return self._set(fact, "DeleteGroup", base)
        return None

    def _role_fact(self, fact: _Fact, event: Any, base: dict[str, Any]) -> _Fact | None:  # noqa: PLR0911
        if isinstance(event, Role.Updated):
            params = base | _drop_none(
                {"description": event.description, "maxSessionDuration": event.max_session_duration}
            )
            return self._set(fact, "UpdateRole", params)
        if isinstance(event, Role.AssumeRolePolicyUpdated):
            return self._set(fact, "UpdateAssumeRolePolicy", base | {"policyDocument": event.policy_document})
        if isinstance(event, Role.AddedToInstanceProfile):
            fact.entities.add(event.instance_profile_uuid)
            return self._set(fact, "RoleInProfile", None, primary=False, joins=("AddRoleToInstanceProfile",))
        if isinstance(event, Role.RemovedFromInstanceProfile):
            fact.entities.add(event.instance_profile_uuid)
            return self._set(fact, "RoleInProfile", None, primary=False, joins=("RemoveRoleFromInstanceProfile",))
        if isinstance(event, Role.ServiceLinkedDeleted):
            fact.response = {"deletionTaskId": event.deletion_task_id}
            return self._set(fact, "DeleteServiceLinkedRole", base)
        if isinstance(event, Role.Deleted):
            return self._set(fact, "DeleteRole", base)
        return None

    def _policy_fact(self, fact: _Fact, event: Any, base: dict[str, Any]) -> _Fact | None:  # noqa: PLR0911
        if isinstance(event, ManagedPolicy.VersionCreated):
            fact.response = {
                "policyVersion": {
                    "versionId": event.version_id,
                    "isDefaultVersion": event.set_as_default,
                    "createDate": iso(event.timestamp),
                }
            }
            params = base | {"policyDocument": event.document, "setAsDefault": event.set_as_default}
            return self._set(fact, "CreatePolicyVersion", params)
        if isinstance(event, ManagedPolicy.DefaultVersionSet):
            return self._set(fact, "SetDefaultPolicyVersion", base | {"versionId": event.version_id})
        if isinstance(event, ManagedPolicy.VersionDeleted):
            return self._set(fact, "DeletePolicyVersion", base | {"versionId": event.version_id})
        if isinstance(event, ManagedPolicy.Attached):
            fact.entities.add(event.entity_id)
            return self._set(fact, "PolicyAttachment", None, primary=False, joins=("Attach*",))
        if isinstance(event, ManagedPolicy.Detached):
            fact.entities.add(event.entity_id)
            return self._set(fact, "PolicyAttachment", None, primary=False, joins=("Detach*",))
        if isinstance(event, ManagedPolicy.Deleted):
            return self._set(fact, "DeletePolicy", base)
        return None

    def _instance_profile_fact(self, fact: _Fact, event: Any, base: dict[str, Any]) -> _Fact | None:
        if isinstance(event, InstanceProfile.RoleAdded | InstanceProfile.RoleRemoved):
            added = isinstance(event, InstanceProfile.RoleAdded)
            role_name = (
                event.role_name if isinstance(event, InstanceProfile.RoleAdded) else self._name_of(event.role_uuid)
            )
            fact.resources += self._resource_of(event.role_uuid)
            fact.entities.add(event.role_uuid)
            operation = "AddRoleToInstanceProfile" if added else "RemoveRoleFromInstanceProfile"
            return self._set(fact, operation, base | {"roleName": role_name})
        if isinstance(event, InstanceProfile.Deleted):
            return self._set(fact, "DeleteInstanceProfile", base)
        return None

    # -- facts -> records --------------------------------------------------------------------------------------

    def assemble(self, facts: Sequence[_Fact]) -> list[TrailRecord]:
        """One record per call: the facts of each request id grouped, bookkeeping folded into its call."""
        by_request: dict[str, list[_Fact]] = {}
        for fact in facts:
            by_request.setdefault(fact.event.request_id, []).append(fact)
        records: list[TrailRecord] = []
        for group in by_request.values():
            calls: list[list[_Fact]] = [[f] for f in group if f.primary and not f.joins]
            for fact in group:
                if fact.primary and not fact.joins:
                    continue
                candidates = [c for c in calls if _joins(fact, c[0].operation)]
                if candidates:
                    nearest = min(candidates, key=lambda c: abs(c[0].position - fact.position))
                    nearest.append(fact)
                elif fact.primary:
                    calls.append([fact])
            records.extend(self._record(call) for call in sorted(calls, key=lambda c: c[0].position))
        return records

    def _record(self, call: list[_Fact]) -> TrailRecord:
        primary = call[0]
        event = primary.event
        identity, username = self.identity(event.actor, event.access_key_id, event.timestamp)
        resources: list[Resource] = []
        for fact in call:
            resources += [r for r in fact.resources if r not in resources]
        recipient = primary.account or identity.get("accountId") or ""
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": iso(event.timestamp),
            "eventSource": primary.source,
            "eventName": primary.operation,
            "awsRegion": REGION,
            "sourceIPAddress": event.source_ip,
            "userAgent": event.user_agent,
            "requestParameters": None if primary.operation in _NO_PARAMS else primary.params,
            "responseElements": primary.response,
            "requestID": event.request_id,
            "eventID": str(uuid.uuid5(NAMESPACE, f"{event.originator_id}:{event.originator_version}")),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": recipient,
            "eventCategory": "Management",
            POSITION_KEY: max(f.position for f in call),
        }
        keys = set().union(*(f.key_ids for f in call))
        if event.access_key_id:
            keys.add(event.access_key_id)
        return TrailRecord(
            record=record,
            time=event.timestamp,
            order=(event.timestamp, 0, primary.position),
            username=username,
            resources=resources,
            access_key_ids=keys,
            entities=set().union(*(f.entities for f in call)),
            accounts={a for a in {recipient, identity.get("accountId")} if a},
        )

    # -- refused and failed attempts ---------------------------------------------------------------------------

    def incident_record(self, position: int, incident: SecurityIncident.Recorded) -> TrailRecord | None:
        """The record of a denied request, a failed write or a failed console sign-in (other incidents, refused
        credentials and signatures, name no operation and have none)."""
        identity, username = self.identity(incident.actor, incident.access_key_id, incident.timestamp)
        resources: list[Resource] = []
        params: dict[str, Any] | None = None
        response: dict[str, Any] | None = None
        event_type = "AwsApiCall"
        if incident.kind == "AccessDenied":
            service, _, operation = (incident.action or ":").partition(":")
            source = f"{service}.amazonaws.com"
            # the code is AccessDenied but for temporary credentials IAM refuses: InvalidClientTokenId
            error_code, message = incident.error_code or "AccessDenied", incident.reason
            found = resource_of_arn(incident.resource or "")
            resources = [found] if found is not None else []
        elif incident.kind == "OperationFailed":
            service = (incident.event_source or "iam.amazonaws.com").split(".", 1)[0]
            operation = incident.event_name or (incident.action or ":").partition(":")[2]
            source = incident.event_source or f"{service}.amazonaws.com"
            error_code = incident.error_code or "ServiceFailure"
            message = incident.error_message or incident.reason
            raw = dict(incident.request_parameters or {})
            params = camel_keys(raw) or None
            resources = _param_resources(raw, incident.account_id)
        elif incident.kind == "SignInFailed":
            operation, source, event_type = "ConsoleLogin", SIGNIN, "AwsConsoleSignIn"
            error_code, message = "", incident.error_message or "Failed authentication"
            username = incident.user_name or username
            arn = incident.principal_arn
            identity = {
                "type": "IAMUser",
                "principalId": self.user_id(arn or "", incident.timestamp) or "",
                "accountId": incident.account_id,
                "accessKeyId": "",
                "userName": username,
            }
            if arn:
                identity["arn"] = arn
            response = {"ConsoleLogin": "Failure"}
            resources = [Resource(USER, username, frozenset({username, *([arn] if arn else [])}))]
        else:
            return None
        record: dict[str, Any] = {
            "eventVersion": EVENT_VERSION,
            "userIdentity": identity,
            "eventTime": iso(incident.timestamp),
            "eventSource": source,
            "eventName": operation,
            "awsRegion": REGION,
            "sourceIPAddress": incident.source_ip,
            "userAgent": incident.user_agent,
        }
        if error_code:
            record["errorCode"] = error_code
        record |= {
            "errorMessage": message,
            "requestParameters": params,
            "responseElements": response,
            "requestID": incident.request_id,
            "eventID": str(uuid.uuid5(NAMESPACE, f"security:{incident.originator_id}")),
            "readOnly": False,
            "eventType": event_type,
            "managementEvent": True,
            "recipientAccountId": incident.account_id or identity.get("accountId") or "",
            "eventCategory": "Management",
            SECURITY_POSITION_KEY: position,
        }
        keys = {incident.access_key_id} if incident.access_key_id else set()
        return TrailRecord(
            record=record,
            time=incident.timestamp,
            order=(incident.timestamp, 1, position),
            username=username,
            resources=resources,
            access_key_ids=keys | {r.name for r in resources if r.type == ACCESS_KEY},
            entities=set(),
            accounts={a for a in {incident.account_id, identity.get("accountId")} if a},
        )


def _policy_resource(arn: str) -> Resource:
    parts = policy_arn_parts(arn)
    name = parts[2] if parts else arn
    return Resource(POLICY, arn, frozenset({arn, name}))


def _param_resources(params: Mapping[str, Any], account_id: str) -> list[Resource]:
    """The entities the request parameters of a failed attempt name."""
    found: list[Resource] = []
    for param, kind in PARAM_RESOURCES:
        value = params.get(param)
        if not isinstance(value, str) or not value:
            continue
        if kind == "policy":
            found.append(_policy_resource(value))
        elif kind in NAMED_BY_ARN:
            found.append(Resource(RESOURCE_TYPES[kind], value, frozenset({value})))
        else:
            path = params.get("Path") if param in {"UserName", "GroupName", "RoleName", "InstanceProfileName"} else None
            arn = iam_arn(account_id, kind, str(path or "/"), value) if account_id else value
            found.append(Resource(RESOURCE_TYPES[kind], value, frozenset({value, arn})))
    key = params.get("AccessKeyId")
    if isinstance(key, str) and key:
        found.append(Resource(ACCESS_KEY, key, frozenset({key})))
    return found


# -- LookupEvents ------------------------------------------------------------------------------------------------


def _check_attributes(attributes: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    checked: list[tuple[str, str]] = []
    for attribute in attributes:
        key = attribute.get("AttributeKey")
        value = attribute.get("AttributeValue")
        if key not in LOOKUP_KEYS:
            raise ValidationError(
                f"Invalid lookup attribute key {key!r}: the valid keys are {', '.join(LOOKUP_KEYS)} "
                "(any number of them may be combined; all must match)."
            )
        if not isinstance(value, str) or not value or len(value) > 2000:  # noqa: PLR2004 - CloudTrail's limit
            raise ValidationError(f"Invalid lookup attribute value for {key}: give a string of 1 to 2000 characters.")
        checked.append((str(key), value))
    return checked


def _matches(record: TrailRecord, key: str, value: str) -> bool:  # noqa: PLR0911 - one return per key
    if key == "EventId":
        return record.event_id == value
    if key == "EventName":
        return bool(record.record["eventName"] == value)
    if key == "ReadOnly":
        return str(record.record["readOnly"]).lower() == value.lower()
    if key == "Username":
        return record.username == value
    if key == "ResourceType":
        return any(r.type == value for r in record.resources)
    if key == "ResourceName":
        return any(r.matches(value) for r in record.resources)
    if key == "EventSource":
        return bool(record.record["eventSource"] == value)
    return value in record.access_key_ids


def _moment(value: str | datetime | None, now: datetime, what: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a time.")
    return parse_time(value, now)


def _encode_token(order: tuple[datetime, int, int]) -> str:
    data = {"t": order[0].astimezone(UTC).isoformat(), "s": order[1], "p": order[2]}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> tuple[datetime, int, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return datetime.fromisoformat(data["t"]), int(data["s"]), int(data["p"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise ValidationError(f"Invalid NextToken: {token}. Pass the NextToken of a previous answer.") from None


def lookup_events(
    store: Any,
    *,
    StartTime: str | datetime | None = None,  # noqa: N803 - boto3's parameter names
    EndTime: str | datetime | None = None,  # noqa: N803
    LookupAttributes: Sequence[Mapping[str, Any]] | None = None,  # noqa: N803
    MaxResults: int | None = None,  # noqa: N803
    NextToken: str | None = None,  # noqa: N803
    EventCategory: str | None = None,  # noqa: N803
    account_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """CloudTrail's ``LookupEvents`` over ``store``'s trail: ``{"Events": [...], "NextToken"?}``, newest first.

    Unlike CloudTrail, any number of ``LookupAttributes`` may be given: a record must match all of them. Times are
    ``datetime`` or text (ISO 8601, a date, ``90m``/``7d`` ago, epoch seconds); the range is inclusive.
    ``MaxResults`` is 1 to 50 (default 50). ``account_id`` keeps the records of one account (its caller's or its
    recipient's). The records are read from the trail's projection (:mod:`iamledger.projections.trail_index`),
    caught up first with what was recorded since it last read; ``NextToken`` names the last record of the page by
    its place in that order, so later records do not move the next page. ``AsOf`` says how far the trail had read
    the identity log (``Position``) and the security log (``SecurityPosition``) for the page; on a read replica
    nothing is caught up, and these are where the replicated trail is."""
    from iamledger.projections.trail_index import lookup_page

    clock = now or datetime.now(UTC)
    attributes = _check_attributes(list(LookupAttributes or []))
    if EventCategory not in {None, "insight"}:
        raise ValidationError(f"Invalid EventCategory {EventCategory!r}: the only category is insight.")
    size = MAX_RESULTS if MaxResults is None else MaxResults
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        raise ValidationError(f"MaxResults must be a number from 1 to {MAX_RESULTS}.")
    start = _moment(StartTime, clock, "StartTime")
    end = _moment(EndTime, clock, "EndTime")
    if start is not None and end is not None and start > end:
        raise ValidationError("Invalid time range: StartTime must be at or before EndTime.")
    after = _decode_token(NextToken) if NextToken else None
    if EventCategory == "insight":  # no Insights events exist here
        return {"Events": []}
    identity, security = store.trail.catch_up()
    with store.engine.connect() as conn:
        page = lookup_page(
            conn, account_id=account_id, attributes=attributes, start=start, end=end, after=after, size=size + 1
        )
    result: dict[str, Any] = {"Events": [r.lookup_shape() for r in page[:size]]}
    if len(page) > size:
        result["NextToken"] = _encode_token(page[size - 1].order)
    # How far the trail had read each log: a read replica's page is repeatable, and comparable, by these.
    result["AsOf"] = {"Position": identity, "SecurityPosition": security}
    return result


# -- the history of one entity -------------------------------------------------------------------------------------


HISTORY_KINDS: Final = ("user", "group", "role", "policy", "access-key")


def entity_history(store: Any, kind: str, name: str, *, account_id: str | None = None) -> list[TrailRecord]:
    """The records touching one entity, oldest first: ``kind`` is ``user``, ``group``, ``role`` (``name`` is its
    name), ``policy`` (``name`` is its ARN) or ``access-key`` (its id).

    An entity is followed by its id, so a renamed user's history goes on under its new name. A user's or role's
    history also holds what it did itself (a role's: what its sessions did), denied and failed attempts included.
    Read from the trail's projection, as :func:`lookup_events`."""
    from iamledger.projections.trail_index import StoredState, history

    if kind not in HISTORY_KINDS:
        raise ValidationError(f"Invalid entity kind {kind!r}: use one of {', '.join(HISTORY_KINDS)}.")
    store.trail.catch_up()
    with store.engine.connect() as conn:
        state = StoredState()
        state.conn = conn
        return history(conn, state, kind, name, account_id)
