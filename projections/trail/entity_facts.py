"""The trail's facts of the events that change one entity: users, groups, roles, managed policies and instance
profiles (the events that create them: :mod:`~iamledger.projections.trail.created_facts`).
"""

from __future__ import annotations

from typing import Any

from iamledger.domain.arns import iam_arn
from iamledger.domain.groups import Group
from iamledger.domain.instance_profiles import InstanceProfile
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import Role
from iamledger.domain.users import User
from iamledger.projections.trail.records import (
    ACCESS_KEY,
    NAME_PARAMS,
    RESOURCE_TYPES,
    SUFFIXES,
    Resource,
    _drop_none,
    _Entity,
    _Fact,
    iso,
)
from iamledger.projections.trail.state import TrailState


class EntityFacts(TrailState):
    """The facts of the events that act on one entity (a user, group, role, policy or instance profile)."""

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
