"""The documentation site builds with mkdocs in strict mode, and its generated pages match the code."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
import yaml

from iamledger.asof import StoreAsOf, is_read_operation
from iamledger.cli.parser_command import ParserCommand
from iamledger.cli.reference import GENERATED_GROUPS, render_cli, render_events
from iamledger.kernel import StoreKernel
from iamledger.services.base import ServiceBase
from iamledger.store import IdentityStore
from iamledger.store_accounts import StoreAccounts

ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)


def test_the_cli_reference_is_generated_from_the_current_help():
    """Regenerate with `python -m iamledger.cli.reference cli > docs/cli-reference.md`."""
    assert render_cli() == (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")


def test_the_event_catalogue_lists_the_current_event_classes():
    """Regenerate with `python -m iamledger.cli.reference events > docs/events.md`."""
    assert render_events() == (ROOT / "docs" / "events.md").read_text(encoding="utf-8")


def test_the_event_catalogue_names_every_stored_event_class():
    catalogue = render_events()
    from iamledger.domain.groups import Group
    from iamledger.domain.sessions import RoleSession
    from iamledger.domain.users import User

    for event in (User.Created, User.AddedToGroup, User.AccessKeyCreated, Group.MemberAdded, RoleSession.RoleAssumed):
        assert f"| `{event.__qualname__}` |" in catalogue
    # The audit fields are described once, not repeated in every row; secrets are never fields.
    assert "`actor`: " not in catalogue
    assert (
        "`secret_access_key`:" not in catalogue
        and "`password`:" not in catalogue
        and "`session_token`:" not in catalogue
    )


def test_every_docs_page_is_in_the_site_navigation():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert f" {page.name}\n" in config, f"{page.name} is not in mkdocs.yml's nav"


def _cli_commands(
    command: click.Command, ctx: click.Context, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command under ``command``, walked as click resolves them (so lazily loaded ones too)."""
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            if not path and name in GENERATED_GROUPS:
                continue
            sub = command.get_command(ctx, name)
            assert sub is not None, f"iamledger {' '.join((*path, name))} is listed but cannot be loaded"
            if not sub.hidden:
                found.extend(_cli_commands(sub, click.Context(sub, info_name=name, parent=ctx), (*path, name)))
    return found


def _options(command: click.Command) -> list[str]:
    if isinstance(command, ParserCommand):
        return command.option_strings()
    assert not any(isinstance(p, click.Argument) and p.type is click.UNPROCESSED for p in command.params), (
        f"{command.name} hands its arguments to a parser click cannot see: declare it as a ParserCommand"
    )
    return [
        option
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for option in (*param.opts, *param.secondary_opts)
    ]


def test_every_option_of_every_command_is_in_the_cli_reference():
    from iamledger.cli.main import cli

    reference = (ROOT / "docs" / "cli-reference.md").read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## `([^`]+)`\n(.*?)(?=^## |\Z)", reference, flags=re.MULTILINE | re.DOTALL))
    commands = _cli_commands(cli, click.Context(cli, info_name="iamledger"))
    assert {("audit", "who-can"), ("audit", "simulate-principal-policy"), ("serve",)} <= {p for p, _ in commands}
    for path, command in commands:
        title = " ".join(("iamledger", *path))
        assert title in sections, f"{title} has no section in docs/cli-reference.md"
        missing = [
            o for o in _options(command) if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", sections[title])
        ]
        assert not missing, f"{title}'s options {missing} are not in docs/cli-reference.md"


def test_the_audit_analysis_commands_show_their_options_in_their_help():
    from iamledger.cli.main import cli

    help_text = (
        cli.get_command(click.Context(cli), "audit")
        .get_command(click.Context(cli), "who-can")
        .get_help(click.Context(cli, info_name="who-can"))
    )
    assert "--action-name ACTION_NAME" in help_text and "--context-entries" in help_text and "--at WHEN" in help_text


# -- the library API page ---------------------------------------------------------------------------------------

