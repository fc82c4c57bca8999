"""SQL over view tables lives next to the projection that writes them (design.md section 8, issue 20 item 2).

No module outside ``projections/`` (``iamledger/``, ``domain/``, ``cli/``, ``server/``; not the tests nor ``bench/``)
imports a view table (``iamledger.projections.views.tables``, ``iamledger.projections.trail.tables``) or SQLAlchemy's
statement builders (``select``, ``insert``, ``update``, ``delete``): a service or an audit question that reads a
view calls the named query function of the view's module (``find_user_by_arn``, ``principal_rows(conn, kind,
...)``...), never builds its own statement nor hands a table to a generic helper.

Every import is checked, wherever it is: at module level, inside a function, under ``if TYPE_CHECKING:``; and
``import sqlalchemy`` followed by ``sqlalchemy.select(...)`` too.
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

from iamledger import IdentityStore
from iamledger.projections.engine.temporal import reading_at
from iamledger.projections.views.principals import find_named, find_principal_by_arn
from iamledger.projections.views.roles import find_role_by_arn, find_role_by_uuid, find_role_named_exactly
from iamledger.projections.views.users import find_user_by_arn, user_uuid_of_arn

# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)

# The source folders outside projections/ (pyproject's package-dir).
FOLDERS: Final = ("iamledger", "domain", "cli", "server")
VIEW_MODULES: Final = frozenset({"iamledger.projections.views.tables", "iamledger.projections.trail.tables"})
SQL_BUILDERS: Final = frozenset({"select", "insert", "update", "delete"})

# Modules whose own tables are not views: they may build SQL over them (never over a view: a view table import is
# still refused). Keys: file; values: why.
OWN_TABLES: Final = {
    "iamledger/vault.py": "the credential vault's own tables (vault_secrets, vault_meta), written and read only by it",
}

# Exceptions to the rule, each with its reason (none today); a listed import that no longer occurs fails the test
# too, so the list only shrinks. Keys: (file, what is imported: a module's name then the imported name).
KNOWN_VIOLATIONS: Final[dict[tuple[str, str], str]] = {}


def _source_files() -> list[Path]:
    return sorted(
        path for folder in FOLDERS for path in (ROOT / folder).rglob("*.py") if "__pycache__" not in path.parts
    )


def offences(source: str, filename: str = "<source>") -> Iterator[tuple[int, str, str]]:
    """What ``source`` imports against the rule, as ``(line, imported, kind)``: ``imported`` is the module's name
    and the imported name (``iamledger.projections.views.tables.USERS``, ``sqlalchemy.select``), ``kind`` is ``view``
    (a view table, or a view tables module) or ``sql`` (a statement builder)."""
    tree = ast.parse(source, filename=filename)
    sqlalchemy_names: set[str] = set()  # names bound to the sqlalchemy package (or a submodule) by ``import``
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in VIEW_MODULES:
                    yield node.lineno, alias.name, "view"
                elif alias.name == "sqlalchemy" or alias.name.startswith("sqlalchemy."):
                    sqlalchemy_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                imported = f"{module}.{alias.name}"
                if module in VIEW_MODULES or imported in VIEW_MODULES:
                    yield node.lineno, imported, "view"
                elif (module == "sqlalchemy" or module.startswith("sqlalchemy.")) and (
                    alias.name in SQL_BUILDERS or alias.name == "*"
                ):
                    yield node.lineno, imported, "sql"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in SQL_BUILDERS:
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in sqlalchemy_names:
                yield node.lineno, f"{ast.unparse(node.value)}.{node.attr}", "sql"


def _found() -> list[tuple[str, int, str, str]]:
    """Every offence of the source folders: (file, line, imported, kind)."""
    return [
        (str(path.relative_to(ROOT)), line, imported, kind)
        for path in _source_files()
        for line, imported, kind in offences(path.read_text(encoding="utf-8"), str(path))
    ]


def test_no_module_outside_projections_builds_sql_over_views() -> None:
    unexpected = [
        f"{file}:{line}: imports {imported}"
        + (" (a view table: call the query function of the view's module)" if kind == "view" else " (builds SQL)")
        for file, line, imported, kind in _found()
        if (file, imported) not in KNOWN_VIOLATIONS and not (kind == "sql" and file in OWN_TABLES)
    ]
    assert not unexpected, "\n".join(unexpected)


def test_known_violations_still_occur() -> None:
    """An entry of :data:`KNOWN_VIOLATIONS` (or :data:`OWN_TABLES`) whose import is gone must go too."""
    found = {(file, imported) for file, _line, imported, _kind in _found()}
    stale = [f"{file}: {imported}" for file, imported in KNOWN_VIOLATIONS if (file, imported) not in found]
    stale += [file for file in OWN_TABLES if not any(f == file for f, _ in found)]
    assert not stale, "no longer imported, remove from the lists: " + ", ".join(stale)


def test_known_violations_say_why() -> None:
    for key, why in KNOWN_VIOLATIONS.items():
        assert "issue 20 item 2" in why, key


def test_the_source_folders_are_found() -> None:
    files = {str(path.relative_to(ROOT)) for path in _source_files()}
    assert {"iamledger/store.py", "iamledger/services/users.py", "iamledger/audit/who_can.py"} <= files
    assert any(f.startswith("cli/") for f in files)
    assert any(f.startswith("server/") for f in files)
    assert not any(f.startswith("projections/") for f in files)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from iamledger.projections.views.tables import USERS, ROLES", {"iamledger.projections.views.tables.USERS"}),
        (
            "from iamledger.projections.trail.tables import TRAIL_INDEX",
            {"iamledger.projections.trail.tables.TRAIL_INDEX"},
        ),
        ("from iamledger.projections.views import tables", {"iamledger.projections.views.tables"}),
        ("import iamledger.projections.views.tables as t", {"iamledger.projections.views.tables"}),
        ("from sqlalchemy import Connection, select", {"sqlalchemy.select"}),
        ("from sqlalchemy import update as u", {"sqlalchemy.update"}),
        ("from sqlalchemy.sql import delete", {"sqlalchemy.sql.delete"}),
        ("from sqlalchemy import *", {"sqlalchemy.*"}),
        ("import sqlalchemy as sa\nsa.insert(x)", {"sa.insert"}),
        ("import sqlalchemy.sql\nsqlalchemy.sql.select(x)", {"sqlalchemy.sql.select"}),
        ("def f():\n    from sqlalchemy import select\n", {"sqlalchemy.select"}),
        (
            "if TYPE_CHECKING:\n    from iamledger.projections.views.tables import USERS\n",
            {"iamledger.projections.views.tables.USERS"},
        ),
    ],
)
def test_offences_are_recognised(source: str, expected: set[str]) -> None:
    assert expected <= {imported for _line, imported, _kind in offences(source)}


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy import Connection, Engine, text",
        "from sqlalchemy.exc import OperationalError",
        "from iamledger.projections.views.users import find_user_by_arn",
        "from iamledger.projections.access import analysis\nanalysis.principal_rows(conn, 'user', account)",
        "rows.select(x)\nquery.update(y)",
    ],
)
def test_allowed_imports_pass(source: str) -> None:
    assert list(offences(source)) == []


# -- the query functions the modules above read the views with (those not covered through their callers) ----------

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def test_lookups_by_arn_answer_at_the_bound_position(iam: IdentityStore) -> None:
    user = iam.create_user(UserName="alice")["User"]
    role = iam.create_role(RoleName="Deployer", AssumeRolePolicyDocument=TRUST)["Role"]
    iam.projector.catch_up()
    before = iam.projector.head()
    iam.update_user(UserName="alice", NewUserName="alicia")
    iam.delete_role(RoleName="Deployer")
    iam.projector.catch_up()
    with iam.engine.connect() as conn:
        assert find_user_by_arn(conn, user["Arn"]) is None
        assert user_uuid_of_arn(conn, user["Arn"]) is None
        assert find_role_by_arn(conn, role["Arn"]) is None
        assert find_principal_by_arn(conn, "role", role["Arn"]) is None
        renamed = find_named(conn, "user", "123456789012", "ALICIA")
        assert renamed is not None
        assert renamed["user_name"] == "alicia"
        with reading_at(before):
            found = find_user_by_arn(conn, user["Arn"])
            assert found is not None
            assert found["user_id"] == user["UserId"]
            assert user_uuid_of_arn(conn, user["Arn"]) == found["entity_uuid"]
            assert find_principal_by_arn(conn, "user", user["Arn"]) == found
            assert find_named(conn, "user", "123456789012", "alice") == found
            deployer = find_role_by_arn(conn, role["Arn"])
            assert deployer is not None
            assert deployer["role_id"] == role["RoleId"]
            assert find_principal_by_arn(conn, "role", role["Arn"]) == deployer
            assert find_role_by_uuid(conn, deployer["entity_uuid"]) == deployer
            assert find_role_named_exactly(conn, "123456789012", "Deployer") == deployer
            assert find_role_named_exactly(conn, "123456789012", "deployer") is None
