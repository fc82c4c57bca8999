"""The click group class every ``iamledger`` command group uses."""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points
from typing import Final

import click

from iamledger.config import CLI_COMMANDS

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


@functools.cache
def _plugin_commands() -> dict[str, EntryPoint]:
    """The commands other packages declare for the command line (:data:`~iamledger.config.CLI_COMMANDS`), by name."""
    return {entry.name: entry for entry in entry_points(group=CLI_COMMANDS)}


class RootGroup(Group):
    """The ``iamledger`` group: its own commands, and those declared under the ``iamledger.commands`` entry points
    (``serve``, the endpoint's), each imported only when it is named or help lists it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        entry = _plugin_commands().get(cmd_name)
        if command is None and entry is not None:
            command = entry.load()
            self.add_command(command, cmd_name)
        return command
