"""The store's accounts (the registry of its account ids, each account with its root access key) and the master key
of its credential vault, which ``init`` sets with the first account: the mixin :class:`~iamledger.store.IdentityStore`
inherits them from, over its kernel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from iamledger.domain.audit import audit_context
from iamledger.domain.errors import (
    ConcurrentModificationError,
    ConfigurationError,
    EntityAlreadyExistsError,
    NoSuchEntityError,
    StoreAlreadyInitializedError,
    StoreNotInitializedError,
)
from iamledger.domain.ids import (
    check_account_id,
    new_access_key_id,
    new_account_id,
    new_secret_access_key,
    secret_fingerprint,
)
from iamledger.kernel import KEY_CHECK_META, StoreKernel
from iamledger.logconfig import get_logger
from iamledger.masterkey import key_check, load_or_create_master_key
from iamledger.projections.engine.temporal import read_position

if TYPE_CHECKING:
    from iamledger.domain.accounts import Account, AccountRegistry

log = get_logger("iamledger.store")  # the store's logger, as before these methods moved here

REGISTRY_RETRIES: Final = 10


class StoreAccounts(StoreKernel):
    """The accounts of :class:`~iamledger.store.IdentityStore` and its vault's master key."""

    # -- the security log ----------------------------------------------------------------------------------------

    def record_security_incident(self, kind: str, **details: Any) -> None:
        """Append a refused attempt (``AccessDenied``, ``SignInFailed``, ``SignatureRejected``...) to the security
        log, with the audit context in force; never a secret."""
        ctx = audit_context.get()
        account_id = ctx.actor.split(":")[4] if ctx is not None and ctx.actor.startswith("arn:") else ""
        if ctx is None:
            account_id = details.pop("account_id", "") or ""
        else:
            account_id = details.pop("account_id", None) or account_id
        with self.acting(account_id or self.default_account_id()):
            self.security_log.record(kind, account_id, **details)
        log.info("security_incident", kind=kind, **{k: v for k, v in details.items() if k != "reason"})

    # -- saving ----------------------------------------------------------------------------------------------------

    def _save_all(self, *aggregates: Account | AccountRegistry, conflict: str) -> None:
        """Save ``aggregates`` in one transaction; a lost race becomes ``conflict`` as an AWS-style error."""
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise ConcurrentModificationError(conflict) from None

    # -- accounts --------------------------------------------------------------------------------------------------

    def _registry(self) -> AccountRegistry | None:
        from iamledger.domain.accounts import AccountRegistry

        try:
            registry: AccountRegistry = self.repository.get(AccountRegistry.create_id())
        except AggregateNotFoundError:
            return None
        return registry

    def is_initialized(self) -> bool:
        """Whether ``init`` has created this store's first account."""
        return self._registry() is not None

    def account_ids(self) -> list[str]:
        """The store's account ids, the default (first) one first."""
        registry = self._registry()
        ids = [] if registry is None else list(registry.account_ids)
        self._known_accounts = tuple(ids)
        return ids

    def has_account(self, account_id: str) -> bool:
        """Whether the store has the account ``account_id`` (read from the registry only for an id not seen yet)."""
        return account_id in self._known_accounts or account_id in self.account_ids()

    def default_account_id(self) -> str:
        """The store's first account, which commands act in unless told otherwise."""
        ids = self._known_accounts or tuple(self.account_ids())
        if not ids:
            raise StoreNotInitializedError(
                f"The store at {self.store_url.display()} has no account yet: run `iamledger init` first."
            )
        return ids[0]

    def resolve_account_id(self, account_id: str | None) -> str:
        """``account_id`` checked to exist in this store, or the default account when it is ``None``."""
        if account_id is None:
            return self.default_account_id()
        if not self.has_account(check_account_id(account_id)):
            raise NoSuchEntityError(f"The account {account_id} does not exist in this store.")
        return account_id

    def _get_account(self, account_id: str) -> Account:
        """The account's aggregate (as of the bound read position, in a read of the past); ``NoSuchEntity`` when it
        does not exist, or did not yet at that position."""
        from iamledger.domain.accounts import Account

        try:
            account: Account = self.repository.get(Account.create_id(account_id))
        except AggregateNotFoundError:
            if read_position() is not None:
                raise NoSuchEntityError(f"The account {account_id} did not exist yet.") from None
            raise NoSuchEntityError(f"The account {account_id} does not exist in this store.") from None
        return account

    def init(self, account_id: str | None = None) -> dict[str, Any]:
        """Initialise an empty store: its master key, its first account and that account's root access key.

        Refused with :class:`StoreAlreadyInitializedError` on a store that has an account; nothing is changed then.
        Returns ``{"Account": {...}, "AccessKey": {...}}``; the secret access key is shown here once and never again.
        """
        from iamledger.domain.accounts import AccountRegistry

        registry = self._registry()
        if registry is not None:
            raise StoreAlreadyInitializedError(
                f"The store at {self.store_url.display()} is already initialized "
                f"(first account {registry.account_ids[0]}); nothing was changed."
            )
        account_id = self._new_account_id(account_id)
        if self._master_key is None:
            self._master_key = load_or_create_master_key(self.store_url)
        if self.vault.set_meta(KEY_CHECK_META, key_check(self._master_key)) != key_check(self._master_key):
            raise ConfigurationError(
                "The master key does not match this store's credential vault: check $IAMLEDGER_MASTER_KEY."
            )
        with self.acting(account_id):
            registry = AccountRegistry()
            return self._create_account(registry, account_id, conflict="The store was initialized concurrently.")

    def create_account(self, account_id: str | None = None) -> dict[str, Any]:
        """Add an account (a random 12-digit id unless given) with its own root access key.

        Accounts created concurrently by other processes are not lost: a save that loses the race on the account
        registry is retried on the registry's new version.
        """
        account_id = self._new_account_id(account_id)
        for attempt in range(1, REGISTRY_RETRIES + 1):
            registry = self._registry()
            if registry is None:
                raise StoreNotInitializedError(
                    f"The store at {self.store_url.display()} has no account yet: run `iamledger init` first."
                )
            if account_id in registry.account_ids:
                raise EntityAlreadyExistsError(f"Account {account_id} already exists.")
            try:
                with self.acting(account_id):
                    return self._create_account(
                        registry, account_id, conflict=f"Account {account_id} was created concurrently."
                    )
            except ConcurrentModificationError:
                if attempt == REGISTRY_RETRIES:
                    raise
        raise AssertionError  # pragma: no cover - the loop returns or raises

    def _new_account_id(self, account_id: str | None) -> str:
        return new_account_id() if account_id is None else check_account_id(account_id)

    def _create_account(self, registry: AccountRegistry, account_id: str, *, conflict: str) -> dict[str, Any]:
        from iamledger.domain.accounts import Account

        account = Account(account_id=account_id)
        registry.register(account_id)
        access_key_id = new_access_key_id()
        secret = new_secret_access_key()
        account.create_root_access_key(access_key_id, secret_fingerprint(secret))
        self.vault.put_secret(
            secret_id=access_key_id, account_id=account_id, kind="access_key", owner_arn=account.root_arn, secret=secret
        )
        try:
            self._save_all(registry, account, conflict=conflict)
        except BaseException:
            self.vault.delete_secret(access_key_id)
            raise
        log.info("account_created", account_id=account_id, root_access_key_id=access_key_id)
        key = account.root_access_keys[access_key_id]
        return {
            "Account": _account_shape(account),
            "AccessKey": {
                "UserName": "root",
                "AccessKeyId": access_key_id,
                "Status": key.status,
                "SecretAccessKey": secret,
                "CreateDate": key.create_date,
            },
        }

    def get_account(self, account_id: str | None = None) -> dict[str, Any]:
        """``{"Account": {...}}`` for ``account_id`` (default: the store's first account)."""
        return {"Account": _account_shape(self._get_account(self.resolve_account_id(account_id)))}

    def list_accounts(self) -> dict[str, Any]:
        """``{"Accounts": [...]}``: every account in the store, the default one first."""
        return {"Accounts": [_account_shape(self._get_account(a)) for a in self.account_ids()]}


def _account_shape(account: Account) -> dict[str, Any]:
    created: datetime = account.created_on
    shape: dict[str, Any] = {"AccountId": account.account_id, "Arn": account.root_arn, "CreateDate": created}
    if account.alias is not None:
        shape["AccountAlias"] = account.alias
    return shape
