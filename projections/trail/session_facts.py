"""The trail's facts of the STS calls that issue temporary credentials to a principal of the store: ``AssumeRole``,
``GetFederationToken`` and ``GetSessionToken`` (the federated ones:
:mod:`~iamledger.projections.trail.federation_facts`).
"""

from __future__ import annotations

from typing import Any

from iamledger.domain.sessions import FederatedSession, RoleSession, UserSession, federated_user_arn
from iamledger.projections.trail.records import (
    ACCESS_KEY,
    ASSUMED_ROLE,
    ROLE,
    STS,
    Resource,
    _drop_none,
    _Fact,
    _tags,
    iso,
)


def assume_role_fact(position: int, event: RoleSession.RoleAssumed) -> _Fact:
    """The fact of ``AssumeRole``: the role session's credentials, the assumed-role user, and the role."""
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


def federation_token_fact(position: int, event: FederatedSession.FederationTokenIssued) -> _Fact:
    """The fact of ``GetFederationToken``: the federated user's credentials."""
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


def session_token_fact(position: int, event: UserSession.SessionTokenIssued) -> _Fact:
    """The fact of ``GetSessionToken``: the user's session credentials."""
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
