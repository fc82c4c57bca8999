"""``iamledger sts ...``: the AWS Security Token Service operations."""

from __future__ import annotations

import click

from iamledger.cli.group import Group
from iamledger.cli.session import acting_in_account, emit


@click.group("sts", cls=Group)
def sts_group() -> None:
    """AWS STS operations (temporary credentials, caller identity)."""


@sts_group.command("get-caller-identity")
def get_caller_identity() -> None:
    """Who this call acts as: its user id, account and ARN."""
    with acting_in_account() as (store, account_id):
        emit(store.get_caller_identity(account_id))
