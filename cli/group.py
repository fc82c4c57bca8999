"""The click group class every ``iamledger`` command group uses."""

from __future__ import annotations

from typing import Final

import click

PATH_KEY: Final = "iamledger.command_path"


class Group(click.Group):
    """A command group that remembers which subcommands were resolved, to name the operation in errors."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and cmd.name is not None:
            ctx.meta.setdefault(PATH_KEY, []).append(cmd.name)
        return name, cmd, rest
