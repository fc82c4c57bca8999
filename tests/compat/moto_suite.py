# ruff: noqa: T201 - a script that reports on its standard output
"""Run moto's own IAM and STS test suite (server mode) against ``iamledger serve --ephemeral``.

A script, not a pytest module (no ``test_`` prefix)::

    python tests/compat/moto_suite.py [--cache-dir DIR] [--port N] [-k EXPR] [--show-passing-explained]

It downloads the sdist of the installed moto version with pip (into the cache directory: moto's code is never
copied into this repository), extracts moto's ``tests/test_iam`` and ``tests/test_sts`` with the package files they
import, starts ``iamledger serve --ephemeral`` on a free port, runs pytest on them with ``TEST_SERVER_MODE=true``
and prints passed / failed / skipped. The failures are then compared with ``moto-differences.toml`` (next to this
file: test id -> the reason moto's expectation differs from AWS's behaviour). The exit status is 1 when a failure is
not explained there or when an explained test now passes (so the list stays true), 2 when the run cannot start, 0
otherwise. See docs/moto-compatibility.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
DIFFERENCES = HERE / "moto-differences.toml"
NEEDED = {"moto": "moto[server]", "freezegun": "freezegun", "yaml": "pyyaml", "pytest": "pytest", "boto3": "boto3"}
EXTRACTED = ("tests/__init__.py", "tests/conftest.py", "tests/markers.py", "tests/test_iam/", "tests/test_sts/")

#: Whole files left out: they test other services or moto's own server, not IAM/STS.
EXCLUDED_FILES = {
    "tests/test_iam/test_iam_cloudformation.py": "needs CloudFormation (and S3): another service",
    "tests/test_iam/test_server.py": "tests moto's own Flask application, not the IAM API",
    "tests/test_sts/test_server.py": "tests moto's own Flask application, not the STS API",
}
#: Single tests left out: they call another service than IAM/STS.
EXCLUDED_TESTS = {
    "tests/test_iam/test_iam.py::test_role_config_client": "needs AWS Config: another service",
    "tests/test_iam/test_iam.py::test_policy_config_client": "needs AWS Config: another service",
    "tests/test_iam/test_iam_access_integration.py::test_invoking_ec2_mark_access_key_as_used": (
        "needs EC2: another service"
    ),
    "tests/test_sts/test_sts_integration.py::TestStsAssumeRole::test_dynamodb_supports_multiple_accounts": (
        "needs DynamoDB: another service"
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path.home() / ".cache" / "iamledger-moto-suite")
    parser.add_argument("--port", type=int, default=0, help="port of the endpoint (default: a free one)")
    parser.add_argument("-k", dest="keyword", help="only the tests matching this pytest -k expression")
    parser.add_argument("--report", type=Path, help="also write every test's outcome to this JSON file")
    parser.add_argument("--verbose-failures", action="store_true", help="print the message of every failure")
    args = parser.parse_args(argv)

    missing = [pip for module, pip in NEEDED.items() if not _importable(module)]
    if missing:
        print(f"missing: {' '.join(missing)}; install with: pip install {' '.join(repr(m) for m in missing)}")
        return 2
    version = importlib.metadata.version("moto")
    try:
        differences = load_differences(DIFFERENCES)
    except (OSError, ValueError, TypeError) as err:
        print(f"cannot read {DIFFERENCES}: {err}")
        return 2
    root = prepare_sources(args.cache_dir, version)

    for path, reason in {**EXCLUDED_FILES, **EXCLUDED_TESTS}.items():
        print(f"excluded {path}: {reason}")
    with tempfile.TemporaryDirectory(prefix="moto-suite-") as scratch:
        report = Path(scratch) / "report.json"
        server, endpoint, log = start_server(args.port, Path(scratch) / "server.log")
        try:
            pytest_rc = run_pytest(root, endpoint, report, args.keyword)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            log.close()
        if not report.exists():
            print(f"pytest wrote no report (exit status {pytest_rc})")
            return 2
        data = json.loads(report.read_text(encoding="utf-8"))
    if args.report:
        args.report.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    return compare(version, data["outcomes"], data["messages"], differences, verbose=args.verbose_failures)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def load_differences(path: Path) -> dict[str, tuple[str, str]]:
    """Test id -> (group, reason), from the TOML file's tables (one table per group of reasons)."""
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    result: dict[str, tuple[str, str]] = {}
    for group, entries in table.items():
        if not isinstance(entries, dict):
            raise TypeError(f"{group!r} should be a table of test id = reason")
        for test_id, reason in entries.items():
            if not isinstance(reason, str) or not reason.strip():
                raise ValueError(f"{test_id!r}: the reason should be a one-line string")
            if test_id in result:
                raise ValueError(f"{test_id!r} is listed twice")
            result[test_id] = (group, reason)
    return result


