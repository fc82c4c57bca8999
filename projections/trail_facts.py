"""The trail's fact of each event: the call it belongs to (operation, parameters, response, resources), dispatched by
the kind of event; accounts and role sessions here, entities in :mod:`~iamledger.projections.trail_entity_facts`.
"""

from __future__ import annotations

from typing import Any

from iamledger.domain.accounts import Account, AccountRegistry
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
from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession, federated_user_arn
from iamledger.domain.tagging import TaggedEvent, UntaggedEvent
from iamledger.domain.users import User
from iamledger.projections.trail_entity_facts import EntityFacts
from iamledger.projections.trail_federation import federated_session_fact, provider_created_fact, provider_fact
from iamledger.projections.trail_material import is_material_event, material_fact
from iamledger.projections.trail_records import (
    ACCESS_KEY,
    ACCOUNT,
    ACCOUNT_ALIAS,
    ASSUMED_ROLE,
    IMPORT,
    ORGANIZATIONS,
    RESOURCE_TYPES,
    ROLE,
    STS,
    SUFFIXES,
    Resource,
    _drop_none,
    _Fact,
    _payload,
    _policy_resource,
    _tags,
    camel,
    iso,
)


class TrailFacts(EntityFacts):
    """The fact of each event: the call it belongs to, its parameters, its response and its resources."""

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
            return federated_session_fact(position, event)
        if isinstance(event, OpenIDConnectProvider.Created | SAMLProvider.Created):
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
