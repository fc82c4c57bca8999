"""Accounts: the AWS accounts a store holds, and the registry that knows them all.

One store holds several accounts (cross-account role assumption needs that). Each :class:`Account` has a 12-digit
id, an optional alias and its root user's access keys (ids and fingerprints only: the secrets live in the
credential vault). The :class:`AccountRegistry` is a single aggregate that lists the accounts in creation order; it is
saved in the same transaction as each new account, so two concurrent creations of the same id, or two concurrent
``init`` calls, cannot both succeed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from iamledger.domain.base import AuditedAggregate, shared_when_copied
from iamledger.domain.credentials import KeyUse, PasswordPolicy, check_access_key_status, use_worth_recording
from iamledger.domain.errors import (
    EntityAlreadyExistsError,
    InvalidInputError,
    LimitExceededError,
    NoSuchEntityError,
)
from iamledger.domain.ids import check_account_id, is_account_id, root_arn

NAMESPACE: Final = uuid.UUID("5b0f1a2e-4c1d-5e6f-8a9b-0c1d2e3f4a5b")
ROOT_ACCESS_KEY_QUOTA: Final = 2
ALIAS_SCOPE: Final = "global"
"""The pseudo-account under which alias name indexes live: AWS account aliases are unique across all accounts."""
ALIAS_KIND: Final = "account-alias"
CREDENTIAL_REPORT_TTL: Final = timedelta(hours=4)
"""How long AWS keeps a credential report: a newer one is generated only after that."""


def alias_taken(alias: str) -> str:
    """AWS's message for an alias some account (maybe this one) already has."""
    return f"The account alias {alias} already exists."


def password_policy_not_found(account_id: str) -> str:
    """AWS's message when an account has no custom password policy (``GetAccountPasswordPolicy``)."""
    return f"The Password Policy with domain name {account_id} cannot be found."


# DeleteAccountPasswordPolicy words it otherwise (AWS's code examples for DeleteAccountPasswordPolicy quote it).
NO_POLICY_TO_DELETE = "The account policy with name PasswordPolicy cannot be found."


@shared_when_copied
@dataclass(frozen=True, slots=True)
class RootAccessKey:
    """A root access key as the domain knows it: never its secret."""

    access_key_id: str
    secret_fingerprint: str
    status: str
    create_date: datetime


