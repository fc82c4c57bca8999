"""What every command shares: the global options, the open store, the bound audit context, the output."""

from __future__ import annotations

import configparser
import gc
import json
import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click
import jmespath
import jmespath.parser

from iamledger import __version__
from iamledger.cli.group import PATH_KEY
from iamledger.cli.output import OutputFormat, plain, render
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.ids import root_arn
from iamledger.logconfig import get_logger

if TYPE_CHECKING:  # imported when a store is opened: `iamledger --help` and completion import no store
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
    as_arn: str | None = None
    profile: str | None = None
    query: jmespath.parser.ParsedResult | None = None
    read_db: str | None = None
    read_timeout: float | None = None


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
def start_up() -> Iterator[None]:
    """The block that imports and opens the store, the first time a process opens one, run without the cyclic
    garbage collector, and what exists after it frozen (``gc.freeze``): the modules, classes and models it makes
    (some 90,000 objects) live as long as the process, and each collection during the block, then the interpreter's
    last one at exit, would examine them all for nothing. That was a third of a read command's CPU time
    (docs/performance.md, "CLI start-up"). Later collections look only at what the command itself allocates."""
    if gc.get_freeze_count() or not gc.isenabled():  # done once a process (an in-process test runs many commands)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@contextmanager
def open_store(*, create: bool = False) -> Iterator[IdentityStore]:
    """The store the invocation names (``--db``, ``$IAMLEDGER_DB`` or the default), closed afterwards; its audit and
    as-of reads go to ``--read-db`` when given (:meth:`IdentityStore.reader`)."""
    options = state()
    with start_up():
        from iamledger.store import IdentityStore

        store = IdentityStore.open(
            options.db, create=create, read_url=options.read_db, read_timeout=options.read_timeout
        )
    try:
        yield store
    finally:
        store.close()


def read_profile(profile: str) -> tuple[str, str, str | None]:
    """``(access key id, secret, session token)`` of a profile of the aws CLI's credentials file
    (``$AWS_SHARED_CREDENTIALS_FILE``, default ``~/.aws/credentials``)."""
    path = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or "~/.aws/credentials").expanduser()
    parser = configparser.ConfigParser()
    parser.read(path, encoding="utf-8")
    if not parser.has_section(profile):
        raise click.UsageError(f"The config profile ({profile}) could not be found in {path}")
    section = parser[profile]
    key_id = section.get("aws_access_key_id")
    secret = section.get("aws_secret_access_key")
    if not key_id or not secret:
        raise click.UsageError(f"The profile ({profile}) has no aws_access_key_id / aws_secret_access_key")
    return key_id, secret, section.get("aws_session_token")


@contextmanager
def acting_in_account(account_id: str | None = None) -> Iterator[tuple[IdentityStore, str]]:
    """Open the store, resolve the caller and its account, and bind the audit context of this call for the block.

    By default a local call acts as the root user of ``account_id`` (else ``--account-id``, else the store's first
    account). ``--as ARN`` acts as that principal (its policies decide what it may do); ``--profile NAME`` acts as
    the owner of that profile's access key, once the key, its secret and its session token check out."""
    options = state()
    with open_store() as store:
        if options.profile is not None:
            key_id, secret, token = read_profile(options.profile)
            who = store.authenticate_access_key(key_id, secret, token)
            if not who.temporary:
                path = click.get_current_context().meta.get(PATH_KEY, [])
                service = path[0] if path and path[0] in {"iam", "sts"} else "iam"
                store.record_access_key_use(key_id, service, "us-east-1")
            context = replace(local_context(who.account_id), actor=who.owner_arn, access_key_id=key_id)
            resolved = who.account_id
        elif options.as_arn is not None:
            resolved = store.resolve_account_id(_account_of(options.as_arn))
            context = replace(local_context(resolved), actor=options.as_arn)
        else:
            resolved = store.resolve_account_id(account_id or options.account_id)
            context = local_context(resolved)
        with bound_audit_context(context):
            yield store, resolved


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] not in {"iam", "sts"}:  # noqa: PLR2004
        raise click.UsageError(f"--as takes an IAM or STS principal ARN, not {arn!r}")
    return parts[4]


def check_query_output() -> None:
    """A usage error (exit 2), before anything runs, for ``--query`` with ``--output csv``: a query's answer is a
    JSON value, which has no rows to print."""
    current = state()
    if current.query is not None and current.output == "csv":
        msg = "--query cannot be combined with --output csv (use json, jsonl, text or table)."
        raise click.UsageError(msg)


def emit(data: Any, title: str | None = None, pages: list[dict[str, Any]] | None = None) -> None:
    """Print a result in the invocation's ``--output`` format; ``title`` is the operation's name (the table's title),
    ``pages`` an auto-paginated result's pages (see :func:`iamledger.cli.output.render`).

    With ``--query``, the JMESPath expression is applied to the whole (merged) result first, as the aws CLI does; a
    query that selects nothing prints ``null`` (json) or ``None`` (text). ``--output jsonl`` (the audit trail
    commands') prints a selected list one element per line, any other value on one line, and nothing for null."""
    current = state()
    colour = _colour()
    if current.query is not None:
        selected = current.query.search(plain(data))
        if current.output == "jsonl":
            values = selected if isinstance(selected, list) else [] if selected is None else [selected]
            click.echo(
                "".join(json.dumps(v, ensure_ascii=False, separators=(",", ":")) + "\n" for v in values), nl=False
            )
            return
        if selected is None and current.output in {"json", "text"}:
            click.echo("null" if current.output == "json" else "None")
            return
        click.echo(render(selected, current.output, title, colour=colour), nl=False)
        return
    click.echo(render(data, current.output, title, pages=pages, colour=colour), nl=False)


def _colour() -> bool:
    """Whether a table is coloured, as the aws CLI decides it: ``--color on``, or ``auto`` (the default) on a
    terminal."""
    chosen = click.get_current_context().color
    return sys.stdout.isatty() if chosen is None else chosen
