"""What every command shares: the global options, the open store, the bound audit context, the output."""

from __future__ import annotations

import platform
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import click

from iamledger import __version__
from iamledger.cli.output import OutputFormat, render
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.ids import root_arn
from iamledger.logconfig import get_logger
from iamledger.store import IdentityStore

LOCAL_SOURCE_IP: Final = "127.0.0.1"
USER_AGENT: Final = f"iamledger-cli/{__version__} Python/{platform.python_version()}"

log = get_logger(__name__)


@dataclass
class CliState:
    """The root command's options, handed to every subcommand through click's context object."""

    db: str | None
    output: OutputFormat
    account_id: str | None


def state() -> CliState:
    """The current invocation's :class:`CliState`."""
    obj = click.get_current_context().find_object(CliState)
    if obj is None:  # pragma: no cover - every command runs under the root group
        msg = "iamledger commands run under the `iamledger` group"
        raise RuntimeError(msg)
    return obj


def local_context(account_id: str) -> AuditContext:
    """A local CLI call acts as the account's root user, from this machine, under a fresh request id."""
    return AuditContext(
        actor=root_arn(account_id),
        request_id=AuditContext.new_request_id(),
        source_ip=LOCAL_SOURCE_IP,
        user_agent=USER_AGENT,
    )


@contextmanager
def open_store(*, create: bool = False) -> Iterator[IdentityStore]:
    """The store the invocation names (``--db``, ``$IAMLEDGER_DB`` or the default), closed afterwards."""
    store = IdentityStore.open(state().db, create=create)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def acting_in_account(account_id: str | None = None) -> Iterator[tuple[IdentityStore, str]]:
    """Open the store, resolve the account (``account_id``, else ``--account-id``, else the store's first) and bind
    the audit context of this call for the block."""
    with open_store() as store:
        resolved = store.resolve_account_id(account_id or state().account_id)
        with bound_audit_context(local_context(resolved)):
            yield store, resolved


def emit(data: Any) -> None:
    """Print a result in the invocation's ``--output`` format."""
    click.echo(render(data, state().output), nl=False)
