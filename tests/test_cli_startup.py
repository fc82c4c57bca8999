"""What the ``iamledger`` command imports to start: nothing of the store for ``--version``, ``--help``, completion and
a usage error, and for a read only what the read needs (the start-up times are bench/cli.py's, not a test's).

Each case runs ``main()`` in a fresh interpreter and reports which modules it imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from iamledger.cli.group import RootGroup
from iamledger.cli.main import COMMANDS, cli
from iamledger.cli.service import implemented_operations
from iamledger.cli.service_operations import IMPLEMENTED

HEAVY = ("sqlalchemy", "eventsourcing", "botocore", "iamledger.store", "iamledger.domain.users", "cryptography")
RUN_MAIN = """
import json, sys
sys.argv = ["iamledger", *json.loads(sys.argv[1])]
from iamledger.cli.main import main
try:
    main()
except SystemExit as done:
    code = done.code
print("\\n" + json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def run_main(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """``iamledger ARGS`` in a new interpreter: its exit code, what it printed before, and the modules it imported."""
    result = subprocess.run(
        [sys.executable, "-c", RUN_MAIN, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, **(env or {})},
        check=False,
        timeout=120,
    )
    printed, _, report = result.stdout.rstrip("\n").rpartition("\n")
    data: dict[str, Any] = json.loads(report)
    return data["code"], printed + result.stderr, set(data["modules"])


def loaded(modules: set[str], prefix: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for name in modules)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("--version",), 0),
        (("--help",), 0),
        (("-h",), 0),
        (("no-such-command",), 2),
        (("--output", "bogus", "iam", "list-users"), 2),
        (("iam", "list-users", "--output", "bogus"), 2),
        (("completion", "bash"), 0),
    ],
)
def test_a_command_that_needs_no_store_imports_none(tmp_path, args, code):
    exit_code, printed, modules = run_main(tmp_path, *args)
    assert exit_code == code, printed
    assert [name for name in HEAVY if loaded(modules, name)] == []
    assert not (tmp_path / "iamledger.db").exists()


def test_version_prints_the_installed_version(tmp_path):
    from importlib.metadata import version

    code, printed, _ = run_main(tmp_path, "--version")
    assert code == 0
    assert printed.strip() == f"iamledger {version('iamledger')}"


def test_a_read_imports_what_it_needs_and_not_the_rest(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    env = {"IAMLEDGER_DB": db, "IAMLEDGER_MASTER_KEY_FILE": str(tmp_path / "master.key")}
    code, printed, _ = run_main(tmp_path, "init", env=env)
    assert code == 0, printed
    code, printed, _ = run_main(tmp_path, "iam", "create-user", "--user-name", "alice", env=env)
    assert code == 0, printed

    code, printed, modules = run_main(tmp_path, "iam", "list-users", env=env)
    assert code == 0, printed
    assert [user["UserName"] for user in json.loads(printed)["Users"]] == ["alice"]
    assert loaded(modules, "iamledger.domain.users"), "this read caught the views up with the user's creation"

    code, printed, modules = run_main(tmp_path, "iam", "list-users", env=env)  # on a caught-up store

    assert code == 0, printed
    assert [user["UserName"] for user in json.loads(printed)["Users"]] == ["alice"]
    assert loaded(modules, "iamledger.store")
    unneeded = (
        "iamledger.server",  # the endpoint
        "iamledger.cli.transfer",  # import / export
        "iamledger.cli.quickstart",
        "iamledger.cli.audit_analysis",
        "iamledger.cli.audit_events",
        "iamledger.cli.bench",
        "iamledger.cli.projections",
        "iamledger.generate",  # the synthetic organisation of `bench generate`
        "click.shell_completion",
        # the aggregates' modules (eventsourcing makes every event class a dataclass as they are imported): a read
        # of a caught-up store decodes no event but the account registry's
        "iamledger.domain.users",
        "iamledger.domain.groups",
        "iamledger.domain.roles",
        "iamledger.domain.policies",
        "iamledger.domain.user_keys",
        "iamledger.domain.mfa",
        "iamledger.domain.federation",
        "iamledger.domain.sessions",
        "iamledger.domain.instance_profiles",
        "iamledger.domain.server_certificates",
        "iamledger.domain.imports",
        "iamledger.domain.security",
        "iamledger.projections.trail.render",  # the trail's renderer, imported when it has events to project
    )
    assert [name for name in unneeded if loaded(modules, name)] == []


def first_paragraph(help_text: str | None) -> str:
    return " ".join((help_text or "").partition("\n\n")[0].split())


def test_the_command_table_holds_each_command_and_its_own_help():
    fresh = RootGroup("iamledger", lazy_commands=COMMANDS)
    ctx = click.Context(fresh)
    names = fresh.list_commands(ctx)
    assert sorted(COMMANDS) == names, "every command of the root group (entry points too) is in COMMANDS"
    for name in names:
        command = fresh.get_command(ctx, name)
        assert command is not None
        assert first_paragraph(command.help) == COMMANDS[name].help, f"COMMANDS[{name!r}] is not its help"


def test_root_help_is_the_same_before_and_after_the_commands_are_loaded():
    lazy = RootGroup("iamledger", lazy_commands=COMMANDS, params=cli.params)
    before = lazy.get_help(click.Context(lazy, info_name="iamledger"))
    for name in COMMANDS:
        lazy.get_command(click.Context(lazy), name)
    after = lazy.get_help(click.Context(lazy, info_name="iamledger"))
    assert set(lazy.commands) == set(COMMANDS)
    assert before == after
    assert "serve " in before
    assert "completion " in before


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_the_operations_table_is_what_the_store_implements(service):
    missing = set(implemented_operations(service).items()) - set(IMPLEMENTED[service].items())
    extra = set(IMPLEMENTED[service].items()) - set(implemented_operations(service).items())
    lines = "".join(f'\n        "{name}": "{operation}",' for name, operation in sorted(missing))
    assert not missing, f"add to IMPLEMENTED[{service!r}] in cli/service_operations.py:{lines}"
    assert not extra, f"remove from IMPLEMENTED[{service!r}] in cli/service_operations.py: {sorted(extra)}"


@pytest.mark.parametrize("service", ["iam", "sts"])
def test_the_models_are_those_a_botocore_session_loads(service):
    import botocore.session

    from iamledger.awsmodel import _paginators, service_model

    session = botocore.session.get_session()
    model = session.get_service_model(service)
    assert service_model(service)._service_description == model._service_description
    paginators = session.get_paginator_model(service)._paginator_config
    assert _paginators(service) == paginators
