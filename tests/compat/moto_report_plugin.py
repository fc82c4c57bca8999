"""A pytest plugin for ``moto_suite.py``: writes each test's outcome to the JSON file named by $MOTO_SUITE_REPORT.

Loaded with ``-p moto_report_plugin`` (this folder on PYTHONPATH) in the pytest process that runs moto's tests.
"""

import json
import os
from pathlib import Path
from typing import Any

_outcomes: dict[str, str] = {}
_messages: dict[str, str] = {}


def pytest_runtest_logreport(report: Any) -> None:
    """Record one test's outcome: a failure in any phase (setup, call, teardown) makes the test failed."""
    nodeid: str = report.nodeid
    if report.failed:
        _outcomes[nodeid] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        text = str(crash.message) if crash is not None else str(report.longrepr)
        _messages[nodeid] = (text.splitlines() or [""])[0][:300]
    elif report.skipped:
        _outcomes.setdefault(nodeid, "skipped")
    elif report.when == "call":
        _outcomes.setdefault(nodeid, "passed")


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    """Write the outcomes once the run ends."""
    path = os.environ.get("MOTO_SUITE_REPORT")
    if path:
        with Path(path).open("w", encoding="utf-8") as out:
            json.dump({"outcomes": _outcomes, "messages": _messages}, out, indent=1, sort_keys=True)
