"""The trail's facts of the events that create an entity: ``CreateUser``, ``CreateGroup``, ``CreateRole`` (and
``CreateServiceLinkedRole``), ``CreatePolicy`` and ``CreateInstanceProfile``, each with its parameters, its response
and the entity as its resource (and the permissions boundary, when one is given)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from iamledger.domain.groups import Group
from iamledger.domain.instance_profiles import InstanceProfile
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import Role
from iamledger.domain.users import User
from iamledger.projections.trail.records import _drop_none, _Entity, _Fact, _policy_resource, _tags, iso


@dataclass(frozen=True)
class _Creation:
    """What a creation event says of its call: the entity, the operation, its parameters and its response."""

    entity: _Entity
    operation: str
    params: dict[str, Any]
    response: dict[str, Any]


def created_fact(position: int, event: Any) -> _Fact:
    """The fact of an event of :data:`CREATED` (at ``position``)."""
    created = iso(event.timestamp)
    creation = next(describe(event, created) for kind, describe in _CREATIONS if isinstance(event, kind))
    params = creation.params
    tags = getattr(event, "tags", None)
    if tags:
        params["tags"] = _tags(tags)
    resources = [creation.entity.resource()]
    if params.get("permissionsBoundary"):
        resources.append(_policy_resource(str(params["permissionsBoundary"])))
    return _Fact(
        position,
        event,
        creation.operation,
        params=_drop_none(params),
        response=creation.response,
        resources=resources,
        entities={event.originator_id},
        account=event.account_id,
    )


def _user_created(event: User.Created, created: str) -> _Creation:
    entity = _Entity("user", event.account_id, event.user_name, event.path, event.user_id)
    params = {"userName": event.user_name, "path": event.path, "permissionsBoundary": event.permissions_boundary}
    user = {
        "path": event.path,
        "userName": event.user_name,
        "userId": event.user_id,
        "arn": entity.arn,
        "createDate": created,
    }
    return _Creation(entity, "CreateUser", params, {"user": user})


def _group_created(event: Group.Created, created: str) -> _Creation:
    entity = _Entity("group", event.account_id, event.group_name, event.path, event.group_id)
    params = {"groupName": event.group_name, "path": event.path}
    group = {
        "path": event.path,
        "groupName": event.group_name,
        "groupId": event.group_id,
        "arn": entity.arn,
        "createDate": created,
    }
    return _Creation(entity, "CreateGroup", params, {"group": group})


def _role_created(event: Role.Created, created: str) -> _Creation:
    entity = _Entity("role", event.account_id, event.role_name, event.path, event.role_id)
    operation = "CreateRole"
    params: dict[str, Any] = {
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
    role = {
        "path": event.path,
        "roleName": event.role_name,
        "roleId": event.role_id,
        "arn": entity.arn,
        "createDate": created,
        "assumeRolePolicyDocument": event.assume_role_policy_document,
    }
    return _Creation(entity, operation, params, {"role": role})


def _policy_created(event: ManagedPolicy.Created, created: str) -> _Creation:
    entity = _Entity("policy", event.account_id, event.policy_name, event.path, event.policy_id)
    params = {
        "policyName": event.policy_name,
        "path": event.path,
        "policyDocument": event.document,
        "description": event.description,
    }
    policy = {
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
    return _Creation(entity, "CreatePolicy", params, {"policy": policy})


def _instance_profile_created(event: InstanceProfile.Created, created: str) -> _Creation:
    entity = _Entity(
        "instance-profile", event.account_id, event.instance_profile_name, event.path, event.instance_profile_id
    )
    params = {"instanceProfileName": event.instance_profile_name, "path": event.path}
    profile = {
        "path": event.path,
        "instanceProfileName": event.instance_profile_name,
        "instanceProfileId": event.instance_profile_id,
        "arn": entity.arn,
        "createDate": created,
        "roles": [],
    }
    return _Creation(entity, "CreateInstanceProfile", params, {"instanceProfile": profile})


_CREATIONS: Final[tuple[tuple[type, Callable[[Any, str], _Creation]], ...]] = (
    (User.Created, _user_created),
    (Group.Created, _group_created),
    (Role.Created, _role_created),
    (ManagedPolicy.Created, _policy_created),
    (InstanceProfile.Created, _instance_profile_created),
)
CREATED: Final = tuple(kind for kind, _ in _CREATIONS)
"""The creation events, whose facts :func:`created_fact` gives."""
