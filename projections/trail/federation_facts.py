"""The audit trail's records of the identity provider operations and of the federated role sessions
(``AssumeRoleWithSAML``, ``AssumeRoleWithWebIdentity``), used by :mod:`iamledger.projections.trail.render`.

A federated session's record names the provider as its ``userIdentity`` (``SAMLUser`` / ``WebIdentityUser``, as
CloudTrail does), and its response elements say that iamledger did not verify the credential's signature
(``iamledgerSignatureVerified``: false, a key of iamledger's own).
"""

from __future__ import annotations

from typing import Any, Final

from iamledger.domain.federation import (
    OIDC_KIND,
    SAML_KIND,
    OpenIDConnectProvider,
    SAMLProvider,
    SAMLRoleSession,
    WebIdentityRoleSession,
    parse_provider_arn,
)
from iamledger.projections.trail.records import (
    ACCESS_KEY,
    ASSUMED_ROLE,
    ROLE,
    STS,
    Resource,
    _drop_none,
    _Entity,
    _Fact,
    _tags,
    iso,
)

OIDC_PROVIDER: Final = "AWS::IAM::OIDCProvider"
SAML_PROVIDER: Final = "AWS::IAM::SAMLProvider"
VERIFIED_KEY: Final = "iamledgerSignatureVerified"
FEDERATED_SESSIONS: Final = (SAMLRoleSession.RoleAssumedWithSAML, WebIdentityRoleSession.RoleAssumedWithWebIdentity)
PROVIDER_CREATED: Final = (OpenIDConnectProvider.Created, SAMLProvider.Created)


def provider_entity(event: Any) -> _Entity:
    """The replay's entity of a provider's ``Created`` event (named by what follows ``oidc-provider/``)."""
    if isinstance(event, OpenIDConnectProvider.Created):
        return _Entity(OIDC_KIND, event.account_id, event.url)
    return _Entity(SAML_KIND, event.account_id, event.name)


def provider_created_fact(position: int, event: Any) -> _Fact:
    """The record of CreateOpenIDConnectProvider / CreateSAMLProvider."""
    entity = provider_entity(event)
    params: dict[str, Any]
    if isinstance(event, OpenIDConnectProvider.Created):
        operation = "CreateOpenIDConnectProvider"
        params = {"url": f"https://{event.url}", "clientIDList": event.client_ids, "thumbprintList": event.thumbprints}
        response = {"openIDConnectProviderArn": entity.arn}
    else:
        operation = "CreateSAMLProvider"
        params = {"name": event.name, "sAMLMetadataDocument": event.metadata_document}
        response = {"sAMLProviderArn": entity.arn}
    if event.tags:
        params["tags"] = _tags(event.tags)
    return _Fact(
        position,
        event,
        operation,
        params=params,
        response=response,
        resources=[entity.resource()],
        entities={event.originator_id},
        account=event.account_id,
    )


def provider_fact(fact: _Fact, event: Any, base: dict[str, Any]) -> _Fact | None:
    """The record of a change of a provider other than tags (handled with every entity's)."""
    operation: str | None = None
    params = dict(base)
    if isinstance(event, OpenIDConnectProvider.ClientIDAdded):
        operation, params["clientID"] = "AddClientIDToOpenIDConnectProvider", event.client_id
    elif isinstance(event, OpenIDConnectProvider.ClientIDRemoved):
        operation, params["clientID"] = "RemoveClientIDFromOpenIDConnectProvider", event.client_id
    elif isinstance(event, OpenIDConnectProvider.ThumbprintsUpdated):
        operation, params["thumbprintList"] = "UpdateOpenIDConnectProviderThumbprint", list(event.thumbprints)
    elif isinstance(event, OpenIDConnectProvider.Deleted):
        operation = "DeleteOpenIDConnectProvider"
    elif isinstance(event, SAMLProvider.MetadataUpdated):
        operation, params["sAMLMetadataDocument"] = "UpdateSAMLProvider", event.metadata_document
        fact.response = {"sAMLProviderArn": base["sAMLProviderArn"]}
    elif isinstance(event, SAMLProvider.Deleted):
        operation = "DeleteSAMLProvider"
    if operation is None:
        return None
    fact.operation, fact.params, fact.primary, fact.joins = operation, params, True, ()
    return fact


def federated_session_fact(position: int, event: Any) -> _Fact:
    """The record of AssumeRoleWithSAML / AssumeRoleWithWebIdentity (the assertion or token itself is a bearer
    credential and is never recorded)."""
    session_arn = f"arn:aws:sts::{event.account_id}:assumed-role/{event.role_name}/{event.session_name}"
    assumed_role_id = f"{event.role_id}:{event.session_name}"
    response: dict[str, Any] = {
        "credentials": {"accessKeyId": event.key_id, "expiration": iso(event.expiration)},
        "assumedRoleUser": {"assumedRoleId": assumed_role_id, "arn": session_arn},
    }
    common = {
        "roleArn": event.role_arn,
        "durationSeconds": event.duration_seconds,
        "policy": event.session_policy,
        "policyArns": [{"arn": a} for a in event.policy_arns],
    }
    if isinstance(event, SAMLRoleSession.RoleAssumedWithSAML):
        operation = "AssumeRoleWithSAML"
        params = _drop_none(common | {"principalArn": event.provider_arn})
        response |= _drop_none(
            {
                "subject": event.subject,
                "subjectType": event.subject_type,
                "issuer": event.issuer,
                "audience": event.audience,
                "nameQualifier": event.name_qualifier,
            }
        )
    else:
        operation = "AssumeRoleWithWebIdentity"
        params = _drop_none(common | {"roleSessionName": event.session_name})
        response |= {
            "subjectFromWebIdentityToken": event.subject,
            "provider": event.provider,
            "audience": event.audience,
        }
    if event.source_identity:
        response["sourceIdentity"] = event.source_identity
    response[VERIFIED_KEY] = event.signature_verified
    resources = [
        Resource(ACCESS_KEY, event.key_id, frozenset({event.key_id})),
        Resource(ASSUMED_ROLE, session_arn, frozenset({session_arn, assumed_role_id, event.session_name})),
        Resource(ROLE, event.role_arn, frozenset({event.role_arn, event.role_name})),
    ]
    provider = getattr(event, "provider_arn", None)
    if provider:
        parts = parse_provider_arn(provider)
        type_ = SAML_PROVIDER if parts is not None and parts[1] == SAML_KIND else OIDC_PROVIDER
        resources.append(Resource(type_, provider, frozenset({provider})))
    return _Fact(
        position,
        event,
        operation,
        source=STS,
        params=params,
        response=response,
        resources=resources,
        entities={event.originator_id, event.role_uuid},
        key_ids={event.key_id},
        account=event.account_id,
    )


def federated_identity(actor: str) -> tuple[dict[str, Any], str] | None:
    """CloudTrail's ``userIdentity`` of a federated caller (the actor of a federated session's event: a provider
    ARN or a built-in web identity provider's name), or ``None`` for other actors."""
    parts = parse_provider_arn(actor)
    if parts is not None:
        kind = "SAMLUser" if parts[1] == SAML_KIND else "WebIdentityUser"
        return {"type": kind, "principalId": actor, "identityProvider": actor, "accountId": parts[0]}, parts[2]
    if ":" not in actor and "." in actor:
        return {"type": "WebIdentityUser", "principalId": actor, "identityProvider": actor}, actor
    return None
