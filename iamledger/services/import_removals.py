"""What the dump of an import no longer has, removed from the store: users, groups and roles (with what AWS makes
one remove first), customer managed policies, and group memberships."""

from __future__ import annotations

import functools
import uuid
from typing import TYPE_CHECKING, Any

from iamledger.projections.views.policies import customer_policies
from iamledger.services.import_account import AccountImport
from iamledger.services.import_permissions import detach

if TYPE_CHECKING:
    from iamledger.domain.groups import Group
    from iamledger.domain.policies import ManagedPolicy
    from iamledger.domain.roles import Role
    from iamledger.domain.users import User


def delete_missing(account: AccountImport) -> None:
    """Delete the users, roles and groups the store has and the dump does not (matched by id, then name)."""
    for kind, wanted in (("user", account.users), ("role", account.roles), ("group", account.groups)):
        kept = {p.entity_id for p in wanted}
        for entity_id, entity_uuid in list(account.by_id[kind].items()):
            if entity_id not in kept:
                delete_principal(account, account.ws.get(uuid.UUID(entity_uuid)))
                del account.by_id[kind][entity_id]


def delete_principal(account: AccountImport, entity: Any) -> None:
    from iamledger.domain.groups import Group
    from iamledger.domain.roles import Role
    from iamledger.domain.users import User

    if entity is None:
        return
    for arn in list(entity.attached_policies):
        detach(account, entity, arn)
    for name in list(entity.inline_policies):
        entity.trigger_event(entity.InlinePolicyDeleted, policy_name=name)
    if getattr(entity, "permissions_boundary", None) is not None:
        entity.trigger_event(entity.PermissionsBoundaryDeleted)
    if isinstance(entity, User):
        _strip_user(account, entity)
    if isinstance(entity, Group):
        for user_id in list(entity.members):
            leave_group(account, account.ws.get(user_id), entity)
    if isinstance(entity, Role):
        _strip_role(account, entity)
    entity.trigger_event(entity.Deleted)
    account.ws.release(account.account_id, entity.kind, entity.display_name)
    account.ws.touch(entity)
    account.changes.add(f"{entity.kind.capitalize()}sDeleted")


def _strip_role(account: AccountImport, role: Role) -> None:
    for profile_id in list(role.instance_profiles):
        profile = account.ws.get(profile_id)
        if profile is not None:
            profile.remove_role(role.id, role.role_name)
            account.ws.touch(profile)
        role.trigger_event(role.RemovedFromInstanceProfile, instance_profile_uuid=profile_id)


def _strip_user(account: AccountImport, user: User) -> None:
    """What AWS makes one remove before deleting a user: groups, password, access keys (their secrets too)."""
    for group_id in list(user.groups):
        leave_group(account, user, account.ws.get(group_id))
    if user.login_profile is not None:
        user.delete_login_profile()
        account.ws.after_save.append(account.service._passwords(user).forget)  # type: ignore[attr-defined]  # noqa: SLF001
    vault = account.service.vault
    for key_id in list(user.access_keys):
        user.delete_access_key(key_id)
        account.ws.after_save.append(functools.partial(vault.delete_secret, key_id))


def delete_missing_policies(account: AccountImport) -> None:
    from iamledger.domain.policies import ManagedPolicy

    kept = {p.arn for p in account.policies}
    for row in customer_policies(account.conn, account.account_id):
        if row["arn"] in kept:
            continue
        policy = account.ws.get(uuid.UUID(row["entity_uuid"]))
        if policy is None or policy.deleted:
            continue
        for version_id in [v for v in policy.versions if v != policy.default_version_id]:
            policy.delete_version(version_id)
        for entity_id in list(policy.attachments):
            holder = account.ws.get(entity_id)
            if holder is not None and policy.arn in holder.attached_policies:
                detach(account, holder, policy.arn)
        policy.trigger_event(policy.Deleted)
        account.ws.release(account.account_id, ManagedPolicy.kind, policy.policy_name)
        account.ws.touch(policy)
        account.changes.add("PoliciesDeleted")


def delete_replaced_policy(account: AccountImport, policy: ManagedPolicy) -> None:
    from iamledger.domain.policies import ManagedPolicy

    for entity_id in list(policy.attachments):
        holder = account.ws.get(entity_id)
        if holder is not None and policy.arn in holder.attached_policies:
            detach(account, holder, policy.arn)
    for version_id in [v for v in policy.versions if v != policy.default_version_id]:
        policy.delete_version(version_id)
    policy.trigger_event(policy.Deleted)
    account.ws.release(policy.account_id, ManagedPolicy.kind, policy.policy_name)
    account.ws.touch(policy)
    account.changes.add("PoliciesDeleted")


def leave_group(account: AccountImport, user: User | None, group: Group | None) -> None:
    if user is None or group is None:
        return
    if group.id in user.groups:
        user.leave_group(group.id)
        account.ws.touch(user)
    if user.id in group.members:
        group.remove_member(user.id)
        account.ws.touch(group)
    account.changes.add("MembershipsRemoved")
