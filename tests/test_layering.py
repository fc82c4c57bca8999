"""Dependencies point inward (style.md habit 1): the domain knows nothing of storage, the CLI or the views."""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)
STDLIB = set(sys.stdlib_module_names)


def _imports(folder: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: relative import"
                assert node.module is not None
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def _allowed(module: str, allowed_prefixes: tuple[str, ...]) -> bool:
    return module.split(".", maxsplit=1)[0] in STDLIB or any(
        module == prefix or module.startswith(prefix + ".") for prefix in allowed_prefixes
    )


def test_domain_imports_only_stdlib_and_eventsourcing_domain():
    allowed = ("eventsourcing.domain", "iamledger.domain")
    offenders = {
        path: sorted(m for m in modules if not _allowed(m, allowed))
        for path, modules in _imports(ROOT / "domain").items()
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_policy_language_imports_only_stdlib():
    allowed = ("iamledger.domain.policy",)
    offenders = {
        path: sorted(m for m in modules if not _allowed(m, allowed))
        for path, modules in _imports(ROOT / "domain" / "policy").items()
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


@pytest.mark.parametrize("folder", ["iamledger", "domain", "projections", "cli", "server", "tests", "bench"])
def test_no_bare_imports_of_the_source_folders(folder: str):
    """`import domain` would load a second copy of a module under another name and corrupt event topics."""
    bare = {"domain", "projections", "cli", "server"}
    offenders = {
        path: sorted(m for m in modules if m.split(".")[0] in bare) for path, modules in _imports(ROOT / folder).items()
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}
