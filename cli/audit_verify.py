"""``iamledger audit verify``: re-compute the hash chain of the event log and name the first tampered position."""

from __future__ import annotations

from typing import Final

import click

from iamledger.cli.audit_group import audit_group
from iamledger.cli.projections import progress_reporter
from iamledger.cli.session import emit, open_store

EXIT_TAMPERED: Final = 1


@audit_group.command("verify")
@click.option(
    "--expect-head",
    metavar="[POSITION:]HASH",
    help="A head link printed by an earlier run (kept outside the database): the chain must still hold it, or the "
    "log was rewritten together with its checkpoints.",
)
@click.option(
    "--no-extend",
    is_flag=True,
    help="Leave the events recorded after the last checkpoint unverified instead of covering them with the chain.",
)
@click.pass_context
def verify_command(ctx: click.Context, expect_head: str | None, no_extend: bool) -> None:
    """Re-compute the hash chain over the stored events and compare it with the checkpoints written as the log was
    indexed. Prints the head link (keep it elsewhere, pass it back with --expect-head) or the first position where a
    stored event was changed, removed, inserted or reordered. Exit status 0 when intact, 1 when tampered."""
    with open_store() as store, progress_reporter("Verifying the chain") as progress:
        report = store.projector.verify_log(progress=progress, expect_head=expect_head, extend=not no_extend)
    emit(report.describe(), title="Verify")
    click.echo(report.message(), err=True)
    if not report.verified:
        ctx.exit(EXIT_TAMPERED)
