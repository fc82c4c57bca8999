"""Dependencies point inward (style.md habit 1, design.md section 8): the domain knows nothing of storage, the CLI
or the views; the views nothing of the library; the library nothing of its two front ends.

The layers, innermost first; a module may import its own layer and the layers before it, never a later one:

1. ``policy``: ``domain/policy/`` (``iamledger.domain.policy``), the policy language;
2. ``domain``: the rest of ``domain/`` (``iamledger.domain``), aggregates and events;
3. ``projections``: ``projections/`` (``iamledger.projections``), the views and their queries;
4. ``library``: the rest of the ``iamledger`` package (``iamledger/``: the store, services, audit, vault, auth...);
5. ``cli`` (``cli/``, ``iamledger.cli``) and ``server`` (``server/``, ``iamledger.server``), the two front ends, which
   never import each other.

``iamledger/__main__.py`` (``python -m iamledger``) is the command's second entry point and belongs to the ``cli``
layer, though it sits in the library's folder: nothing imports it, and it imports only ``iamledger.cli``.
Nothing imports ``bench/`` (benchmarks, not installed), not even the tests.

Every import is checked, wherever it is: at module level, inside a function, under ``if TYPE_CHECKING:``.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest

# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)
STDLIB = set(sys.stdlib_module_names)

# The source folders and the package each is installed as (pyproject's package-dir).
PACKAGES: Final = {
    "iamledger": "iamledger",
    "domain": "iamledger.domain",
    "projections": "iamledger.projections",
    "cli": "iamledger.cli",
    "server": "iamledger.server",
}
LAYERS: Final = ("policy", "domain", "projections", "library", "cli", "server")
# What each layer may import (its own layer included). cli and server are both outermost, side by side.
MAY_IMPORT: Final = {
    "policy": {"policy"},
    "domain": {"policy", "domain"},
    "projections": {"policy", "domain", "projections"},
    "library": {"policy", "domain", "projections", "library"},
    "cli": {"policy", "domain", "projections", "library", "cli"},
    "server": {"policy", "domain", "projections", "library", "server"},
}
# Modules that sit in one layer's folder but belong to another.
ENTRY_POINTS: Final = {"iamledger.__main__": "cli"}  # `python -m iamledger`: the command, so the cli layer


def _module_of(path: Path) -> str:
    """The installed module name of a source file under one of ``PACKAGES``' folders."""
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    name = ".".join([PACKAGES[folder], *rest])
    return name.removesuffix(".__init__")


def _source_files(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


KNOWN_MODULES: Final = frozenset(_module_of(p) for folder in PACKAGES for p in _source_files(folder))


def _layer(module: str) -> str | None:
    """The layer of an ``iamledger`` module (``None`` for any other: stdlib, third party, tests)."""
    if module in ENTRY_POINTS:
        return ENTRY_POINTS[module]
    parts = module.split(".")
    if parts[0] != "iamledger":
        return None
    if parts[1:3] == ["domain", "policy"]:
        return "policy"
    if parts[1:2] and parts[1] in {"domain", "projections", "cli", "server"}:
        return parts[1]
    return "library"


@functools.cache
def _imported(path: Path) -> tuple[tuple[int, str], ...]:
    """Every module ``path`` imports, with its line; ``from package import module`` names the module."""
    return tuple(_walk_imports(path))


def _walk_imports(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.relative_to(ROOT)}:{node.lineno}: relative import"
            assert node.module is not None
            submodules = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in KNOWN_MODULES]
            yield node.lineno, node.module
            for submodule in submodules:
                yield node.lineno, submodule


def _imports(folder: Path) -> dict[str, set[str]]:
    return {
        str(path.relative_to(ROOT)): {module for _, module in _imported(path)}
        for path in folder.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _allowed(module: str, allowed_prefixes: tuple[str, ...]) -> bool:
    return module.split(".", maxsplit=1)[0] in STDLIB or any(
        module == prefix or module.startswith(prefix + ".") for prefix in allowed_prefixes
    )


def _crossings() -> list[tuple[str, int, str, str, str]]:
    """Every import of a later layer: (file, line, imported module, the file's layer, the module's layer)."""
    found = []
    for folder in PACKAGES:
        for path in _source_files(folder):
            own = _layer(_module_of(path))
            assert own is not None
            for line, module in _imported(path):
                theirs = _layer(module)
                if theirs is not None and theirs not in MAY_IMPORT[own]:
                    found.append((str(path.relative_to(ROOT)), line, module, own, theirs))
    return found


def test_every_source_file_is_in_a_layer():
    """Each of the five source folders holds modules, and each module has a layer (the test guards all of them)."""
    layers = {_layer(module) for module in KNOWN_MODULES}
    assert set(LAYERS) == layers
    assert set(MAY_IMPORT) == set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_itself_and_the_layers_inside_it(layer: str):
    offenders = [
        f"{path}:{line} imports {module} ({theirs}; {own} may import {', '.join(sorted(MAY_IMPORT[own]))})"
        for path, line, module, own, theirs in _crossings()
        if own == layer
    ]
    assert [] == offenders


def test_the_cli_and_the_server_never_import_each_other():
    offenders = [
        f"{path}:{line} imports {module}"
        for path, line, module, own, theirs in _crossings()
        if {own, theirs} == {"cli", "server"}
    ]
    assert [] == offenders


def test_python_dash_m_iamledger_goes_through_the_cli():
    """``iamledger/__main__.py`` is the cli layer's entry point: it imports the command, and nothing imports it."""
    main = ROOT / "iamledger" / "__main__.py"
    assert "iamledger.cli.main" in {module for _, module in _imported(main)}
    importers = [
        f"{path.relative_to(ROOT)}:{line}"
        for folder in (*PACKAGES, "tests")
        for path in _source_files(folder)
        for line, module in _imported(path)
        if module == "iamledger.__main__"
    ]
    assert [] == importers


@pytest.mark.parametrize("folder", [*PACKAGES, "tests"])
def test_nothing_imports_the_benchmarks(folder: str):
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _source_files(folder)
        for line, module in _imported(path)
        if module.split(".")[0] == "bench"
    ]
    assert [] == offenders


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
