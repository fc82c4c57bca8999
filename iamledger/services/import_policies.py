"""The managed policies of an import: customer managed policies created or given the dump's versions, and the AWS
managed policies the dump uses that the store does not know in that version."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from iamledger.projections.views.catalogue import AWS_ACCOUNT, StoreCatalogue
from iamledger.services.dump import DumpPolicy
from iamledger.services.import_account import AccountImport
from iamledger.services.import_permissions import same_document
from iamledger.services.import_removals import delete_replaced_policy

if TYPE_CHECKING:
    from iamledger.domain.policies import ManagedPolicy


def import_policy(account: AccountImport, wanted: DumpPolicy) -> None:
    from iamledger.domain.policies import ManagedPolicy

    existing = account.ws.holder(account.account_id, ManagedPolicy.kind, wanted.name)
    if existing is not None and existing.policy_id != wanted.policy_id:
        delete_replaced_policy(account, existing)
        existing = None
    if existing is None:
        create_policy(account, account.account_id, wanted, wanted.versions)
        account.changes.add("PoliciesCreated")
        return
    _update_versions(account, existing, wanted)


def create_policy(account: AccountImport, account_id: str, wanted: DumpPolicy, versions: list[Any]) -> ManagedPolicy:
    from iamledger.domain.policies import ManagedPolicy

    first, *rest = versions
    entity_id = uuid.uuid4()
    account.ws.claim(account_id, ManagedPolicy.kind, wanted.name, entity_id)
    policy = ManagedPolicy.create_with_id(
        entity_id,
        account_id=account_id,
        policy_id=wanted.policy_id,
        policy_name=wanted.name,
        path=wanted.path,
        description=wanted.description,
        document=first.document,
        tags=[],
        first_version_id=first.version_id,
        create_date=wanted.create_date,
        update_date=wanted.update_date if first.version_id == wanted.default_version_id else None,
        version_create_date=first.create_date,
    )
    for version in rest:
        default = version.version_id == wanted.default_version_id
        policy.trigger_event(
            policy.VersionCreated,
            version_id=version.version_id,
            document=version.document,
            set_as_default=default,
            create_date=version.create_date,
            update_date=wanted.update_date if default else None,
        )
    account.ws.touch(policy)
    return policy


def _update_versions(account: AccountImport, policy: ManagedPolicy, wanted: DumpPolicy) -> None:
    wanted_ids = {v.version_id for v in wanted.versions}
    if wanted.default_version_id in policy.versions and policy.default_version_id != wanted.default_version_id:
        policy.trigger_event(
            policy.DefaultVersionSet, version_id=wanted.default_version_id, update_date=wanted.update_date
        )
        account.changes.add("DefaultVersionsSet")
    for version_id in [v for v in policy.versions if v not in wanted_ids]:
        if version_id == policy.default_version_id:
            continue  # replaced below, once the new default exists
        policy.trigger_event(policy.VersionDeleted, version_id=version_id)
        account.changes.add("PolicyVersionsDeleted")
    for version in wanted.versions:
        stored = policy.versions.get(version.version_id)
        if stored is not None and same_document(stored.document, version.document):
            continue
        if stored is not None:  # same id, another document: the dump is of a different history
            if version.version_id == policy.default_version_id:
                continue
            policy.trigger_event(policy.VersionDeleted, version_id=version.version_id)
        default = version.version_id == wanted.default_version_id
        policy.trigger_event(
            policy.VersionCreated,
            version_id=version.version_id,
            document=version.document,
            set_as_default=default and policy.default_version_id != version.version_id,
            create_date=version.create_date,
            update_date=wanted.update_date if default else None,
        )
        account.changes.add("PolicyVersionsCreated")
    if policy.default_version_id not in wanted_ids:
        old = policy.default_version_id
        policy.trigger_event(
            policy.DefaultVersionSet, version_id=wanted.default_version_id, update_date=wanted.update_date
        )
        policy.trigger_event(policy.VersionDeleted, version_id=old)
        account.changes.add("PolicyVersionsDeleted")
    if policy.pending_events:
        account.ws.touch(policy)


def import_aws_policy(account: AccountImport, wanted: DumpPolicy, catalogue: StoreCatalogue) -> None:
    """An AWS managed policy of the dump: recorded (default version only) when the store does not know it in
    that version with that document."""
    from iamledger.domain.policies import ManagedPolicy

    known = catalogue.get(wanted.arn)
    if (
        known is not None
        and known["DefaultVersionId"] == wanted.default_version_id
        and same_document(str(known["Document"]), wanted.default_document)
    ):
        return
    default = next(v for v in wanted.versions if v.version_id == wanted.default_version_id)
    stored = account.ws.holder(AWS_ACCOUNT, ManagedPolicy.kind, wanted.name)
    if stored is None:
        create_policy(account, AWS_ACCOUNT, wanted, [default])
        account.changes.add("AWSManagedPoliciesRecorded")
        return
    if wanted.default_version_id not in stored.versions:
        if len(stored.versions) >= 5:  # noqa: PLR2004 - keep at most AWS's five versions
            oldest = next(v for v in stored.versions if v != stored.default_version_id)
            stored.trigger_event(stored.VersionDeleted, version_id=oldest)
        stored.trigger_event(
            stored.VersionCreated,
            version_id=default.version_id,
            document=default.document,
            set_as_default=True,
            create_date=default.create_date,
            update_date=wanted.update_date,
        )
    elif stored.default_version_id != wanted.default_version_id:
        stored.trigger_event(
            stored.DefaultVersionSet, version_id=wanted.default_version_id, update_date=wanted.update_date
        )
    account.ws.touch(stored)
    account.changes.add("AWSManagedPoliciesUpdated")
