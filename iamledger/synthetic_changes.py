"""The changes a synthetic organisation goes through once its entities exist, each what one IAM or STS command
would record: memberships, attachments, policy versions, inline policies, trust policies, access keys, tags,
renames, boundaries, role sessions, and people leaving."""

# The odds of the generator's random choices are plain numbers (as in iamledger/generate.py, which pyproject.toml
# exempts likewise).
# ruff: noqa: PLR2004

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Final

from iamledger.domain.groups import Group
from iamledger.domain.ids import new_access_key_id
from iamledger.domain.policies import ManagedPolicy
from iamledger.domain.roles import Role
from iamledger.domain.sessions import RoleSession
from iamledger.domain.users import User
from iamledger.synthetic_documents import SERVICES
from iamledger.synthetic_organisation import Organisation

TAG_KEYS: Final = ("team", "cost-center", "env", "owner", "project")
MAX_GROUPS_PER_USER: Final = 10
MAX_ATTACHED: Final = 10


def join_group(org: Organisation, user: User, group: Group) -> None:
    """Add ``user`` to ``group``, unless it is a member already or of :data:`MAX_GROUPS_PER_USER` groups."""
    if len(user.groups) < MAX_GROUPS_PER_USER and user.join_group(group.id, group.group_name):
        group.add_member(user.id)
        org.touch(user, group)


def join(org: Organisation) -> None:
    join_group(org, org.rng.choice(org.users), org.rng.choice(org.groups))