class Account(AuditedAggregate):
    """An AWS account in the store."""

    @staticmethod
    def create_id(account_id: str) -> uuid.UUID:
        """Account aggregates have deterministic ids, so an account id can exist only once in a store."""
        return uuid.uuid5(NAMESPACE, f"account:{account_id}")

    class Created(AuditedAggregate.Created):
        account_id: str

    def __init__(self, account_id: str) -> None:
        self.account_id = check_account_id(account_id)
        self.alias: str | None = None
        self.root_access_keys: dict[str, RootAccessKey] = {}
        self.root_access_key_uses: dict[str, KeyUse] = {}
        self.password_policy: PasswordPolicy | None = None
        self.credential_report_time: datetime | None = None
        self.global_endpoint_token_version = "v1Token"  # noqa: S105 - a token format's name, not a secret

    @property
    def root_arn(self) -> str:
        """The ARN of this account's root user."""
        return root_arn(self.account_id)

    class RootAccessKeyCreated(AuditedAggregate.Event):
        key_id: str  # not `access_key_id`: that audit field names the key the actor signed with
        secret_fingerprint: str

        def apply(self, aggregate: Account) -> None:
            aggregate.root_access_keys[self.key_id] = RootAccessKey(
                access_key_id=self.key_id,
                secret_fingerprint=self.secret_fingerprint,
                status="Active",
                create_date=self.timestamp,
            )

    def create_root_access_key(self, access_key_id: str, secret_fingerprint: str) -> None:
        """Record a new root access key; AWS allows at most two."""
        if len(self.root_access_keys) >= ROOT_ACCESS_KEY_QUOTA:
            msg = f"Cannot exceed quota for AccessKeysPerUser: {ROOT_ACCESS_KEY_QUOTA}"
            raise LimitExceededError(msg)
        self.trigger_event(self.RootAccessKeyCreated, key_id=access_key_id, secret_fingerprint=secret_fingerprint)

    def root_access_key(self, access_key_id: str) -> RootAccessKey:
        """One of the root user's keys; ``NoSuchEntity`` in AWS's words otherwise."""
        key = self.root_access_keys.get(access_key_id)
        if key is None:
            raise NoSuchEntityError(f"The Access Key with id {access_key_id} cannot be found.")
        return key

    class RootAccessKeyUpdated(AuditedAggregate.Event):
        key_id: str
        status: str

        def apply(self, aggregate: Account) -> None:
            key = aggregate.root_access_keys[self.key_id]
            aggregate.root_access_keys[self.key_id] = replace(key, status=self.status)

    def update_root_access_key(self, access_key_id: str, status: str) -> None:
        """Activate or deactivate a root key (a no-op when it already has ``status``)."""
        key = self.root_access_key(access_key_id)
        if key.status != check_access_key_status(status):
            self.trigger_event(self.RootAccessKeyUpdated, key_id=access_key_id, status=status)

    class RootAccessKeyDeleted(AuditedAggregate.Event):
        key_id: str

        def apply(self, aggregate: Account) -> None:
            aggregate.root_access_keys.pop(self.key_id, None)
            aggregate.root_access_key_uses.pop(self.key_id, None)

    def delete_root_access_key(self, access_key_id: str) -> None:
        """Forget a root key for good."""
        self.root_access_key(access_key_id)
        self.trigger_event(self.RootAccessKeyDeleted, key_id=access_key_id)

    class RootAccessKeyUsed(AuditedAggregate.Event):
        key_id: str
        service_name: str
        region: str

        def apply(self, aggregate: Account) -> None:
            use = KeyUse(date=self.timestamp, service_name=self.service_name, region=self.region)
            aggregate.root_access_key_uses[self.key_id] = use

    def record_root_access_key_use(self, access_key_id: str, service_name: str, region: str, now: datetime) -> bool:
        """Note a use of a root key (at most once an hour unless its service or region changed); returns whether
        an event was triggered."""
        self.root_access_key(access_key_id)
        if not use_worth_recording(self.root_access_key_uses.get(access_key_id), service_name, region, now):
            return False
        self.trigger_event(self.RootAccessKeyUsed, key_id=access_key_id, service_name=service_name, region=region)
        return True

    class PasswordPolicyUpdated(AuditedAggregate.Event):
        minimum_password_length: int
        require_symbols: bool
        require_numbers: bool
        require_uppercase_characters: bool
        require_lowercase_characters: bool
        allow_users_to_change_password: bool
        max_password_age: int
        password_reuse_prevention: int
        hard_expiry: bool

        def apply(self, aggregate: Account) -> None:
            aggregate.password_policy = PasswordPolicy(
                minimum_password_length=self.minimum_password_length,
                require_symbols=self.require_symbols,
                require_numbers=self.require_numbers,
                require_uppercase_characters=self.require_uppercase_characters,
                require_lowercase_characters=self.require_lowercase_characters,
                allow_users_to_change_password=self.allow_users_to_change_password,
                max_password_age=self.max_password_age,
                password_reuse_prevention=self.password_reuse_prevention,
                hard_expiry=self.hard_expiry,
            )

    def update_password_policy(self, policy: PasswordPolicy) -> None:
        """Set the account password policy as a whole (AWS's update is not partial)."""
        self.trigger_event(self.PasswordPolicyUpdated, **policy.as_payload())

    class PasswordPolicyDeleted(AuditedAggregate.Event):
        def apply(self, aggregate: Account) -> None:
            aggregate.password_policy = None

    def delete_password_policy(self) -> None:
        """Remove the account password policy (AWS's default rules apply again)."""
        if self.password_policy is None:
            raise NoSuchEntityError(NO_POLICY_TO_DELETE)
        self.trigger_event(self.PasswordPolicyDeleted)

    class CredentialReportGenerated(AuditedAggregate.Event):
        """``GenerateCredentialReport`` started a report (done at once here) at ``generated_at``."""

        generated_at: datetime

        def apply(self, aggregate: Account) -> None:
            aggregate.credential_report_time = self.generated_at

    def generate_credential_report(self, now: datetime) -> bool:
        """Start a new credential report unless one younger than four hours exists (AWS then keeps it); whether a
        new one was started."""
        if self.credential_report_time is not None and now - self.credential_report_time < CREDENTIAL_REPORT_TTL:
            return False
        self.trigger_event(self.CredentialReportGenerated, generated_at=now)
        return True

    class SecurityTokenServicePreferencesSet(AuditedAggregate.Event):
        """``SetSecurityTokenServicePreferences``: the version of the session tokens STS's global endpoint issues
        (``v1Token``, valid in the Regions enabled by default; ``v2Token``, valid in every Region)."""

        global_endpoint_token_version: str

        def apply(self, aggregate: Account) -> None:
            aggregate.global_endpoint_token_version = self.global_endpoint_token_version

    def set_security_token_service_preferences(self, global_endpoint_token_version: str) -> bool:
        """Set the global endpoint's token version (``v1Token`` or ``v2Token``: the model's enum, checked before);
        whether it changed (nothing is recorded when it already has that version)."""
        if global_endpoint_token_version == self.global_endpoint_token_version:
            return False
        self.trigger_event(
            self.SecurityTokenServicePreferencesSet, global_endpoint_token_version=global_endpoint_token_version
        )
        return True

    class AliasCreated(AuditedAggregate.Event):
        account_id: str
        alias: str

        def apply(self, aggregate: Account) -> None:
            aggregate.alias = self.alias

    def create_alias(self, alias: str) -> str | None:
        """Give the account ``alias``. An account has at most one alias: a new one replaces the old, as AWS does.
        Returns the replaced alias, whose global name index the caller releases."""
        if is_account_id(alias):
            raise InvalidInputError(f"The account alias {alias} cannot be a 12-digit number.")
        if alias == self.alias:
            raise EntityAlreadyExistsError(alias_taken(alias))
        previous = self.alias
        self.trigger_event(self.AliasCreated, account_id=self.account_id, alias=alias)
        return previous

    class AliasDeleted(AuditedAggregate.Event):
        account_id: str
        alias: str

        def apply(self, aggregate: Account) -> None:
            aggregate.alias = None

    def delete_alias(self, alias: str) -> None:
        """Remove the account's alias, named as a guard against deleting a newer one."""
        if alias != self.alias:
            raise NoSuchEntityError(f"The account alias {alias} cannot be found.")
        self.trigger_event(self.AliasDeleted, account_id=self.account_id, alias=alias)


class AccountRegistry(AuditedAggregate):
    """The store's accounts, in the order they were created; the first is the default account."""

    @staticmethod
    def create_id() -> uuid.UUID:
        """There is one registry per store."""
        return uuid.uuid5(NAMESPACE, "account-registry")

    def __init__(self) -> None:
        self.account_ids: list[str] = []

    class AccountRegistered(AuditedAggregate.Event):
        account_id: str

        def apply(self, aggregate: AccountRegistry) -> None:
            aggregate.account_ids.append(self.account_id)

    def register(self, account_id: str) -> None:
        """Add an account to the registry."""
        if account_id in self.account_ids:
            msg = f"Account {account_id} already exists."
            raise EntityAlreadyExistsError(msg)
        self.trigger_event(self.AccountRegistered, account_id=account_id)
