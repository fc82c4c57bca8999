"""`bench/endpoint.py --quick` against iamledger alone (moto is the bench extra, not a test extra): the default,
pre-signed load generator captures boto3's signed requests, replays them and gets only 2xx answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _bench_module() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_endpoint", ROOT / "bench" / "endpoint.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


ANSWERS = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/xml\r\n\r\nfirst",
    b"HTTP/1.1 403 Forbidden\r\ntransfer-encoding: chunked\r\n\r\n3\r\nsec\r\n4;x=y\r\nond!\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nthird",
    b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\nto the end",  # no length: the body ends with the connection
]


def test_the_lean_replay_connection_reads_every_kind_of_answer_and_reconnects():
    import socket
    import threading

    bench: Any = _bench_module()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received: list[bytes] = []

    def serve() -> None:
        answers = iter(ANSWERS)
        connections = 0
        while connections < 3:  # the answers close the connection after the third and the fourth
            conn, _ = listener.accept()
            connections += 1
            with conn:
                while True:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if not data:
                        break
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = int(
                        next(
                            line.split(b":")[1]
                            for line in head.split(b"\r\n")
                            if line.lower().startswith(b"content-length")
                        )
                    )
                    while len(body) < length:
                        body += conn.recv(65536)
                    received.append(head + b"\r\n\r\n" + body)
                    answer = next(answers)
                    conn.sendall(answer)
                    if b"Connection: close" in answer or b"HTTP/1.0" in answer:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    connection = bench.Connection("127.0.0.1", port)
    request = bench.Signed("GetUser", "POST", "/", {"X-Amz-Date": "20261129T000000Z"}, b"Action=GetUser")
    wire = connection.wire(request)
    assert wire.startswith(b"POST / HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nContent-Length: 14\r\n" in wire and wire.endswith(b"\r\n\r\nAction=GetUser")
    answers = [connection.exchange(wire) for _ in ANSWERS]
    assert answers == [(200, b"first"), (403, b"second!"), (200, b"third"), (200, b"to the end")]
    thread.join(5)
    assert len(received) == len(ANSWERS)
    assert all(r.endswith(b"Action=GetUser") for r in received)
    listener.close()
