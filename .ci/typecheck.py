"""Run mypy (strict, as configured in pyproject) on the library under its installed module names.

The source folders are mapped into one package by setuptools' package-dir (design.md section 1), which mypy cannot
read; this script lays out the same tree with symlinks in a temporary folder and checks it there.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping: dict[str, str] = setuptools["package-dir"]
    with tempfile.TemporaryDirectory(prefix="iamledger-mypy-") as tmp:
        top = Path(tmp) / "iamledger"
        top.mkdir()
        for entry in (ROOT / mapping["iamledger"]).iterdir():
            if entry.name != "__pycache__":
                (top / entry.name).symlink_to(entry)
        for package, folder in mapping.items():
            parts = package.split(".")
            if len(parts) == 2:  # noqa: PLR2004 - iamledger.<sub>
                (top / parts[1]).symlink_to(ROOT / folder)
        cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
        for package in mapping:  # each mapped folder once; mypy walks their sub-packages itself
            cmd += ["-p", package]
        return subprocess.run(cmd, cwd=tmp, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
