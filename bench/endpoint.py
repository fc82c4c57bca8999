"""Benchmark: the IAM endpoint (``iamledger serve --ephemeral``) against ``moto_server``, with boto3-signed calls.

Both servers are started on free loopback ports; client processes (this script with ``--drive``, all starting at the
same instant once every one of them is ready) then drive each server in turn with the same code, the same calls and
the same concurrency, and the run reports calls/s and the server's CPU time per call. Each mix's calls are split into
slices (``--slices``, default 4) and the servers take turns slice by slice: the machine's speed drifts by a fifth and
more over tens of seconds, and taking turns puts both servers through the same drift (the per-slice ratios are shown,
so the spread is visible). The mixes:

- the **read mix**: GetUser, ListUsers, GetRole, ListAttachedUserPolicies, GetPolicy, ListGroupsForUser,
  GetGroup, ListUserTags, over a small fixture (users in a group, a role, a managed policy attached to them);
- the **write mix**: CreateUser, TagUser, AttachUserPolicy, AddUserToGroup, RemoveUserFromGroup,
  DetachUserPolicy, DeleteUser, one fresh user per round.

The load generator is pre-signed (``--client presigned``, the default), so that the run measures the servers and not
boto3: a boto3 call costs its client CPU of its own (serialise, sign, send, parse the XML), which caps what one
client can push whatever the server does, and on a small machine takes CPU from the server too. Before the timed
phase each client process builds its whole call sequence with a real boto3 client (the same endpoint, credentials,
region, calls and parameters; the write mix's user names fixed in advance) and keeps each *signed* request instead
of sending it: a ``before-send.iam.*`` handler on the client's event system stores the ``AWSPreparedRequest``
(method, URL, headers, body) and stops the send. The timed phase then replays those exact requests, serialised to
bytes as ``http.client`` would send them, in order over one keep-alive connection per client process (a lean client,
:class:`Connection`: ``http.client`` itself cost about 0.25 ms of client CPU a call), reads every response in full,
and counts each non-2xx answer as an error (any error fails the run, with the first error body shown); the first
answer to each operation is parsed to check it is that operation's ``<{Operation}Response``. SigV4 signatures are
valid for 15 minutes, so a replay stops (with a warning) 10 minutes after its first signature. Each server's line
shows the clients' own CPU time per call too.

``--client boto3`` keeps the former load generator: every call a full boto3 call, its client CPU included.

iamledger authenticates every request (SigV4 with the store's keys), authorizes it with the store's policies and
records every write in the event log; moto checks neither signature nor policy. The target is iamledger at 3x moto's
rate or better: reported, never asserted.

    python bench/endpoint.py                    # 2,000 calls per mix and server, one pre-signed client
    python bench/endpoint.py --client boto3     # the same with full boto3 calls (client CPU included)
    python bench/endpoint.py --clients 4        # four client processes per server (the same for both)
    python bench/endpoint.py --quick            # CI smoke run: 40 calls per mix, a few seconds
    python bench/endpoint.py --only iamledger   # skip moto (no ratio)
    python bench/endpoint.py --slices 1         # each server's calls in one go (iamledger's, then moto's)
"""

from __future__ import annotations

import argparse
import contextlib
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

ACCESS_KEY_ID = "BENCHKEY"
ACCOUNT = "123456789012"
FIXTURE_USERS = 10
TARGET_RATIO = 3.0
DEFAULT_SLICES = 4
MIXES = ("read", "write")
CLIENT_MODES = ("presigned", "boto3")
SIGNATURE_BUDGET = 600.0  # seconds of replay after the first signature (SigV4 allows 15 minutes of skew)
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


@dataclass(frozen=True)
class Signed:
    """One request exactly as boto3 would have sent it (signature included)."""

    operation: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Captured(Exception):
    """Raised by the ``before-send`` handler once it has kept the signed request."""


class _Capturing:
    """Stands for a boto3 client in ``read_round`` / ``write_round``: each call builds and signs its request (kept by
    the client's ``before-send`` handler), which is not sent."""

    def __init__(self, iam: Any) -> None:
        self._iam = iam

    def __getattr__(self, name: str) -> Callable[..., dict[str, Any]]:
        method = getattr(self._iam, name)

        def call(**params: Any) -> dict[str, Any]:
            try:
                method(**params)
            except _Captured:
                return {}
            raise RuntimeError(f"{name} was sent instead of captured")

        return call


