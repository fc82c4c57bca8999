"""``iamledger audit list-sessions``: the temporary credentials valid now or at a past moment."""

from __future__ import annotations

from typing import Any

import click

from iamledger.cli.audit_group import audit_group
from iamledger.cli.session import acting_in_account, emit


@audit_group.command("list-sessions")
@click.option("--role-name", help="Only the sessions of this role.")
@click.option("--at", "when", metavar="WHEN", help="As of this moment (ISO time, date, 90m/7d ago, position:N).")
def list_sessions(role_name: str | None, when: str | None) -> None:
    """List the role sessions and session tokens valid at a moment (default now): ARN, key id, issue and expiry
    times. No secret or token is ever shown."""
    with acting_in_account() as (store, _):
        source: Any = store.reader() if when is None else store.at(when)
        result = source.list_sessions(RoleName=role_name)
        if when is not None:
            result["Position"] = source.position
    emit(result, title="ListSessions")
