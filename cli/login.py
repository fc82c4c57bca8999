"""``iamledger login``: sign in as an IAM user with its console password, as the AWS console does."""

from __future__ import annotations

import sys
from dataclasses import replace

import click

from iamledger.cli.session import emit, local_context, open_store, state
from iamledger.context import bound_audit_context


def _read_stdin_line() -> str | None:
    line = sys.stdin.readline()
    return line.rstrip("\r\n") if line else None


@click.command("login")
@click.option("--user-name", required=True, help="The IAM user to sign in as (any case).")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (and, when it must be changed, the new one "
    "from the second) instead of prompting.",
)
def login_command(user_name: str, password_stdin: bool) -> None:
    """Sign in as an IAM user with its console password and print the console session: the user's ARN, its
    account, whether the password must be reset or has expired, and when the session ends.

    The password is prompted for without echo unless --password-stdin is given. When the password must be
    changed (reset required, or expired), a new one is asked for and set as ChangePassword would. A wrong password
    and an unknown user fail alike: "The user name or password is incorrect."
    """
    password = _read_stdin_line() if password_stdin else click.prompt("Password", hide_input=True, err=True)
    if not password:
        raise click.UsageError("No password given.")
    with open_store() as store:
        account_id = store.resolve_account_id(state().account_id)
        with bound_audit_context(local_context(account_id)):
            session = store.authenticate_password(account_id, user_name, password)
        if session["PasswordResetRequired"] or session["PasswordExpired"]:
            if password_stdin:
                new_password = _read_stdin_line()
            else:
                click.echo("Your password must be changed before you continue.", err=True)
                new_password = click.prompt(
                    "New password", hide_input=True, confirmation_prompt="Retype new password", err=True
                )
            if new_password:
                as_user = replace(local_context(account_id), actor=session["Arn"])
                with bound_audit_context(as_user):
                    store.change_password(OldPassword=password, NewPassword=new_password)
                with bound_audit_context(local_context(account_id)):
                    session = store.authenticate_password(account_id, user_name, new_password)
            else:
                click.echo("Warning: the password must be changed; this session can do nothing else.", err=True)
    emit(session, title="Login")