def capture(iam: Any, fixture: dict[str, Any], mix: str, rounds: int) -> list[Signed]:
    """The signed requests of ``rounds`` rounds of ``mix``, built by the boto3 client ``iam`` but not sent; the
    first is an extra GetUser that opens the connection before timing."""
    kept: list[Signed] = []

    def keep(request: Any, event_name: str, **_: Any) -> None:
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        split = urlsplit(request.url)
        path = (split.path or "/") + (f"?{split.query}" if split.query else "")
        headers = {k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()}
        kept.append(Signed(event_name.rsplit(".", 1)[1], request.method, path, headers, bytes(body)))
        raise _Captured

    iam.meta.events.register("before-send.iam.*", keep)
    try:
        proxy = _Capturing(iam)
        proxy.get_user(UserName=fixture["users"][0])
        for n in range(rounds):
            ROUNDS[mix](proxy, fixture, n, 0)
    finally:
        iam.meta.events.unregister("before-send.iam.*", keep)
    return kept


class Connection:
    """A keep-alive HTTP/1.1 client connection that sends requests serialised in advance (:meth:`wire`) and reads
    each answer's status line, the headers it needs (``Content-Length``, ``Transfer-Encoding``, ``Connection``) and
    the whole body: what a load generator such as wrk does, so that a call costs the client a few tens of
    microseconds (``http.client`` cost about a quarter of a millisecond a call, most of it parsing headers with the
    ``email`` package). It reconnects when the server closed the connection (``Connection: close``, or closed while
    idle), as ``http.client`` and urllib3 do."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None
        self.buffer = b""

    def wire(self, request: Signed) -> bytes:
        """``request`` as the bytes ``http.client`` would send for it (it adds ``Host``, ``Accept-Encoding`` and
        ``Content-Length`` when absent)."""
        names = {name.lower() for name in request.headers}
        headers = list(request.headers.items())
        if "host" not in names:
            host, port = self.address
            headers.insert(0, ("Host", host if port == 80 else f"{host}:{port}"))
        if "accept-encoding" not in names:
            headers.append(("Accept-Encoding", "identity"))
        if "content-length" not in names and (request.body or request.method in {"POST", "PUT", "PATCH"}):
            headers.append(("Content-Length", str(len(request.body))))
        head = f"{request.method} {request.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers)
        return head.encode("latin-1") + b"\r\n" + request.body

    def exchange(self, wire: bytes) -> tuple[int, bytes]:
        """Send one serialised request; the answer's status and body (reconnecting once if the server had closed
        the connection before answering)."""
        for attempt in (1, 2):
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=120)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(wire)
                return self._answer()
            except (ConnectionError, _Closed):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _recv(self) -> bytes:
        assert self.sock is not None  # noqa: S101 - connected by exchange
        data = self.sock.recv(65536)
        if not data:
            raise _Closed
        return data

    def _answer(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        status_line, *lines = head.split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        fields = {}
        for line in lines:
            name, _, value = line.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = self._chunked()
        elif b"content-length" in fields:
            length = int(fields[b"content-length"])
            while len(self.buffer) < length:
                self.buffer += self._recv()
            body, self.buffer = self.buffer[:length], self.buffer[length:]
        else:  # the body runs to the end of the connection
            chunks = [self.buffer]
            try:
                while True:
                    chunks.append(self._recv())
            except _Closed:
                pass
            self.close()
            return status, b"".join(chunks)
        if fields.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, body

    def _chunked(self) -> bytes:
        parts = []
        while True:
            while b"\r\n" not in self.buffer:
                self.buffer += self._recv()
            size_line, _, self.buffer = self.buffer.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(self.buffer) < size + 2:
                self.buffer += self._recv()
            if size == 0:  # no trailers expected from these servers
                self.buffer = self.buffer[2:]
                return b"".join(parts)
            parts.append(self.buffer[:size])
            self.buffer = self.buffer[size + 2 :]


class _Closed(Exception):
    """The server closed the connection."""


def check_answer(operation: str, body: bytes, label: str) -> None:
    """Fail unless ``body`` is an XML ``<{operation}Response>`` (proof that the replayed call was really answered)."""
    try:
        tag = ET.fromstring(body).tag  # noqa: S314 - the answer of a server this script started
    except ET.ParseError as error:
        raise SystemExit(f"{label}: the answer to {operation} is not XML ({error}): {body[:500]!r}") from None
    if tag.rsplit("}", 1)[-1] != f"{operation}Response":
        raise SystemExit(f"{label}: the answer to {operation} is <{tag}>, not <{operation}Response>: {body[:500]!r}")


def replay(url: str, requests: Sequence[Signed], start_at: float, deadline: float, label: str) -> dict[str, Any]:
    """Send the warm-up request, wait for ``start_at``, then send ``requests[1:]`` in order over one keep-alive
    connection (stopping at ``deadline``, before the signatures expire); the calls made, when they started and
    ended, the non-2xx answers and the first one's body."""
    split = urlsplit(url)
    connection = Connection(split.hostname or "127.0.0.1", split.port or 80)
    wires = [connection.wire(request) for request in requests]
    status, body = connection.exchange(wires[0])
    if not 200 <= status < 300:
        raise SystemExit(f"{label}: the warm-up {requests[0].operation} failed: HTTP {status}: {body[:2000]!r}")
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    cpu_started = time.process_time()
    shown = started
    done = errors = 0
    first_error: str | None = None
    samples: dict[str, bytes] = {}
    for request, wire in zip(requests[1:], wires[1:], strict=True):
        if time.time() > deadline:
            print(f"  {label}: stopped after {done} calls, the signatures are about to expire", file=sys.stderr)
            break
        status, body = connection.exchange(wire)
        done += 1
        if not 200 <= status < 300:
            errors += 1
            if first_error is None:
                first_error = f"{request.operation}: HTTP {status}: {body[:2000].decode(errors='replace')}"
        elif request.operation not in samples:
            samples[request.operation] = body
        now = time.time()
        if now - shown >= 2.0:
            shown = now
            print(f"  {label}: {done}/{len(requests) - 1} calls, {done / (now - started):,.0f}/s", file=sys.stderr)
    ended = time.time()
    cpu_used = time.process_time() - cpu_started
    connection.close()
    for operation, answer in samples.items():
        check_answer(operation, answer, label)
    return {
        "calls": done,
        "started": started,
        "ended": ended,
        "client_cpu": cpu_used,
        "errors": errors,
        "first_error": first_error,
    }


