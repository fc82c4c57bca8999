"""The trail's fact of each event: the call it belongs to (operation, parameters, response, resources), dispatched by
the kind of event; accounts, imports and bookkeeping here, the STS sessions in
:mod:`~iamledger.projections.trail.session_facts`, creations in :mod:`~iamledger.projections.trail.created_facts`,
the changes of an entity in :mod:`~iamledger.projections.trail.entity_facts`.
"""

from __future__ import annotations

from collections.abc import Callable
from types import UnionType
from typing import Any, Final

from iamledger.domain.accounts import Account, AccountRegistry
from iamledger.domain.imports import ImportRecord
from iamledger.domain.names import NameIndex
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PermissionsBoundaryDeletedEvent,
    PermissionsBoundaryPutEvent,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.domain.roles import Role
from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession
from iamledger.domain.tagging import TaggedEvent, UntaggedEvent
from iamledger.domain.users import User
from iamledger.projections.trail.created_facts import CREATED, created_fact
from iamledger.projections.trail.entity_facts import EntityFacts
from iamledger.projections.trail.federation_facts import (
    FEDERATED_SESSIONS,
    PROVIDER_CREATED,
    federated_session_fact,
    provider_created_fact,
    provider_fact,
)
from iamledger.projections.trail.material import is_material_event, material_fact
from iamledger.projections.trail.records import (
    ACCESS_KEY,
    ACCOUNT,
    ACCOUNT_ALIAS,
    IMPORT,
    ORGANIZATIONS,
    RESOURCE_TYPES,
    SUFFIXES,
    Resource,
    _Entity,
    _Fact,
    _payload,
    _policy_resource,
    _tags,
    camel,
    iso,
)
from iamledger.projections.trail.session_facts import assume_role_fact, federation_token_fact, session_token_fact


class TrailFacts(EntityFacts):
    """The fact of each event: the call it belongs to, its parameters, its response and its resources."""

    def fact(self, position: int, event: Any) -> _Fact | None:
        """What ``event`` (at ``position``) says about its call, from the state before it applies; ``None`` for
        events that are no API call of their own (recorded key uses)."""
        if isinstance(event, User.AccessKeyUsed | Account.RootAccessKeyUsed | Role.LastUsed):
            return None
        if isinstance(event, Account.Event):
            return self._account_fact(position, event)
        if is_material_event(event):
            return material_fact(self, position, event)
        make = next((make for kinds, make in _FACTS_OF_THEIR_OWN if isinstance(event, kinds)), None)
        if make is not None:
            return make(position, event)
        return self._entity_change_fact(position, event)

    def _entity_change_fact(self, position: int, event: Any) -> _Fact | None:  # noqa: PLR0911 - one return per kind
        """The fact of an event that changes one entity of the replay: the changes every kind of principal shares
        (tags, inline and managed policies, boundaries) here, each kind's own in its method."""
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
        return self._kind_fact(fact, entity, event, base)

    def _kind_fact(self, fact: _Fact, entity: _Entity, event: Any, base: dict[str, Any]) -> _Fact | None:
        """The fact of an event of one kind of entity only (``fact`` holds the entity as its resource)."""
        if entity.kind == "user":
            return self._user_fact(fact, entity, event, base)
        if entity.kind == "group":
            return self._group_fact(fact, entity, event, base)
        if entity.kind == "role":
            return self._role_fact(fact, event, base)
        if entity.kind == "policy":
            return self._policy_fact(fact, event, base)
        if entity.kind in {"oidc-provider", "saml-provider"}:
            return provider_fact(fact, event, base)
        return self._instance_profile_fact(fact, event, base)

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
        if isinstance(event, Account.SecurityTokenServicePreferencesSet):
            params = {"globalEndpointTokenVersion": event.global_endpoint_token_version}
            return self._set(fact, "SetSecurityTokenServicePreferences", params)
        return None


def _import_fact(position: int, event: ImportRecord.Recorded) -> _Fact:
    """The fact of ``ImportAuthorizationDetails`` (iamledger's own call): the file, its accounts, what changed."""
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


def _name_released_fact(position: int, event: NameIndex.Released) -> _Fact:
    return _Fact(position, event, "NameIndex", primary=False, joins=("Delete*", "Update*", "CreateAccountAlias"))


def _name_claimed_fact(position: int, event: NameIndex.Created | NameIndex.Claimed) -> _Fact:
    return _Fact(position, event, "NameIndex", primary=False, joins=("Create*", "Update*"))


def _registry_fact(position: int, event: AccountRegistry.Created | AccountRegistry.AccountRegistered) -> _Fact:
    return _Fact(position, event, "AccountRegistry", primary=False, joins=("CreateAccount",))


_FACTS_OF_THEIR_OWN: Final[tuple[tuple[type | UnionType | tuple[type, ...], Callable[[int, Any], _Fact]], ...]] = (
    (ImportRecord.Recorded, _import_fact),
    (NameIndex.Released, _name_released_fact),
    (NameIndex.Created | NameIndex.Claimed, _name_claimed_fact),
    (AccountRegistry.Created | AccountRegistry.AccountRegistered, _registry_fact),
    (FEDERATED_SESSIONS, federated_session_fact),
    (PROVIDER_CREATED, provider_created_fact),
    (RoleSession.RoleAssumed, assume_role_fact),
    (FederatedSession.FederationTokenIssued, federation_token_fact),
    (UserSession.SessionTokenIssued, session_token_fact),
    (CREATED, created_fact),
)
"""The facts of the events that are no change of an entity the replay knows (bookkeeping folded into a call, STS
sessions, creations), by kind of event."""
