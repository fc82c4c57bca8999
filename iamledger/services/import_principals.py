"""The users, groups and roles of an import, created or brought to what the dump shows (renamed, moved, their
permissions, boundaries, tags, memberships, trust policies and instance profiles); an entity holding a name the dump
gives another (deleted and recreated in AWS) is deleted first."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from iamledger.services.dump import DumpInstanceProfile, DumpRole, DumpUser, Principal
from iamledger.services.import_account import AccountImport
from iamledger.services.import_permissions import same_document, sync_boundary, sync_permissions, sync_tags
from iamledger.services.import_removals import delete_principal, leave_group

if TYPE_CHECKING:
    from iamledger.domain.instance_profiles import InstanceProfile
    from iamledger.domain.roles import Role


def _existing(account: AccountImport, kind: str, wanted: Principal, id_attribute: str) -> Any:
    """The store's entity for ``wanted``: the live one with its id (renamed or moved, perhaps), else none. A
    different entity holding the name (deleted and recreated in AWS) is deleted first."""
    by_name = account.ws.holder(account.account_id, kind, wanted.name)
    if by_name is not None and getattr(by_name, id_attribute) == wanted.entity_id:
        return by_name
    if by_name is not None:
        delete_principal(account, by_name)
    entity_uuid = account.by_id[kind].get(wanted.entity_id)
    return None if entity_uuid is None else account.ws.get(uuid.UUID(entity_uuid))


def _rename(account: AccountImport, entity: Any, kind: str, wanted: Principal) -> None:
    if entity.display_name != wanted.name:
        account.ws.release(account.account_id, kind, entity.display_name)
        account.ws.claim(account.account_id, kind, wanted.name, entity.id)
        entity.update(wanted.name, wanted.path)
        account.changes.add(f"{kind.capitalize()}sRenamed")
    elif entity.path != wanted.path:
        entity.update(wanted.name, wanted.path)
        account.changes.add(f"{kind.capitalize()}sMoved")


def import_group(account: AccountImport, wanted: Principal) -> None:
    from iamledger.domain.groups import Group

    group = _existing(account, "group", wanted, "group_id")
    if group is None:
        entity_id = uuid.uuid4()
        account.ws.claim(account.account_id, "group", wanted.name, entity_id)
        group = Group.create_with_id(
            entity_id,
            account_id=account.account_id,
            group_id=wanted.entity_id,
            group_name=wanted.name,
            path=wanted.path,
            create_date=wanted.create_date,
        )
        account.changes.add("GroupsCreated")
    else:
        _rename(account, group, "group", wanted)
    account.group_entities[wanted.name.lower()] = group
    sync_permissions(account, group, wanted)
    account.ws.touch(group)


def import_user(account: AccountImport, wanted: DumpUser) -> None:
    from iamledger.domain.users import User

    user = _existing(account, "user", wanted, "user_id")
    if user is None:
        entity_id = uuid.uuid4()
        account.ws.claim(account.account_id, "user", wanted.name, entity_id)
        user = User.create_with_id(
            entity_id,
            account_id=account.account_id,
            user_id=wanted.entity_id,
            user_name=wanted.name,
            path=wanted.path,
            permissions_boundary=wanted.boundary,
            tags=[{"Key": k, "Value": v} for k, v in wanted.tags],
            create_date=wanted.create_date,
        )
        account.changes.add("UsersCreated")
    else:
        _rename(account, user, "user", wanted)
        sync_boundary(account, user, wanted)
        sync_tags(account, user, wanted)
    sync_permissions(account, user, wanted)
    wanted_groups = {g.lower() for g in wanted.groups}
    for group_id, group_name in list(user.groups.items()):
        if group_name.lower() not in wanted_groups:
            leave_group(account, user, account.ws.get(group_id))
    for name in wanted.groups:
        group = account.group_entities[name.lower()]
        if group.id not in user.groups:
            user.trigger_event(user.AddedToGroup, group_id=group.id, group_name=group.group_name)
            group.trigger_event(group.MemberAdded, user_id=user.id)
            account.ws.touch(group)
            account.changes.add("MembershipsAdded")
    account.ws.touch(user)


def import_role(account: AccountImport, wanted: DumpRole) -> None:
    from iamledger.domain.roles import DEFAULT_MAX_SESSION_DURATION, Role

    role = _existing(account, "role", wanted, "role_id")
    if role is None:
        entity_id = uuid.uuid4()
        account.ws.claim(account.account_id, "role", wanted.name, entity_id)
        role = Role.create_with_id(
            entity_id,
            account_id=account.account_id,
            role_id=wanted.entity_id,
            role_name=wanted.name,
            path=wanted.path,
            assume_role_policy_document=wanted.trust_policy,
            description=wanted.description,
            max_session_duration=wanted.max_session_duration or DEFAULT_MAX_SESSION_DURATION,
            permissions_boundary=wanted.boundary,
            tags=[{"Key": k, "Value": v} for k, v in wanted.tags],
            create_date=wanted.create_date,
        )
        account.changes.add("RolesCreated")
    else:
        if not same_document(role.assume_role_policy_document, wanted.trust_policy):
            role.trigger_event(role.AssumeRolePolicyUpdated, policy_document=wanted.trust_policy)
            account.changes.add("TrustPoliciesUpdated")
        description = wanted.description if wanted.description is not None else role.description
        duration = wanted.max_session_duration or role.max_session_duration
        if (description, duration) != (role.description, role.max_session_duration):
            role.trigger_event(role.Updated, description=description, max_session_duration=duration)
            account.changes.add("RolesUpdated")
        sync_boundary(account, role, wanted)
        sync_tags(account, role, wanted)
    if wanted.last_used is not None and role.last_used != wanted.last_used:
        role.record_use(wanted.last_used[0], wanted.last_used[1], always=True)
        account.changes.add("RoleUsesRecorded")
    sync_permissions(account, role, wanted)
    account.ws.touch(role)
    _instance_profiles(account, role, wanted)


def _instance_profiles(account: AccountImport, role: Role, wanted: DumpRole) -> None:
    wanted_names = {p.name.lower() for p in wanted.instance_profiles}
    for profile_id, profile_name in list(role.instance_profiles.items()):
        if profile_name.lower() not in wanted_names:
            profile = account.ws.get(profile_id)
            if profile is not None:
                profile.remove_role(role.id, role.role_name)
                account.ws.touch(profile)
            role.trigger_event(role.RemovedFromInstanceProfile, instance_profile_uuid=profile_id)
            account.changes.add("InstanceProfileRolesRemoved")
    for wanted_profile in wanted.instance_profiles:
        profile = _instance_profile(account, wanted_profile)
        if profile.id not in role.instance_profiles:
            for other_id, other_name in list(profile.roles.items()):
                other = account.ws.get(other_id)
                profile.remove_role(other_id, other_name)
                if other is not None:
                    other.trigger_event(other.RemovedFromInstanceProfile, instance_profile_uuid=profile.id)
                    account.ws.touch(other)
            profile.trigger_event(profile.RoleAdded, role_uuid=role.id, role_name=role.role_name)
            role.trigger_event(
                role.AddedToInstanceProfile,
                instance_profile_uuid=profile.id,
                instance_profile_name=profile.instance_profile_name,
            )
            account.ws.touch(profile)
            account.changes.add("InstanceProfileRolesAdded")
    account.ws.touch(role)


def _instance_profile(account: AccountImport, wanted: DumpInstanceProfile) -> InstanceProfile:
    from iamledger.domain.instance_profiles import InstanceProfile

    existing = account.ws.holder(account.account_id, InstanceProfile.kind, wanted.name)
    if existing is not None and existing.instance_profile_id == wanted.profile_id:
        return existing  # type: ignore[no-any-return]
    if existing is not None:  # another profile of that name: deleted and recreated in AWS
        for other_id, other_name in list(existing.roles.items()):
            existing.remove_role(other_id, other_name)
            other = account.ws.get(other_id)
            if other is not None:
                other.trigger_event(other.RemovedFromInstanceProfile, instance_profile_uuid=existing.id)
                account.ws.touch(other)
        existing.delete()
        account.ws.release(account.account_id, InstanceProfile.kind, existing.instance_profile_name)
        account.ws.touch(existing)
    entity_id = uuid.uuid4()
    account.ws.claim(account.account_id, InstanceProfile.kind, wanted.name, entity_id)
    profile = InstanceProfile.create_with_id(
        entity_id,
        account_id=account.account_id,
        instance_profile_id=wanted.profile_id,
        instance_profile_name=wanted.name,
        path=wanted.path,
        tags=[{"Key": k, "Value": v} for k, v in wanted.tags],
        create_date=wanted.create_date,
    )
    account.ws.touch(profile)
    account.changes.add("InstanceProfilesCreated")
    return profile