def drive(url: str, secret: str, mode: str, mix: str, calls: int, label: str) -> dict[str, Any]:
    """One client process: set up its fixture (and, pre-signed, build and sign its calls), say ``ready`` on stdout,
    read the wall-clock time every client starts at from stdin, then make ``calls`` calls of ``mix`` against
    ``url``; the calls made, when they started and ended, and the errors."""
    iam = client(url, secret)
    fixture = setup_fixture(iam, f"b{secrets.token_hex(3)}")
    per_round = len(READ_CALLS if mix == "read" else WRITE_CALLS)
    rounds = max(1, calls // per_round)
    signed: list[Signed] = []
    signed_at = time.time()
    if mode == "presigned":
        signed = capture(iam, fixture, mix, rounds)
    else:
        iam.get_user(UserName=fixture["users"][0])  # the connection is open and the model loaded before timing
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    if mode == "presigned":
        return replay(url, signed, start_at, signed_at + SIGNATURE_BUDGET, label)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.time()
    cpu_started = time.process_time()
    shown = started
    done = 0
    for n in range(rounds):
        done += ROUNDS[mix](iam, fixture, n, 0)
        now = time.time()
        if now - shown >= 2.0:
            shown = now
            print(f"  {label}: {done}/{rounds * per_round} calls, {done / (now - started):,.0f}/s", file=sys.stderr)
    ended = time.time()
    return {
        "calls": done,
        "started": started,
        "ended": ended,
        "client_cpu": time.process_time() - cpu_started,
        "errors": 0,
        "first_error": None,
    }


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


def run_drivers(url: str, pid: int, mode: str, mix: str, calls: int, clients: int, name: str) -> dict[str, Any]:
    """Drive ``url`` from ``clients`` client processes at once (``calls`` in all), started together once each is
    ready; the aggregate rate, the errors and the server's CPU time per call (which the load of other programs on
    the machine affects far less)."""
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--drive",
                url,
                "--client",
                mode,
                "--mix",
                mix,
                "--calls",
                str(max(1, calls // clients)),
                "--label",
                f"{name} {mix} client {i + 1}/{clients}",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(clients)
    ]
    try:
        for process in processes:
            if process.stdout is None or process.stdout.readline().strip() != "ready":
                raise SystemExit(f"a client of {name} failed before it was ready (exit code {process.wait()})")
        start_at = time.time() + 0.5
        for process in processes:
            if process.stdin is not None:
                process.stdin.write(f"{start_at}\n")
                process.stdin.flush()
        time.sleep(max(0.0, start_at - time.time()))
        cpu_before = server_cpu(pid)
        results = []
        for process in processes:
            out, _ = process.communicate()
            if process.returncode != 0:
                raise SystemExit(f"a client of {name} failed (exit code {process.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    cpu_after = server_cpu(pid)
    late = [r for r in results if r["started"] > start_at + 1.0]
    if late:
        print(f"  warning: {len(late)} client(s) of {name} started late", file=sys.stderr)
    total = sum(r["calls"] for r in results)
    cpu_ms = None if cpu_before is None or cpu_after is None else (cpu_after - cpu_before) * 1000 / total
    elapsed = max(r["ended"] for r in results) - min(r["started"] for r in results)
    errors = sum(r["errors"] for r in results)
    first_error = next((r["first_error"] for r in results if r["first_error"]), None)
    return {
        "mix": mix,
        "calls": total,
        "seconds": round(elapsed, 3),
        "rate": total / elapsed,
        "cpu_ms": cpu_ms,
        "client_cpu_ms": sum(r["client_cpu"] for r in results) * 1000 / max(1, total),
        "errors": errors,
        "first_error": first_error,
    }


@dataclass
class Totals:
    """One server's results for one mix, summed over its slices."""

    calls: int = 0
    seconds: float = 0.0
    cpu_ms: float | None = 0.0
    """Server CPU time in all (ms), or None where it cannot be read."""
    errors: int = 0
    first_error: str | None = None
    client_cpu_ms: float = 0.0
    """The client processes' CPU time in all (ms): what the load generator itself costs."""

    def add(self, result: dict[str, Any]) -> None:
        self.client_cpu_ms += result["client_cpu_ms"] * result["calls"]
        self.calls += result["calls"]
        self.seconds += result["seconds"]
        self.errors += result["errors"]
        self.first_error = self.first_error or result["first_error"]
        cpu = result["cpu_ms"]
        self.cpu_ms = None if cpu is None or self.cpu_ms is None else self.cpu_ms + cpu * result["calls"]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        cpu = "" if self.cpu_ms is None else f", server CPU {self.cpu_ms / max(1, self.calls):.2f} ms/call"
        cpu += f", client CPU {self.client_cpu_ms / max(1, self.calls):.2f} ms/call"
        errors = f", {self.errors} ERRORS" if self.errors else ""
        return f"{self.rate:8.1f} calls/s ({self.calls} calls{cpu}{errors})"


def run_mix(
    servers: dict[str, tuple[str, int]], mode: str, mix: str, calls: int, clients: int, slices: int
) -> tuple[dict[str, Totals], list[float]]:
    """Drive each of ``servers`` with ``calls`` calls of ``mix`` in ``slices`` slices, the servers taking turns
    slice by slice (the machine's speed drifts over seconds: each server then meets the same drift); each server's
    totals, and iamledger's ratio to moto in each slice (when both ran)."""
    totals = {name: Totals() for name in servers}
    ratios = []
    for index in range(slices):
        share = calls // slices + (1 if index < calls % slices else 0)
        rates = {}
        for name, (url, pid) in servers.items():
            result = run_drivers(url, pid, mode, mix, share, clients, name)
            totals[name].add(result)
            rates[name] = result["rate"]
        if "iamledger" in rates and "moto" in rates:
            ratios.append(rates["iamledger"] / rates["moto"])
    return totals, ratios


# -- main --------------------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke run: 40 calls per mix, a few seconds")
    parser.add_argument("--calls", type=int, help="calls per mix and server (default 2000; --quick: 40)")
    parser.add_argument("--clients", type=int, default=1, help="client processes per server, the same for both")
    parser.add_argument(
        "--client",
        choices=CLIENT_MODES,
        default="presigned",
        help="presigned (default): replay requests boto3 signed before timing, over a lean keep-alive connection; "
        "boto3: a full boto3 call each time (its client CPU included)",
    )
    parser.add_argument("--only", choices=["iamledger", "moto"], help="drive one server only")
    parser.add_argument(
        "--slices",
        type=int,
        help=f"split each mix's calls into this many slices per server, the servers taking turns slice by slice, so "
        f"that both meet the same machine (default {DEFAULT_SLICES}; --quick: 1)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--drive", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--mix", choices=MIXES, help=argparse.SUPPRESS)
    parser.add_argument("--label", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    calls = args.calls or (40 if args.quick else 2000)
    secret = os.environ.get("BENCH_SECRET", "")
    if args.drive:
        print(json.dumps(drive(args.drive, secret, args.client, args.mix, calls, args.label)))
        return 0
    secret = secrets.token_urlsafe(30)
    os.environ["BENCH_SECRET"] = secret
    names = [args.only] if args.only else ["iamledger", "moto"]
    slices = max(1, min(args.slices or (1 if args.quick else DEFAULT_SLICES), calls))
    results: dict[str, dict[str, float]] = {}
    cpus: dict[str, dict[str, float]] = {}
    errors: dict[str, dict[str, int]] = {}
    first_error: str | None = None
    print(
        f"endpoint benchmark: {calls} calls per mix and server, from {args.clients} {args.client} client process(es), "
        f"in {slices} slice(s) per server taken in turn",
        flush=True,
    )
    with contextlib.ExitStack() as stack:
        servers = {name: stack.enter_context(server(name, secret)) for name in names}
        for name, (url, _) in servers.items():
            print(f"{name} at {url}", flush=True)
        for mix in MIXES:
            totals, ratios = run_mix(servers, args.client, mix, calls, args.clients, slices)
            for name, total in totals.items():
                results.setdefault(name, {})[mix] = total.rate
                errors.setdefault(name, {})[mix] = total.errors
                if total.cpu_ms is not None:
                    cpus.setdefault(name, {})[mix] = total.cpu_ms / max(1, total.calls)
                if first_error is None and total.first_error:
                    first_error = f"{name} {mix} mix: {total.first_error}"
                print(f"  {name:<10} {mix:<5} {total.describe()}", flush=True)
            if len(ratios) > 1:
                print(f"  {mix} ratio per slice: {', '.join(f'{r:.2f}x' for r in ratios)}", flush=True)
    summary(args.client, results, cpus, errors, as_json=args.json)
    if first_error is not None:
        failed = sum(n for by_mix in errors.values() for n in by_mix.values())
        print(f"{failed} call(s) failed; the first: {first_error}", file=sys.stderr)
        return 1
    return 0


def summary(
    mode: str,
    results: dict[str, dict[str, float]],
    cpus: dict[str, dict[str, float]],
    errors: dict[str, dict[str, int]],
    *,
    as_json: bool,
) -> None:
    """The final table (which client mode ran, calls/s, server CPU per call, ratios) and the target lines."""
    print()
    print(f"client: {mode}")
    print(f"{'calls/s':<14} {'iamledger':>10} {'moto':>10} {'ratio':>7}   server CPU ms/call: iamledger, moto, ratio")
    for mix in MIXES:
        print(f"{mix + ' mix':<14} {_row(results, mix)}   {_row(cpus, mix, inverse=True)}")
    for mix in MIXES:
        ours, theirs = results.get("iamledger", {}).get(mix), results.get("moto", {}).get(mix)
        if ours and theirs:
            verdict = "pass" if ours >= TARGET_RATIO * theirs else "FAIL"
            print(f"target {mix} mix: iamledger at {TARGET_RATIO:g}x moto's calls/s or more: {verdict}")
    if as_json:
        print(
            json.dumps({"client": mode, "calls_per_second": results, "server_cpu_ms_per_call": cpus, "errors": errors})
        )


def _row(values: dict[str, dict[str, float]], mix: str, *, inverse: bool = False) -> str:
    ours = values.get("iamledger", {}).get(mix)
    theirs = values.get("moto", {}).get(mix)
    ratio = "-"
    if ours and theirs:
        ratio = f"{(theirs / ours if inverse else ours / theirs):.2f}x"
    return f"{(f'{ours:,.1f}' if ours else '-'):>10} {(f'{theirs:,.1f}' if theirs else '-'):>10} {ratio:>7}"


if __name__ == "__main__":
    sys.exit(main())
