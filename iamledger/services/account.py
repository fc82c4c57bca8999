"""Account-wide IAM operations: the account alias (Create/Delete/ListAccountAliases), GetAccountSummary and
GetAccountAuthorizationDetails."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Final

from eventsourcing.application import AggregateNotFoundError
from sqlalchemy import Connection

from iamledger.domain.errors import TranslatedError
from iamledger.domain.permissions import MAX_ATTACHED_POLICIES
from iamledger.domain.policy.limits import (
    GROUP_INLINE_CHARS,
    MANAGED_POLICY_CHARS,
    ROLE_INLINE_CHARS,
    TRUST_POLICY_CHARS,
    USER_INLINE_CHARS,
)
from iamledger.projections.views.accounts import account_alias, account_create_date, entity_counts
from iamledger.projections.views.catalogue import StoreCatalogue
from iamledger.projections.views.credential_material import root_has_signing_certificate
from iamledger.projections.views.users import user_creation_dates
from iamledger.services.authorization_details import authorization_details
from iamledger.services.base import ServiceBase
from iamledger.services.credential_report import render, root_line, user_line
from iamledger.services.operations import command, query
from iamledger.services.paging import page
from iamledger.services.sts_preferences import summary_token_version

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account
    from iamledger.domain.user_keys import UserKeyring
    from iamledger.domain.users import User


def quotas() -> dict[str, int]:
    """AWS's default quotas (reference section 6.3), as GetAccountSummary reports them."""
    from iamledger.domain.policies import MAX_VERSIONS
    from iamledger.domain.users import MAX_GROUPS_PER_USER

    return {
        "UsersQuota": 5000,
        "GroupsQuota": 300,
        "RolesQuota": 1000,
        "PoliciesQuota": 1500,
        "InstanceProfilesQuota": 1000,
        "ServerCertificatesQuota": 20,
        "GroupsPerUserQuota": MAX_GROUPS_PER_USER,
        "AttachedPoliciesPerUserQuota": MAX_ATTACHED_POLICIES,
        "AttachedPoliciesPerGroupQuota": MAX_ATTACHED_POLICIES,
        "AttachedPoliciesPerRoleQuota": MAX_ATTACHED_POLICIES,
        "PolicyVersionsInUseQuota": 10000,
        "VersionsPerPolicyQuota": MAX_VERSIONS,
        "AccessKeysPerUserQuota": 2,
        "SigningCertificatesPerUserQuota": 2,
        "UserPolicySizeQuota": USER_INLINE_CHARS,
        "GroupPolicySizeQuota": GROUP_INLINE_CHARS,
        "RolePolicySizeQuota": ROLE_INLINE_CHARS,
        "PolicySizeQuota": MANAGED_POLICY_CHARS,
        "AssumeRolePolicySizeQuota": TRUST_POLICY_CHARS,
    }


# What the store has no notion of yet: root MFA devices, identity providers, root passwords.
ABSENT: Final = {
    "AccountMFAEnabled": 0,
    "AccountPasswordPresent": 0,
    "Providers": 0,
}


