"""Commands whose arguments argparse reads, as the aws CLI's do (``--action-names a b``, ``--help``), made visible
to click: their help, and so the generated CLI reference (``iamledger.cli.reference``), shows the parser's options.

Such a command takes its arguments unparsed from click and hands them to the parser its factory builds; click's own
option machinery sees none of them. :class:`ParserCommand` keeps that factory (``parser_factory``), so its help is
the parser's (at the width of the context asking) and :meth:`ParserCommand.option_strings` names every option it
takes.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

import click

ParserFactory = Callable[[], argparse.ArgumentParser]


class ParserCommand(click.Command):
    """A click command whose arguments are parsed by the argparse parser ``make_parser`` builds; ``run`` is called
    with that parser (for its ``error``) and the parsed namespace."""

    def __init__(
        self,
        name: str,
        *,
        make_parser: ParserFactory,
        run: Callable[[argparse.ArgumentParser, argparse.Namespace], None],
        help: str,  # noqa: A002 - click's name for it
    ) -> None:
        def callback(args: tuple[str, ...]) -> None:
            parser = make_parser()
            run(parser, parser.parse_args(list(args)))

        super().__init__(
            name,
            callback=callback,
            params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
            help=help,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []},
            add_help_option=False,
        )
        self.parser_factory = make_parser

    def get_help(self, ctx: click.Context) -> str:
        """What ``--help`` prints (argparse's help), wrapped at the width click would use in ``ctx``."""
        parser = self.parser_factory()
        width = ctx.make_formatter().width
        parser.formatter_class = functools.partial(argparse.HelpFormatter, width=width)
        return parser.format_help().rstrip("\n")

    def option_strings(self) -> list[str]:
        """Every option the parser accepts (``--help`` too), in the order it declares them."""
        parser = self.parser_factory()
        return [option for action in parser._actions for option in action.option_strings]  # noqa: SLF001 - argparse has no public list
