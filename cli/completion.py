"""``iamledger completion bash|zsh|fish``: the shell completion script, as click makes it.

The script calls ``iamledger`` back with ``_IAMLEDGER_COMPLETE`` set (click's protocol), and
:func:`iamledger.cli.main.main` answers with the words that fit; docs/cli.md says how to install it.
"""

from __future__ import annotations

from typing import Final

import click

PROG_NAME: Final = "iamledger"
COMPLETE_VAR: Final = "_IAMLEDGER_COMPLETE"
"""The environment variable of click's completion protocol (``bash_source``, ``bash_complete``, ``zsh_complete``...)."""
SHELLS: Final = ("bash", "zsh", "fish")


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script of bash, zsh or fish: source it from the shell's start-up file.

    \b
    bash:  eval "$(iamledger completion bash)"       in ~/.bashrc
    zsh:   eval "$(iamledger completion zsh)"        in ~/.zshrc
    fish:  iamledger completion fish > ~/.config/fish/completions/iamledger.fish
    """
    from click.shell_completion import get_completion_class

    complete = get_completion_class(shell)
    if complete is None:  # pragma: no cover - click registers the three shells SHELLS names
        raise click.UsageError(f"No completion for {shell}")
    script = complete(ctx.find_root().command, {}, PROG_NAME, COMPLETE_VAR).source()
    click.echo(
        script, nl=False
    )  # as click prints it for `_IAMLEDGER_COMPLETE=bash_source iamledger` (bash_source, zsh_source, fish_source)