class AccountService(ServiceBase):
    """The account-wide operations of the store."""

    def _account(self, account_id: str) -> Account:
        return self._get_account(account_id)

    # -- alias -----------------------------------------------------------------------------------------------

    @command("CreateAccountAlias")
    def create_account_alias(self, account_id: str, *, AccountAlias: str) -> dict[str, Any]:
        """Give the account an alias, unique across the whole store (AWS's are global); a new alias replaces the
        account's old one. ``EntityAlreadyExists`` when any account, this one included, has it."""
        from iamledger.domain.accounts import ALIAS_KIND, ALIAS_SCOPE, alias_taken

        account = self._account(account_id)
        index = self._claim_name(ALIAS_SCOPE, ALIAS_KIND, AccountAlias, account.id, alias_taken(AccountAlias))
        previous = account.create_alias(AccountAlias)
        released = self._name_index(ALIAS_SCOPE, ALIAS_KIND, previous) if previous else None
        if released is not None:
            released.release()
        self._save(account, index, released)
        return {}

    @command("DeleteAccountAlias")
    def delete_account_alias(self, account_id: str, *, AccountAlias: str) -> dict[str, Any]:
        """Remove the account's alias; ``NoSuchEntity`` unless it is the account's current alias."""
        from iamledger.domain.accounts import ALIAS_KIND, ALIAS_SCOPE

        account = self._account(account_id)
        account.delete_alias(AccountAlias)
        index = self._name_index(ALIAS_SCOPE, ALIAS_KIND, AccountAlias)
        if index is not None:
            index.release()
        self._save(account, index)
        return {}

    @query("ListAccountAliases")
    def list_account_aliases(
        self, conn: Connection, account_id: str, *, Marker: str | None = None, MaxItems: int | None = None
    ) -> dict[str, Any]:
        """The account's alias, as a list of at most one."""
        alias = account_alias(conn, account_id)
        chunk, more = page([] if alias is None else [alias], Marker, MaxItems)
        return {"AccountAliases": chunk, **more}

    # -- reports ---------------------------------------------------------------------------------------------

    @query("GetAccountSummary")
    def get_account_summary(self, conn: Connection, account_id: str) -> dict[str, Any]:
        """``SummaryMap``: the account's entity counts and AWS's quotas. ``PolicyVersionsInUse`` counts the
        attachments of managed policies to users, groups and roles."""
        found = entity_counts(conn, account_id)
        counts = {
            "Users": found["users"],
            "Groups": found["groups"],
            "Roles": found["roles"],
            "Policies": found["policies"],
            "InstanceProfiles": found["instance_profiles"],
            "PolicyVersionsInUse": found["attachments"],
            "AccountAccessKeysPresent": int(bool(self._account(account_id).root_access_keys)),
            "MFADevices": found["mfa_devices"],
            "MFADevicesInUse": found["mfa_devices_in_use"],
            "ServerCertificates": found["server_certificates"],
            "AccountSigningCertificatesPresent": int(root_has_signing_certificate(conn, account_id)),
            "GlobalEndpointTokenVersion": summary_token_version(self._account(account_id)),
        }
        return {"SummaryMap": counts | quotas() | ABSENT}

    @command("GenerateCredentialReport")
    def generate_credential_report(self, account_id: str) -> dict[str, Any]:
        """Start a credential report: ``STARTED`` when none younger than four hours exists, else ``COMPLETE``."""
        account = self._account(account_id)
        if account.generate_credential_report(self.clock()):
            self._save(account)
            return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}
        return {"State": "COMPLETE"}

    @query("GetCredentialReport")
    def get_credential_report(self, conn: Connection, account_id: str) -> dict[str, Any]:
        """The credential report as CSV bytes (``ReportFormat`` ``text/csv``); ``ReportNotPresent`` before any
        ``GenerateCredentialReport``, ``ReportExpired`` four hours after it."""
        from iamledger.domain.accounts import CREDENTIAL_REPORT_TTL
        from iamledger.domain.user_keys import UserKeyring

        account = self._account(account_id)
        generated = account.credential_report_time
        if generated is None:
            raise TranslatedError(
                "ReportNotPresent",
                "Credential report not present. Use GenerateCredentialReport to generate a report.",
                410,
                sender_fault=True,
            )
        if self.clock() - generated >= CREDENTIAL_REPORT_TTL:
            raise TranslatedError(
                "ReportExpired",
                "Credential report expired. Use GenerateCredentialReport to generate a new report.",
                410,
                sender_fault=True,
            )
        created = account_create_date(conn, account_id)
        lines = [root_line(account, created or generated)]
        for entity_uuid, user_created in user_creation_dates(conn, account_id):
            user: User = self.repository.get(uuid.UUID(entity_uuid))
            try:
                keyring: UserKeyring | None = self.repository.get(UserKeyring.create_id(user.id))
            except AggregateNotFoundError:
                keyring = None
            lines.append(user_line(user, user_created, account.password_policy, keyring))
        return {"Content": render(lines), "ReportFormat": "text/csv", "GeneratedTime": generated}

    @query("GetAccountAuthorizationDetails")
    def get_account_authorization_details(
        self,
        conn: Connection,
        account_id: str,
        *,
        Filter: list[str] | None = None,
        MaxItems: int | None = None,
        Marker: str | None = None,
    ) -> dict[str, Any]:
        """Every user, group, role and managed policy (AWS managed ones only when in use) with their policies,
        selected by ``Filter`` (``User``, ``Role``, ``Group``, ``LocalManagedPolicy``, ``AWSManagedPolicy``),
        a page at a time."""
        items = authorization_details(conn, account_id, list(Filter or []), StoreCatalogue(conn))
        chunk, more = page(items, Marker, MaxItems)
        result: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
        for key, item in chunk:
            result[key].append(item)
        return result | more
