"""Run the ``iamledger`` command in process, as a user would type it, and capture what it prints."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
import structlog

from iamledger.cli.main import main


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    try:
        main(list(args))
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else 1
    else:  # pragma: no cover - main always exits
        code = 0
    out, err = capsys.readouterr()
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    return Result(code, out, err)
