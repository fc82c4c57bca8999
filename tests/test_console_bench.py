"""`bench/console.py --quick`: a small generated account, every console page asked for as a signed-in auditor, each
answered 200 (the times are reported, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Under CI's wheel run the tests are copied away from the sources; IAMLEDGER_SOURCE_ROOT points back at them.
ROOT = Path(os.environ.get("IAMLEDGER_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)


@pytest.mark.slow
def test_console_bench_smoke_answers_every_page(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "IAMLEDGER_MASTER_KEY_FILE": str(tmp_path / "master.key")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "console.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout)
    assert len(results) >= 10
    for name, figures in results.items():
        assert figures["status"] == [200], name
        assert figures["p50_ms"] > 0