def prepare_sources(cache_dir: Path, version: str) -> Path:
    """Download moto's sdist once (pip, no binary) and extract the IAM/STS tests; return the extracted root."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    root = cache_dir / f"moto-{version}"
    if (root / "tests" / "test_iam").is_dir():
        return root
    sdist = cache_dir / f"moto-{version}.tar.gz"
    if not sdist.exists():
        print(f"downloading moto {version}'s sdist into {cache_dir}")
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", f"moto=={version}"),
                *("--dest", str(cache_dir), "--quiet"),
            ],
            check=True,
        )
    prefix = f"moto-{version}/"
    with tarfile.open(sdist) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith(prefix) and m.name[len(prefix) :].startswith(EXTRACTED) and (m.isfile() or m.isdir())
        ]
        tar.extractall(cache_dir, members=members, filter="data")
    return root


def start_server(port: int, log_path: Path) -> tuple[subprocess.Popen[str], str, IO[str]]:
    """Start ``iamledger serve --ephemeral`` with moto's fake credentials; return it and its URL."""
    log = log_path.open("w", encoding="utf-8")
    command = [sys.executable, "-m", "iamledger", "serve", "--ephemeral", "--port", str(port)]
    command += ["--access-key-id", "FOOBARKEY", "--secret-access-key", "FOOBARSECRET"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True)
    assert server.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = server.stdout.readline()
        if not line:
            break
        match = re.search(r"iamledger endpoint: (http://\S+?)/? ", line)
        if match:
            threading.Thread(target=server.stdout.read, daemon=True).start()  # keep the pipe drained
            print(f"iamledger endpoint at {match.group(1)} (server log: {log_path})")
            return server, match.group(1), log
    server.kill()
    log.close()
    raise SystemExit(f"iamledger serve did not start; see {log_path}:\n{log_path.read_text(encoding='utf-8')}")


def run_pytest(root: Path, endpoint: str, report: Path, keyword: str | None) -> int:
    env = dict(os.environ)
    env.update(
        TEST_SERVER_MODE="true",
        TEST_SERVER_MODE_ENDPOINT=endpoint,
        MOTO_SUITE_REPORT=str(report),
        PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), str(root), env.get("PYTHONPATH", "")])),
    )
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider"]
    command += ["-p", "moto_report_plugin", "--tb=no", "--no-header", "-o", "addopts=", "--rootdir", str(root)]
    command += ["--confcutdir", str(root)]
    for path in EXCLUDED_FILES:
        command += ["--ignore", path]
    for test_id in EXCLUDED_TESTS:
        command += ["--deselect", test_id]
    if keyword:
        command += ["-k", keyword]
    command += ["tests/test_iam", "tests/test_sts"]
    return subprocess.run(command, cwd=root, env=env, check=False).returncode


def compare(
    version: str,
    outcomes: dict[str, str],
    messages: dict[str, str],
    differences: dict[str, tuple[str, str]],
    *,
    verbose: bool,
) -> int:
    """Print the figures and the failures the differences list does not explain; the exit status."""
    counts = {k: sum(1 for v in outcomes.values() if v == k) for k in ("passed", "failed", "skipped")}
    failed = sorted(t for t, v in outcomes.items() if v == "failed")
    unexplained = [t for t in failed if t not in differences]
    now_passing = sorted(t for t, v in outcomes.items() if v == "passed" and t in differences)
    by_group: dict[str, int] = {}
    for test_id in failed:
        if test_id in differences:
            group = differences[test_id][0]
            by_group[group] = by_group.get(group, 0) + 1
    print()
    if verbose:
        for test_id in failed:
            reason = differences[test_id][1] if test_id in differences else "UNEXPLAINED"
            print(f"failed {test_id}: {messages.get(test_id, '')}\n    -> {reason}")
    for test_id in unexplained:
        print(f"UNEXPLAINED failure {test_id}: {messages.get(test_id, '')}")
    for test_id in now_passing:
        print(f"NOW PASSES (remove it from moto-differences.toml) {test_id}")
    print("explained failures by group: " + ", ".join(f"{g}: {n}" for g, n in sorted(by_group.items())))
    total = sum(counts.values())
    excluded = len(EXCLUDED_FILES) + len(EXCLUDED_TESTS)
    print(
        f"moto {version} IAM/STS server-mode suite against iamledger: {counts['passed']} passed, "
        f"{counts['failed']} failed ({len(failed) - len(unexplained)} explained, {len(unexplained)} unexplained), "
        f"{counts['skipped']} skipped, of {total} run; {excluded} files/tests excluded; "
        f"{len(now_passing)} explained tests now pass"
    )
    return 1 if unexplained or now_passing else 0


if __name__ == "__main__":
    sys.exit(main())
