"""Accounts: the AWS accounts a store holds, and the registry that knows them all.

One store holds several accounts (cross-account role assumption needs that). Each :class:`Account` has a 12-digit
id, an optional alias and its root user's access keys (ids and fingerprints only: the secrets live in the
credential vault). The :class:`AccountRegistry` is a single aggregate that lists the accounts in creation order; it is
saved in the same transaction as each new account, so two concurrent creations of the same id, or two concurrent
``init`` calls, cannot both succeed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from iamledger.domain.base import AuditedAggregate
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


def alias_taken(alias: str) -> str:
    """AWS's message for an alias some account (maybe this one) already has."""
    return f"The account alias {alias} already exists."


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
