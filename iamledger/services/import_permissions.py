"""What every principal of an import carries, brought to what the dump shows: inline policies, attached managed
policies (customer and AWS managed), permissions boundaries and tags."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from iamledger.domain.permissions import PermissionsHolder
from iamledger.projections.views.catalogue import AWS_ACCOUNT
from iamledger.services.dump import Principal, malformed
from iamledger.services.import_account import AccountImport

if TYPE_CHECKING:
    from iamledger.domain.policies import ManagedPolicy
    from iamledger.domain.roles import Role
    from iamledger.domain.users import User


def same_document(left: str, right: str) -> bool:
    """Whether two policy documents are the same JSON (whitespace and key order aside)."""
    try:
        return bool(json.loads(left) == json.loads(right))
    except ValueError:
        return left == right


def sync_boundary(account: AccountImport, entity: User | Role, wanted: Principal) -> None:
    if entity.permissions_boundary == wanted.boundary:
        return
    if wanted.boundary is None:
        entity.trigger_event(entity.PermissionsBoundaryDeleted)
    else:
        entity.trigger_event(entity.PermissionsBoundaryPut, policy_arn=wanted.boundary)
    account.changes.add("BoundariesChanged")


def sync_tags(account: AccountImport, entity: User | Role, wanted: Principal) -> None:
    current = dict(entity.tags)
    desired = dict(wanted.tags)
    removed = [k for k in current if k not in desired]
    if removed:
        entity.trigger_event(entity.Untagged, tag_keys=removed)
        account.changes.add("TagsRemoved", len(removed))
    changed = [(k, v) for k, v in wanted.tags if current.get(k) != v]
    if changed:
        entity.trigger_event(entity.Tagged, tags=[{"Key": k, "Value": v} for k, v in changed])
        account.changes.add("TagsSet", len(changed))


def sync_permissions(account: AccountImport, entity: PermissionsHolder, wanted: Principal) -> None:
    for name in [n for n in entity.inline_policies if n not in wanted.inline]:
        entity.trigger_event(entity.InlinePolicyDeleted, policy_name=name)
        account.changes.add("InlinePoliciesDeleted")
    for name, document in wanted.inline.items():
        stored = entity.inline_policies.get(name)
        if stored is None or not same_document(stored, document):
            entity.trigger_event(entity.InlinePolicyPut, policy_name=name, policy_document=document)
            account.changes.add("InlinePoliciesPut")
    for arn in [a for a in entity.attached_policies if a not in wanted.attached]:
        detach(account, entity, arn)
        account.changes.add("PoliciesDetached")
    for arn in wanted.attached:
        if arn not in entity.attached_policies:
            _attach(account, entity, arn)
            account.changes.add("PoliciesAttached")


def _policy_entity(account: AccountImport, arn: str) -> ManagedPolicy | None:
    from iamledger.domain.policies import ManagedPolicy

    parts = arn.split(":", 5)
    owner, name = parts[4], arn.rsplit("/", 1)[1]
    if owner == AWS_ACCOUNT:
        return None
    policy: ManagedPolicy | None = account.ws.holder(owner, ManagedPolicy.kind, name)
    return policy


def _attach(account: AccountImport, entity: PermissionsHolder, arn: str) -> None:
    from iamledger.domain.policies import ManagedPolicy

    policy = _policy_entity(account, arn)
    if arn.split(":")[4] == AWS_ACCOUNT:
        if (
            account.catalogue.get(arn) is None
            and account.ws.holder(AWS_ACCOUNT, ManagedPolicy.kind, arn.rsplit("/", 1)[1]) is None
        ):
            raise malformed(
                f"$ ({entity.kind} {entity.display_name})",
                f"the AWS managed policy {arn} is attached, but neither the file nor the catalogue has it",
            )
    elif policy is None or policy.arn != arn:
        raise malformed(
            f"$ ({entity.kind} {entity.display_name})",
            f"the policy {arn} is attached, but neither the file nor the store has it",
        )
    entity.trigger_event(entity.PolicyAttached, policy_arn=arn)
    if policy is not None:
        policy.record_attachment(entity.id, entity.kind)
        account.ws.touch(policy)


def detach(account: AccountImport, entity: PermissionsHolder, arn: str) -> None:
    entity.trigger_event(entity.PolicyDetached, policy_arn=arn)
    policy = _policy_entity(account, arn)
    if policy is not None:
        policy.record_detachment(entity.id)
        account.ws.touch(policy)
    account.ws.touch(entity)
