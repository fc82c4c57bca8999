"""``iamledger import authorization-details FILE`` and ``iamledger export authorization-details``: an AWS account's
identities in and out, in the shape of ``aws iam get-account-authorization-details``."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

import click

from iamledger.cli.group import Group
from iamledger.cli.pagination import marker_of, paginate
from iamledger.cli.projections import progress_reporter
from iamledger.cli.session import emit, local_context, open_store, state
from iamledger.context import bound_audit_context
from iamledger.domain.errors import TranslatedError
from iamledger.services.dump import ERROR_CODE
from iamledger.store import IdentityStore

FILTERS: Final = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
PAGE_SIZE: Final = 1000
DETAIL_LISTS: Final = ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")


@click.group("import", cls=Group)
def import_group() -> None:
    """Load identities from AWS into the store, as events."""


@import_group.command("authorization-details")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=500, show_default=True, hidden=True)
def import_authorization_details(file: Path, batch_size: int) -> None:
    """Import FILE, the output of `aws iam get-account-authorization-details` (one response, all pages merged, or a
    JSON list of pages; - reads standard input) as events: users, groups, memberships, roles with trust policies and
    instance profiles, managed policies with every version, inline policies, attachments, boundaries and tags, with
    the ids, ARNs and create dates AWS gave them. Accounts the store lacks are created (a new store too).

    Importing the same file again changes nothing; importing a newer dump records only the differences, as the
    ordinary events of the operations that make them, so successive dumps become a timeline. A bad file is
    refused with MalformedAuthorizationDetails naming the JSON path of the problem, and nothing is written.
    Prints what was imported and changed, the file's SHA-256 and the import's request id (shared by its events).
    """
    raw = sys.stdin.buffer.read() if str(file) == "-" else _read(file)
    source = "<stdin>" if str(file) == "-" else str(file)
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise TranslatedError(ERROR_CODE, f"$: the file is not JSON ({error})", 400, sender_fault=True) from None
    options = state()
    with open_store(create=True) as store, progress_reporter("Importing") as progress:
        if options.as_arn is not None:
            account = options.as_arn.split(":")[4]
            with bound_audit_context(replace(local_context(account), actor=options.as_arn)):
                summary = _import(store, document, source, sha256, progress, batch_size)
        else:
            summary = _import(store, document, source, sha256, progress, batch_size)
    # An import is thousands of events at once: the audit trail projects them now, so that the first audit
    # question after it has no large catch-up to do (the library's import leaves that to the trail's next reader).
    with open_store() as store, progress_reporter("Projecting the audit trail") as progress:
        store.trail.catch_up(progress)
    emit(summary, title="ImportAuthorizationDetails")


def _read(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except OSError as error:
        raise click.BadParameter(f"{file}: {error.strerror}", param_hint="FILE") from None


def _import(
    store: IdentityStore, document: Any, source: str, sha256: str, progress: Any, batch_size: int
) -> dict[str, Any]:
    return store.import_authorization_details(
        document, source=source, sha256=sha256, progress=progress, batch_size=batch_size
    )


@click.group("export", cls=Group)
def export_group() -> None:
    """Print the store's identities in AWS's shapes."""


@export_group.command("authorization-details")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    type=click.Choice(FILTERS),
    help="Only these kinds of entity (repeatable), as `aws iam get-account-authorization-details --filter`.",
)
@click.option("--at", metavar="WHEN", help="As of this moment: an ISO 8601 time, a date, 90m/7d ago, or position:N.")
def export_authorization_details(filters: tuple[str, ...], at: str | None) -> None:
    """Print the account's users, groups, roles and managed policies with everything that grants or limits their
    permissions, all pages merged, in the shape of `aws iam get-account-authorization-details` (so it can be
    imported again, here or into another store). With --at, as they were at that moment."""
    from iamledger.cli.session import acting_in_account

    with acting_in_account() as (store, _account):
        source: Any = store if at is None else store.at(at)

        def fetch(marker: str | None, wanted: int | None) -> dict[str, Any]:
            del wanted  # every page
            params: dict[str, Any] = {"MaxItems": PAGE_SIZE}
            if filters:
                params["Filter"] = list(filters)
            if marker is not None:
                params["Marker"] = marker
            page: dict[str, Any] = source.get_account_authorization_details(**params)
            return page

        result = paginate(fetch, DETAIL_LISTS, marker_of).items
        if at is not None:
            click.echo(f"As of position {source.position} ({source.time.isoformat()})", err=True)
    emit(result, title="GetAccountAuthorizationDetails")