# The methods the store's kernel classes define that are the library's API; the rest is plumbing for the
# operations (save, lending, caller, ...) and never appears on the API page.
KERNEL_API = frozenset(
    {
        "open",
        "close",
        "init",
        "is_initialized",
        "create_account",
        "get_account",
        "list_accounts",
        "acting",
        "verify_log",
    }
)


def _api_blocks() -> list[tuple[str, dict]]:
    """Each ``::: identifier`` block of docs/api.md with its options."""
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    blocks = []
    for match in re.finditer(r"^::: (\S+)\n((?:    .*\n|\n)*)", text, flags=re.MULTILINE):
        config = yaml.safe_load(textwrap.dedent(match[2])) or {}
        blocks.append((match[1], config.get("options", {})))
    return blocks


def _resolve(identifier: str) -> type:
    module, _, name = identifier.rpartition(".")
    value = getattr(__import__(module, fromlist=[name]), name)
    assert isinstance(value, type)
    return value


def _has_member(cls: type, name: str) -> bool:
    """Whether ``cls`` has ``name``: an attribute of the class, or of its instances (set in ``__init__``)."""
    return hasattr(cls, name) or f"self.{name} = " in inspect.getsource(cls)


def test_the_api_page_names_only_methods_that_exist():
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\bstore\.(\w+)\(", text)) | set(re.findall(r"\bIdentityStore\.(\w+)", text))
    assert {"open", "init", "create_user", "at"} <= named  # the page shows how to create a store and use it
    assert sorted(n for n in named if not hasattr(IdentityStore, n)) == []
    for name in set(re.findall(r"\bpast\.(\w+)", text)):
        assert hasattr(StoreAsOf, name) or (is_read_operation(name) and hasattr(IdentityStore, name)), name
    for identifier, options in _api_blocks():
        cls = _resolve(identifier)
        for key in ("members", "inherited_members"):
            listed = options.get(key)
            if isinstance(listed, list):
                assert sorted(m for m in listed if not _has_member(cls, m)) == [], f"{identifier} {key}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extras: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.mark.slow
def test_the_site_builds_in_strict_mode(site):
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "who_can" in api and "lookup_events" in api  # the reference was generated from the docstrings
    assert (site / "events" / "index.html").exists()


@pytest.mark.slow
def test_no_page_shows_a_sphinx_role_as_text(site):
    """Docstrings cross-reference in Sphinx's syntax; docs/ext/sphinx_roles.py makes them links (or code)."""
    shown = {
        str(page.relative_to(site)): sorted(set(re.findall(r":(?:meth|class|func|attr|data|mod|exc|obj):", text)))
        for page in site.rglob("*.html")
        if re.search(r":(?:meth|class|func|attr|data|mod|exc|obj):", text := page.read_text(encoding="utf-8"))
    }
    assert shown == {}
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert 'href="#iamledger.store.IdentityStore.close"' in api  # :meth:`close` became a link


@pytest.mark.slow
def test_the_api_page_shows_the_public_api_once(site):
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    inherited = {identifier: set(options.get("inherited_members") or ()) for identifier, options in _api_blocks()}
    plumbing = {n for c in (StoreKernel, StoreAccounts, ServiceBase) for n in vars(c) if not n.startswith("__")}
    plumbing -= KERNEL_API
    seen: dict[str, str] = {}
    for anchor in re.findall(r'id="(iamledger\.[\w.]+)"', api):
        owner, _, member = anchor.rpartition(".")
        if owner not in inherited:
            continue  # a class's own heading
        cls = _resolve(owner)
        assert not member.startswith("_"), anchor
        assert member not in plumbing, f"{anchor} is the store's plumbing, not its API"
        own = member in vars(cls) or (not hasattr(cls, member) and _has_member(cls, member))
        assert own or member in inherited[owner], f"{anchor} is inherited: document it once"
        definer = next((c for c in cls.__mro__ if member in vars(c)), cls)  # an instance attribute: the class's
        assert definer.__module__.startswith("iamledger."), f"{anchor} is {definer.__qualname__}'s"
        assert member not in seen, f"{member} is documented twice: {seen[member]} and {anchor}"
        seen[member] = anchor
    assert {"open", "init", "at", "who_can", "lookup_events", "list_sessions"} <= set(seen)