def leave(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if user.groups:
        group_id = org.rng.choice(list(user.groups))
        group = org.groups_by_id[group_id]
        user.leave_group(group_id)
        group.remove_member(user.id)
        org.touch(user, group)


def attach(org: Organisation) -> None:
    holder = org.pick_holder()
    if len(holder.attached_policies) >= MAX_ATTACHED:
        return
    if org.rng.random() < 0.3:
        if holder.attach_policy(org.rng.choice(org.aws_arns)):
            org.touch(holder)
        return
    policy = org.rng.choice(org.policies)
    if holder.attach_policy(policy.arn):
        policy.record_attachment(holder.id, holder.kind)
        org.touch(holder, policy)


def detach(org: Organisation) -> None:
    holder = org.pick_holder()
    if holder.attached_policies:
        arn = org.rng.choice(holder.attached_policies)
        holder.detach_policy(arn)
        org.touch(holder)
        policy = org.policies_by_arn.get(arn)
        if policy is not None:
            policy.record_detachment(holder.id)
            org.touch(policy)


def new_version(org: Organisation) -> None:
    policy = org.rng.choice(org.policies)
    if len(policy.versions) >= 5:
        oldest = min((v for v in policy.versions if v != policy.default_version_id), key=lambda v: int(v[1:]))
        policy.delete_version(oldest)
    # create_version's guard parses the document; these were checked once up front (see __post_init__)
    policy.trigger_event(
        ManagedPolicy.VersionCreated,
        version_id=f"v{policy.last_version_number + 1}",
        document=org.rng.choice(org.documents),
        set_as_default=org.rng.random() < 0.5,
    )
    org.touch(policy)


def set_default(org: Organisation) -> None:
    policy = org.rng.choice(org.policies)
    choices = [v for v in policy.versions if v != policy.default_version_id]
    if choices:
        policy.set_default_version(org.rng.choice(choices))
        org.touch(policy)


def put_inline(org: Organisation) -> None:
    holder = org.pick_holder()
    document = org.rng.choice(org.documents[:16])  # checked up front; small enough for every quota
    holder.trigger_event(holder.InlinePolicyPut, policy_name=f"inline{org.rng.randrange(3)}", policy_document=document)
    org.touch(holder)


def delete_inline(org: Organisation) -> None:
    holder = org.pick_holder()
    if holder.inline_policies:
        holder.delete_inline_policy(org.rng.choice(list(holder.inline_policies)))
        org.touch(holder)


def trust_update(org: Organisation) -> None:
    role = org.rng.choice(org.roles)
    role.update_assume_role_policy(org.rng.choice(org.trusts))
    org.touch(role)


def role_update(org: Organisation) -> None:
    role = org.rng.choice(org.roles)
    role.update(description=f"updated {org.serial}", max_session_duration=org.rng.choice([3600, 7200]))
    org.touch(role)


def key_create(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if len(user.access_keys) < 2:
        # A fingerprint of a random secret nobody keeps: generated keys sign nothing.
        user.create_access_key(new_access_key_id(), "sha256:" + secrets.token_hex(16))
        org.touch(user)


def key_update(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if user.access_keys:
        key = org.rng.choice(list(user.access_keys.values()))
        user.update_access_key(key.key_id, "Inactive" if key.status == "Active" else "Active")
        org.touch(user)


def key_delete(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if user.access_keys:
        user.delete_access_key(org.rng.choice(list(user.access_keys)))
        org.touch(user)


def key_used(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if user.access_keys:
        key = org.rng.choice(list(user.access_keys))
        service = org.rng.choice(SERVICES)
        user.trigger_event(User.AccessKeyUsed, key_id=key, service_name=service, region="us-east-1")
        org.touch(user)


def tag(org: Organisation) -> None:
    entity: User | Role = org.rng.choice(org.users) if org.rng.random() < 0.5 else org.rng.choice(org.roles)
    entity.tag([(org.rng.choice(TAG_KEYS), f"v{org.rng.randrange(10)}")])
    org.touch(entity)


def untag(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if user.tags:
        user.untag([org.rng.choice(user.tags)[0]])
        org.touch(user)


def rename_user(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    old = org.indexes[("user", user.user_name.casefold())]
    old.release()
    new_name = org.new_name("renamed")
    index = org.claim("user", new_name, user.id)
    user.update(new_name, user.path)
    org.touch(user, old, index)


def boundary(org: Organisation) -> None:
    user = org.rng.choice(org.users)
    if user.permissions_boundary is None:
        user.put_permissions_boundary(org.rng.choice(org.policies).arn)
    else:
        user.delete_permissions_boundary()
    org.touch(user)


def assume_role(org: Organisation) -> None:
    role = org.rng.choice(org.roles)
    now = datetime.now(UTC)
    session = RoleSession(
        account_id=org.spec.account_id,
        role_uuid=role.id,
        role_arn=role.arn,
        role_id=role.role_id,
        role_name=role.role_name,
        session_name=f"s{org.serial}",
        caller_arn=org.actor,
        key_id=new_access_key_id(temporary=True),
        secret_fingerprint="sha256:" + secrets.token_hex(16),
        session_token_digest=secrets.token_hex(32),
        issued_at=now,
        expiration=now + timedelta(hours=1),
        duration_seconds=3600,
        session_policy=None,
        policy_arns=[],
        source_identity=None,
        tags=[],
        transitive_tag_keys=[],
        chained=False,
        external_id_given=False,
    )
    org.role_sessions += 1
    org.touch(session)


def offboard(org: Organisation) -> None:
    """Remove everything from a user, then delete it (as an administrator would, one command at a time)."""
    user = org.users.pop(org.rng.randrange(len(org.users)))
    for group_id in list(user.groups):
        group = org.groups_by_id[group_id]
        user.leave_group(group_id)
        group.remove_member(user.id)
        org.touch(group)
    for arn in list(user.attached_policies):
        user.detach_policy(arn)
        policy = org.policies_by_arn.get(arn)
        if policy is not None:
            policy.record_detachment(user.id)
            org.touch(policy)
    for name in list(user.inline_policies):
        user.delete_inline_policy(name)
    for key in list(user.access_keys):
        user.delete_access_key(key)
    user.delete()
    index = org.indexes.pop(("user", user.user_name.casefold()))
    index.release()
    org.touch(user, index)
    org.users_deleted += 1
