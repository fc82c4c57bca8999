"""The package layout guards of design.md section 1."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _declared_packages() -> dict[str, str]:
    """Package name -> source folder, as setuptools will install them."""
    setuptools = PYPROJECT["tool"]["setuptools"]
    mapping: dict[str, str] = setuptools["package-dir"]
    result = {}
    for package in setuptools["packages"]:
        parts = package.split(".")
        for i in range(len(parts), 0, -1):
            prefix = ".".join(parts[:i])
            if prefix in mapping:
                result[package] = "/".join([mapping[prefix], *parts[i:]])
                break
    return result


def test_every_folder_with_init_py_is_a_declared_package():
    """Remapped packages are not auto-discovered: a sub-package missing from pyproject would not be installed."""
    declared = set(_declared_packages().values())
    top_folders = {source.split("/")[0] for source in declared}
    found = {
        str(init.parent.relative_to(ROOT))
        for folder in top_folders
        for init in (ROOT / folder).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found == declared


def test_declared_packages_import_under_the_iamledger_name():
    import importlib

    for package in _declared_packages():
        module = importlib.import_module(package)
        assert module.__name__ == package


@pytest.mark.slow
def test_wheel_installs_nothing_but_iamledger_at_the_top_level(tmp_path: Path):
    """`pip install .` must not put generic `domain`, `projections` or `cli` packages into site-packages."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("iamledger-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top_level = {name.split("/")[0] for name in archive.namelist()}
        names = archive.namelist()
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"iamledger"}
    assert "iamledger/domain/accounts.py" in names
    assert "iamledger/py.typed" in names


def test_python_dash_m_iamledger_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "iamledger", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("iamledger ")
