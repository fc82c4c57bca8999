"""The documentation site builds with mkdocs in strict mode, and its generated pages match the code."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iamledger.cli.reference import render_cli, render_events

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


@pytest.mark.slow
def test_the_site_builds_in_strict_mode(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extras: pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    api = (tmp_path / "api" / "index.html").read_text(encoding="utf-8")
    assert "who_can" in api and "lookup_events" in api  # the reference was generated from the docstrings
    assert (tmp_path / "events" / "index.html").exists()
