"""`bench/endpoint.py --quick` against iamledger alone (moto is the bench extra, not a test extra): the default,
pre-signed load generator captures boto3's signed requests, replays them and gets only 2xx answers."""

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
def test_endpoint_bench_smoke_replays_presigned_calls_without_errors():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "endpoint.py"), "--quick", "--only", "iamledger", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "from 1 presigned client process(es)" in done.stdout
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["client"] == "presigned"
    assert result["errors"] == {"iamledger": {"read": 0, "write": 0}}
    assert set(result["calls_per_second"]["iamledger"]) == {"read", "write"}
    assert all(rate > 0 for rate in result["calls_per_second"]["iamledger"].values())
