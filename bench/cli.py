"""Benchmark: the ``iamledger`` command's start-up, against ``aws --version`` timed in the same run.

Each figure is the median wall time of several cold starts (a new process each, its output thrown away) of:

- ``aws --version``: the reference, the aws CLI (the ``aws`` on PATH) starting and doing nothing;
- ``iamledger --version`` and ``iamledger --help``: the command starting and doing nothing (no store imported);
- ``iamledger iam list-users`` and ``iamledger iam get-user``: reads on a small store (a SQLite file with a few
  users, made first by ``iamledger init`` and ``iam create-user``).

The commands take turns round by round, so that a machine whose speed drifts slows them all alike. Before the
timed rounds each command runs once untimed, with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` unset for the
children): an installed package has its ``.pyc`` files, and a source tree gets them on that first run, so that the
timed runs measure starting, not compiling. The targets (issue 21): ``iamledger --version`` no slower than
``aws --version`` (ratio <= 1.0) and a read no slower than 1.5 times it; they are reported, never asserted. Without
an ``aws`` command the figures are printed without ratios.

    python bench/cli.py              # 15 timed runs of each command
    python bench/cli.py --runs 31    # more runs
    python bench/cli.py --quick      # CI smoke run: 2 timed runs each
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

USERS = 5
TARGETS = {"iamledger --version": 1.0, "iamledger iam list-users": 1.5, "iamledger iam get-user": 1.5}


@dataclass(frozen=True)
class Case:
    """One command line to time."""

    label: str
    argv: list[str]


def iamledger_script() -> str:
    """The ``iamledger`` console script of this interpreter's environment (else the one on PATH)."""
    beside = Path(sys.executable).with_name("iamledger")
    found = str(beside) if beside.exists() else shutil.which("iamledger")
    if found is None:
        sys.exit("bench/cli.py: no `iamledger` command (pip install -e .)")
    return found


def child_environment(store: Path, key: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["IAMLEDGER_DB"] = f"sqlite:///{store}"
    env["IAMLEDGER_MASTER_KEY_FILE"] = str(key)
    return env


def run(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    """One cold start of ``argv``: its wall time in seconds (a failure stops the benchmark)."""
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench/cli.py: `{' '.join(argv)}` failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
    return elapsed


def make_store(script: str, env: dict[str, str], cwd: Path) -> None:
    run([script, "init", "--account-id", "123456789012"], env, cwd)
    for n in range(USERS):
        run([script, "iam", "create-user", "--user-name", f"user{n}"], env, cwd)


def cases(script: str, aws: str | None) -> list[Case]:
    found = [Case("aws --version", [aws, "--version"])] if aws is not None else []
    return [
        *found,
        Case("iamledger --version", [script, "--version"]),
        Case("iamledger --help", [script, "--help"]),
        Case("iamledger iam list-users", [script, "iam", "list-users"]),
        Case("iamledger iam get-user", [script, "iam", "get-user", "--user-name", "user0"]),
    ]


def measure(all_cases: list[Case], runs: int, env: dict[str, str], cwd: Path) -> dict[str, list[float]]:
    """Each case once untimed, then ``runs`` timed rounds in which every case runs once, in turn."""
    for case in all_cases:
        run(case.argv, env, cwd)
    times: dict[str, list[float]] = {case.label: [] for case in all_cases}
    for _ in range(runs):
        for case in all_cases:
            times[case.label].append(run(case.argv, env, cwd))
    return times


def report(times: dict[str, list[float]], reference: str | None) -> None:
    base = statistics.median(times[reference]) if reference is not None else None
    print(f"{'command':<28} {'min s':>7} {'median s':>9} {'max s':>7} {'ratio':>7}  target")
    for label, samples in times.items():
        median = statistics.median(samples)
        ratio = f"{median / base:.2f}x" if base else "-"
        target = TARGETS.get(label)
        verdict = ""
        if target is not None and base:
            verdict = f"<= {target:.1f}x: {'met' if median / base <= target else 'NOT met'}"
        print(f"{label:<28} {min(samples):>7.3f} {median:>9.3f} {max(samples):>7.3f} {ratio:>7}  {verdict}")
    if reference is None:
        print("no `aws` command on PATH: figures without the aws CLI's ratio (pip install awscli to compare)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="Timed runs of each command (default 15).")
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 2 timed runs of each command.")
    args = parser.parse_args(argv)
    runs = 2 if args.quick else max(1, args.runs)
    script = iamledger_script()
    aws = shutil.which("aws")
    with tempfile.TemporaryDirectory(prefix="iamledger-bench-cli-") as tmp:
        cwd = Path(tmp)
        env = child_environment(cwd / "store.db", cwd / "master.key")
        make_store(script, env, cwd)
        all_cases = cases(script, aws)
        print(f"{runs} cold starts of each command (median of each), {USERS} users in the store")
        times = measure(all_cases, runs, env, cwd)
    report(times, "aws --version" if aws is not None else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
