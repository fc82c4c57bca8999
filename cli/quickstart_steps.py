"""The end of ``iamledger quickstart``: commands to go on with, that work as they are pasted into a shell.

The store is named once, by ``export IAMLEDGER_DB=...`` (shell-quoted: a PostgreSQL URL's ``?schema=`` is a glob), an
absolute path for SQLite so that the commands work from any folder; a database password is never printed (the URL is
shown with ``***`` in its place, to be filled in). The commands act in the example's account (``--account-id``), and
the aws CLI is given a root access key of that account, created for the purpose (its secret printed once, as
``iamledger init`` prints the first one).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Final

import click

from iamledger.config import StoreURL
from iamledger.domain.errors import LimitExceededError
from iamledger.store import IdentityStore

ENDPOINT: Final = "http://127.0.0.1:4566"
WIDTH: Final = 100


def _say(text: str) -> None:
    click.echo(click.wrap_text(text, width=WIDTH))


def program() -> str:
    """How to run this ``iamledger`` from a shell: ``iamledger`` when that is the one on ``$PATH``, else its path,
    else ``python -m iamledger`` with this interpreter."""
    script = Path(sys.argv[0])
    if script.name == "iamledger" and script.is_file():
        found = shutil.which("iamledger")
        if found is not None and Path(found).resolve() == script.resolve():
            return "iamledger"
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m iamledger"


def store_setting(url: str) -> tuple[str | None, str | None]:
    """The line that names the store for the commands after it (``None`` when ``$IAMLEDGER_DB`` names it already),
    and what to say about it (``None``: nothing)."""
    parsed = StoreURL.parse(url)
    if os.environ.get("IAMLEDGER_DB") == url:
        return None, "IAMLEDGER_DB names the store already in this shell."
    if parsed.backend == "sqlite":
        assert parsed.path is not None  # noqa: S101 - set for every SQLite URL
        return f"export IAMLEDGER_DB={shlex.quote(f'sqlite:///{parsed.path.resolve()}')}", None
    if parsed.password:
        note = "The database password is not printed: put it back in place of *** in IAMLEDGER_DB."
        return f"export IAMLEDGER_DB={shlex.quote(parsed.display())}", note
    return f"export IAMLEDGER_DB={shlex.quote(url)}", None


def next_steps(store: IdentityStore, url: str, account: str, user: str | None) -> None:
    """Print the commands to go on with, in ``account`` (the bound one), the history of ``user`` among them."""
    iamledger = program()
    acting = f"{iamledger} --account-id {account}"
    setting, note = store_setting(url)
    click.echo()
    _say("To go on, in a shell (the first line names the store for the commands after it):")
    if setting is not None:
        click.echo(f"  {setting}")
    if note is not None:
        click.echo(f"  # {note}")
    if user is not None:
        click.echo(f"  {acting} audit history --user-name {user} --output table")
    click.echo(f"  {acting} audit lookup-events --max-results 5 --output table")
    try:
        key = store.create_access_key()["AccessKey"]
    except LimitExceededError:
        _say(
            f"The endpoint, for boto3 and the aws CLI: `{iamledger} serve`, with one of the two access keys the root "
            f"user of {account} has (`{acting} iam list-access-keys`)."
        )
        return
    key_id = key["AccessKeyId"]
    _say(
        f"The endpoint, and the aws CLI on it with a root access key of account {account} made for this (its secret "
        "is shown only here):"
    )
    click.echo(f"  {iamledger} serve &  sleep 3   # in the background, on {ENDPOINT}/")
    click.echo(
        f"  env -u AWS_PROFILE -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID={key_id} "
        f"AWS_SECRET_ACCESS_KEY={shlex.quote(key['SecretAccessKey'])} aws --endpoint-url {ENDPOINT} --region us-east-1 "
        "iam list-users"
    )
    click.echo("  kill %1   # stops the endpoint")
    click.echo(f"  # and once done with the key: {acting} iam delete-access-key --access-key-id {key_id}")
    click.echo("And docs/tutorial.md, docs/import-export.md.")
