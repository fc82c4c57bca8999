"""Every command has help and is documented in docs/cli.md (sqlite-utils' habit)."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

from iamledger.cli.main import cli
from iamledger.cli.reference import GENERATED_GROUPS

ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)


def _commands(
    group: click.Group, ctx: click.Context, prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every leaf command, walked as click resolves them (the root's commands are loaded lazily), but the generated
    ``iam``/``sts`` ones (docs/iam-commands.md and docs/sts-commands.md list those)."""
    found = []
    for name in sorted(group.list_commands(ctx)):
        if not prefix and name in GENERATED_GROUPS:
            continue
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found.extend(_commands(command, click.Context(command, info_name=name, parent=ctx), path))
        else:
            found.append((path, command))
    return found


COMMANDS = [(path, command) for path, command in _commands(cli, click.Context(cli, info_name="iamledger"))]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_and_a_section_in_the_cli_docs(path, command):
    assert command.help, f"iamledger {' '.join(path)} has no help text"
    docs = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert f"### `iamledger {' '.join(path)}`" in docs


def test_the_generated_iam_command_reference_is_current():
    """docs/iam-commands.md lists every generated `iamledger iam` command; regenerate it with
    `python -m iamledger.cli.reference iam > docs/iam-commands.md`."""
    from iamledger.cli.reference import render

    assert render("iam") == (ROOT / "docs" / "iam-commands.md").read_text(encoding="utf-8")
    assert render("sts") == (ROOT / "docs" / "sts-commands.md").read_text(encoding="utf-8")


def test_the_commands_are_all_found():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "serve", "audit who-can", "audit lookup-events", "account create", "projections follow"} <= names


def test_every_generated_iam_command_has_help():
    from iamledger.cli.service import implemented_operations, service_group

    group = service_group("iam", "")
    ctx = click.Context(group)
    for name in implemented_operations("iam"):
        command = group.get_command(ctx, name)
        assert command is not None
        assert command.help, name


def test_the_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f"(docs/{page.name})" in readme, page.name
