"""``iamledger init``: create the store, its master key, its first account and that account's root key."""

from __future__ import annotations

import click

from iamledger.cli.session import emit, local_context, open_store
from iamledger.context import bound_audit_context
from iamledger.domain.ids import check_account_id, new_account_id


@click.command("init")
@click.option("--account-id", help="The 12-digit id of the first account (random when omitted).")
def init_command(account_id: str | None) -> None:
    """Create the store (if needed), its first account and that account's root access key.

    The root secret access key is printed once, as JSON, and stored only encrypted in the credential vault.
    Refused on a store that is already initialized; nothing is changed then.
    """
    account_id = check_account_id(account_id) if account_id is not None else new_account_id()
    with open_store(create=True) as store, bound_audit_context(local_context(account_id)):
        result = store.init(account_id)
    emit({"AccessKey": result["AccessKey"], "Account": result["Account"]}, title="Init")
