"""Inputs the aws CLI refuses before it calls anything, refused here as it refuses them (a module of its own, light
to import: the root's ``--query`` check uses it before any command is loaded)."""

from __future__ import annotations

from typing import IO, Any

import click


class InputError(click.ClickException):
    """An input the aws CLI refuses before calling anything, with its exit code 255 (a value that cannot be parsed,
    ``Parameter validation failed``, paging options that do not go together; argparse's own usage errors, such as a
    missing required option, stay 2 as in the aws CLI): printed as the aws CLI prints it, after an empty line and
    without a usage line or an ``Error:`` prefix."""

    exit_code = 255

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"\n{self.format_message()}", file=file, err=file is None)
