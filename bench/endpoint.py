"""Benchmark: the IAM endpoint (``iamledger serve --ephemeral``) against ``moto_server``, with boto3-signed calls.

Both servers are started on free loopback ports; client processes (this script with ``--drive``, one boto3 client
each, all starting at the same instant) then drive each server in turn with the same code, the same calls and the
same concurrency, and the run reports calls/s:

- the **read mix**: GetUser, ListUsers, GetRole, ListAttachedUserPolicies, GetPolicy, ListGroupsForUser,
  GetGroup, ListUserTags, over a small fixture (users in a group, a role, a managed policy attached to them);
- the **write mix**: CreateUser, TagUser, AttachUserPolicy, AddUserToGroup, RemoveUserFromGroup,
  DetachUserPolicy, DeleteUser, one fresh user per round.

iamledger authenticates every request (SigV4 with the store's keys), authorizes it with the store's policies and
records every write in the event log; moto checks neither signature nor policy. The target is iamledger at 3x moto's
rate or better: reported, never asserted.

    python bench/endpoint.py                    # 2,000 calls per mix and server, one client
    python bench/endpoint.py --clients 4        # four client processes per server (the same for both)
    python bench/endpoint.py --quick            # CI smoke run: 40 calls per mix, a few seconds
    python bench/endpoint.py --only iamledger   # skip moto (no ratio)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ACCESS_KEY_ID = "BENCHKEY"
ACCOUNT = "123456789012"
FIXTURE_USERS = 10
TARGET_RATIO = 3.0
MIXES = ("read", "write")
READ_CALLS = (
    "GetUser",
    "ListUsers",
    "GetRole",
    "ListAttachedUserPolicies",
    "GetPolicy",
    "ListGroupsForUser",
    "GetGroup",
    "ListUserTags",
)
WRITE_CALLS = (
    "CreateUser",
    "TagUser",
    "AttachUserPolicy",
    "AddUserToGroup",
    "RemoveUserFromGroup",
    "DetachUserPolicy",
    "DeleteUser",
)
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
)


# -- the servers -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{name} did not listen on port {port} within {timeout:.0f} s")


def executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} is not installed (pip install 'iamledger[bench]')")
    return found


@contextmanager
def server(name: str, secret: str) -> Iterator[tuple[str, int]]:
    """Start ``name`` (``iamledger`` or ``moto``) on a free loopback port; yields its URL and process id; stops it
    after."""
    port = free_port()
    if name == "iamledger":
        command = [
            executable("iamledger"),
            "serve",
            "--ephemeral",
            "--port",
            str(port),
            "--access-key-id",
            ACCESS_KEY_ID,
        ]
        env = {**os.environ, "IAMLEDGER_EPHEMERAL_SECRET_ACCESS_KEY": secret}
    else:
        command = [executable("moto_server"), "-H", "127.0.0.1", "-p", str(port)]
        env = dict(os.environ)
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: moto logs every request, and a full pipe blocks it
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            wait_for_port(port, process, name)
            yield f"http://127.0.0.1:{port}", process.pid
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.returncode not in {0, -15}:
                log.seek(0)
                print(log.read().decode(errors="replace")[-2000:], file=sys.stderr)


# -- the driver (a second process) -------------------------------------------------------------------------------


def client(url: str, secret: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=4),
    )


def setup_fixture(iam: Any, prefix: str) -> dict[str, Any]:
    """Users in a group with tags and an attached managed policy, and a role: what the read mix reads."""
    policy_arn = iam.create_policy(PolicyName=f"{prefix}-read", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.create_group(GroupName=f"{prefix}-group")
    iam.create_role(RoleName=f"{prefix}-role", AssumeRolePolicyDocument=TRUST)
    users = [f"{prefix}-user-{i}" for i in range(FIXTURE_USERS)]
    for user in users:
        iam.create_user(UserName=user, Tags=[{"Key": "team", "Value": "bench"}])
        iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
        iam.add_user_to_group(GroupName=f"{prefix}-group", UserName=user)
    return {"policy_arn": policy_arn, "users": users, "group": f"{prefix}-group", "role": f"{prefix}-role"}


def read_round(iam: Any, fixture: dict[str, Any], n: int, _thread: int) -> int:
    user = fixture["users"][n % len(fixture["users"])]
    iam.get_user(UserName=user)
    iam.list_users(MaxItems=20)
    iam.get_role(RoleName=fixture["role"])
    iam.list_attached_user_policies(UserName=user)
    iam.get_policy(PolicyArn=fixture["policy_arn"])
    iam.list_groups_for_user(UserName=user)
    iam.get_group(GroupName=fixture["group"])
    iam.list_user_tags(UserName=user)
    return len(READ_CALLS)


def write_round(iam: Any, fixture: dict[str, Any], n: int, thread: int) -> int:
    user = f"w{thread}-{n}-{secrets.token_hex(3)}"
    iam.create_user(UserName=user)
    iam.tag_user(UserName=user, Tags=[{"Key": "round", "Value": str(n)}])
    iam.attach_user_policy(UserName=user, PolicyArn=fixture["policy_arn"])
    iam.add_user_to_group(GroupName=fixture["group"], UserName=user)
    iam.remove_user_from_group(GroupName=fixture["group"], UserName=user)
    iam.detach_user_policy(UserName=user, PolicyArn=fixture["policy_arn"])
    iam.delete_user(UserName=user)
    return len(WRITE_CALLS)


ROUNDS: dict[str, Callable[[Any, dict[str, Any], int, int], int]] = {"read": read_round, "write": write_round}


def drive(url: str, secret: str, mix: str, calls: int, start_at: float, label: str) -> dict[str, Any]:
    """One client process: set up its fixture, wait for ``start_at`` (the wall-clock time every client starts at),
    then make ``calls`` calls of ``mix`` against ``url``; the calls made and when they started and ended."""
    iam = client(url, secret)
    fixture = setup_fixture(iam, f"b{secrets.token_hex(3)}")
    iam.get_user(UserName=fixture["users"][0])  # the connection is open and the model loaded before timing
    per_round = len(READ_CALLS if mix == "read" else WRITE_CALLS)
    rounds = max(1, calls // per_round)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    shown = started
    done = 0
    for n in range(rounds):
        done += ROUNDS[mix](iam, fixture, n, 0)
        now = time.time()
        if now - shown >= 2.0:
            shown = now
            print(f"  {label}: {done}/{rounds * per_round} calls, {done / (now - started):,.0f}/s", file=sys.stderr)
    return {"calls": done, "started": started, "ended": time.time()}


def cpu_seconds(pid: int) -> float | None:
    """The CPU time (user + system) process ``pid`` and its ended children have used; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def server_cpu(pid: int) -> float | None:
    """The CPU time of the server process and its live worker processes (``--workers``)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = children.read_text().split() if children.exists() else []
    return own + sum(cpu_seconds(int(kid)) or 0.0 for kid in kids)


def run_drivers(url: str, pid: int, mix: str, calls: int, clients: int, name: str) -> dict[str, Any]:
    """Drive ``url`` from ``clients`` client processes at once (``calls`` in all); the aggregate rate and the
    server's CPU time per call (which the load of other programs on the machine affects far less)."""
    start_at = time.time() + 4.0 + 0.5 * clients  # time for every client to start and set up its fixture
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--drive",
                url,
                "--mix",
                mix,
                "--calls",
                str(max(1, calls // clients)),
                "--start-at",
                str(start_at),
                "--label",
                f"{name} {mix} client {i + 1}/{clients}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(clients)
    ]
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = server_cpu(pid)
    results = []
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"a client of {name} failed (exit code {process.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    late = [r for r in results if r["started"] > start_at + 1.0]
    if late:
        print(f"  warning: {len(late)} client(s) of {name} started late (slow set-up)", file=sys.stderr)
    cpu_after = server_cpu(pid)
    total = sum(r["calls"] for r in results)
    cpu_ms = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / total
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    return {"mix": mix, "calls": total, "seconds": round(elapsed, 3), "rate": total / elapsed, "cpu_ms": cpu_ms}


# -- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 40 calls per mix, a few seconds")
    parser.add_argument("--calls", type=int, help="calls per mix and server (default 2000; --quick: 40)")
    parser.add_argument("--clients", type=int, default=1, help="client processes per server, the same for both")
    parser.add_argument("--only", choices=["iamledger", "moto"], help="drive one server only")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--mix", choices=MIXES, help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    calls = args.calls or (40 if args.quick else 2000)
    secret = os.environ.get("BENCH_SECRET", "")
    if args.drive:
        print(json.dumps(drive(args.drive, secret, args.mix, calls, args.start_at, args.label)))
        return 0
    secret = secrets.token_urlsafe(30)
    os.environ["BENCH_SECRET"] = secret
    names = [args.only] if args.only else ["iamledger", "moto"]
    results: dict[str, dict[str, float]] = {}
    cpus: dict[str, dict[str, float]] = {}
    print(
        f"endpoint benchmark: {calls} calls per mix and server, from {args.clients} boto3 client process(es)",
        flush=True,
    )
    for name in names:
        with server(name, secret) as (url, pid):
            print(f"{name} at {url}", flush=True)
            for mix in MIXES:
                result = run_drivers(url, pid, mix, calls, args.clients, name)
                results.setdefault(name, {})[mix] = result["rate"]
                cpu = result["cpu_ms"]
                if cpu is not None:
                    cpus.setdefault(name, {})[mix] = cpu
                cpu_text = f", server CPU {cpu:.2f} ms/call" if cpu is not None else ""
                print(
                    f"  {name:<10} {mix:<5} {result['rate']:8.1f} calls/s ({result['calls']} calls{cpu_text})",
                    flush=True,
                )
    print()
    print(f"{'calls/s':<14} {'iamledger':>10} {'moto':>10} {'ratio':>7}   server CPU ms/call: iamledger, moto, ratio")
    for mix in MIXES:
        print(f"{mix + ' mix':<14} {_row(results, mix)}   {_row(cpus, mix, inverse=True)}")
    for mix in MIXES:
        ours, theirs = results.get("iamledger", {}).get(mix), results.get("moto", {}).get(mix)
        if ours and theirs:
            verdict = "pass" if ours >= TARGET_RATIO * theirs else "FAIL"
            print(f"target {mix} mix: iamledger at {TARGET_RATIO:g}x moto's calls/s or more: {verdict}")
    if args.json:
        print(json.dumps({"calls_per_second": results, "server_cpu_ms_per_call": cpus}))
    return 0


def _row(values: dict[str, dict[str, float]], mix: str, *, inverse: bool = False) -> str:
    ours = values.get("iamledger", {}).get(mix)
    theirs = values.get("moto", {}).get(mix)
    ratio = "-"
    if ours and theirs:
        ratio = f"{(theirs / ours if inverse else ours / theirs):.2f}x"
    return f"{(f'{ours:,.1f}' if ours else '-'):>10} {(f'{theirs:,.1f}' if theirs else '-'):>10} {ratio:>7}"


if __name__ == "__main__":
    sys.exit(main())
