"""The click group classes of the ``iamledger`` command line."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

import click

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

    from click.shell_completion import CompletionItem

PATH_KEY: Final = "iamledger.command_path"


class Group(click.Group):
    """A command group that remembers which subcommands were resolved, to name the operation in errors."""

    argparse_commands: ClassVar[bool] = False
    """Whether its subcommands read their arguments with argparse (they have no click options of their own), so that
    the root's options typed after them are the root's without building them."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and cmd.name is not None:
            ctx.meta.setdefault(PATH_KEY, []).append(cmd.name)
        return name, cmd, rest

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name == "help":  # `iamledger help`, `iamledger audit help`, as `aws help`
            return _help
        return command


@click.command("help", hidden=True, help="Print the help of the group it follows, as the aws CLI's `help` word.")
@click.pass_context
def _help(ctx: click.Context) -> None:
    parent = ctx.parent
    assert parent is not None  # noqa: S101 - only ever a subcommand of a group
    click.echo(parent.get_help(), color=ctx.color)


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """A command of the root group as known before anything of it is imported: its help, and where it lives."""

    help: str
    """The first paragraph of the command's help, which ``iamledger --help`` and shell completion show."""
    target: str = ""
    """``module:attribute`` of the click command; empty for a command of the ``iamledger.commands`` entry points."""
    registers: tuple[str, ...] = ()
    """Modules that add subcommands to the command when they are imported."""


@functools.cache
def _plugin_commands() -> dict[str, EntryPoint]:
    """The commands other packages declare for the command line (:data:`~iamledger.config.CLI_COMMANDS`), by name."""
    from importlib.metadata import entry_points

    from iamledger.config import CLI_COMMANDS

    return {entry.name: entry for entry in entry_points(group=CLI_COMMANDS)}


class RootGroup(Group):
    """The ``iamledger`` group. Its commands are imported only when one is run or completed into (``lazy_commands``
    names them with their help, so that ``--help``, ``--version`` and shell completion import none); those declared
    under the ``iamledger.commands`` entry points (``serve``, the endpoint's) are loaded the same way."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands, *_plugin_commands()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            command = self._load(cmd_name)
            if command is not None:
                self.add_command(command, cmd_name)
        return command

    def _load(self, name: str) -> click.Command | None:
        lazy = self.lazy_commands.get(name)
        if lazy is not None and lazy.target:
            module, _, attribute = lazy.target.partition(":")
            command: click.Command = getattr(importlib.import_module(module), attribute)
            for registering in lazy.registers:
                importlib.import_module(registering)
            return command
        entry = _plugin_commands().get(name)
        return None if entry is None else entry.load()

    def _short_help(self, ctx: click.Context, name: str, limit: int) -> str | None:
        """The command's short help as click makes it, from ``lazy_commands`` while it is not loaded."""
        lazy = self.lazy_commands.get(name)
        if name not in self.commands and lazy is not None:
            return click.Command(name, help=lazy.help).get_short_help_str(limit)
        command = self.get_command(ctx, name)
        return None if command is None or command.hidden else command.get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max((len(name) for name in names), default=0)
        rows = [(name, text) for name in names if (text := self._short_help(ctx, name, limit)) is not None]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        results = [
            CompletionItem(name, help=text)
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and (text := self._short_help(ctx, name, 45)) is not None
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results
