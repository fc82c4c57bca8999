"""``iamledger account ...``: the accounts one store holds."""

from __future__ import annotations

import click

from iamledger.cli.group import Group
from iamledger.cli.session import acting_in_account, emit, local_context, open_store
from iamledger.context import bound_audit_context
from iamledger.domain.ids import new_account_id


@click.group("account", cls=Group)
def account_group() -> None:
    """Accounts held by this store (one store can hold several, for cross-account access)."""


@account_group.command("create")
@click.option("--account-id", help="The 12-digit id of the new account (random when omitted).")
def create_account(account_id: str | None) -> None:
    """Add an account with its own root access key, printed once."""
    with open_store() as store:
        account_id = account_id or new_account_id()
        with bound_audit_context(local_context(account_id)):
            result = store.create_account(account_id)
    emit({"AccessKey": result["AccessKey"], "Account": result["Account"]}, title="CreateAccount")


@account_group.command("list")
def list_accounts() -> None:
    """List the store's accounts, the default (first) one first."""
    with acting_in_account() as (store, _):
        emit(store.list_accounts(), title="ListAccounts")


@account_group.command("get")
@click.option("--account-id", help="The account to show (default: the store's first account).")
def get_account(account_id: str | None) -> None:
    """Show one account."""
    with acting_in_account(account_id) as (store, resolved):
        emit(store.get_account(resolved), title="GetAccount")
