"""``GET /health`` and ``GET /_localstack/health`` against a real ``iamledger serve`` process, over HTTP: the version,
the store's backend and the head of its log, LocalStack's shape for the tools that probe it, and no secret."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

import iamledger
from iamledger import IdentityStore
from iamledger.domain.ids import new_access_key_id, new_secret_access_key

IAMLEDGER = str(Path(sys.executable).parent / "iamledger")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def request(url: str, path: str, method: str = "GET", body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def health(url: str, path: str = "/health") -> dict[str, Any]:
    status, headers, body = request(url, path)
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    answer: dict[str, Any] = json.loads(body)
    return answer


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``iamledger ARGS serve --port P`` as a process; its URL once ``GET /health`` answers."""
    port = free_port()
    process = subprocess.Popen(
        [IAMLEDGER, *args, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health(url)
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"iamledger {' '.join(args)} exited: {process.communicate()[1][-2000:]}")
                assert time.monotonic() < deadline, f"iamledger {' '.join(args)} did not answer"
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors = process.stderr.read() if process.stderr is not None else ""
        assert "Traceback" not in errors, errors


def client(url: str, service: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
    )


@pytest.mark.slow
def test_health_of_an_ephemeral_endpoint_follows_its_log_and_its_resets():
    key_id, secret = new_access_key_id(), new_secret_access_key()
    with serving(
        "serve", "--ephemeral", "--access-key-id", key_id, env={"IAMLEDGER_EPHEMERAL_SECRET_ACCESS_KEY": secret}
    ) as url:
        first = health(url)
        assert first["status"] == "ok"
        assert first["version"] == iamledger.__version__
        assert first["backend"] == "sqlite"
        assert isinstance(first["position"], int) and first["position"] > 0  # the account and its root key
        iam = client(url, "iam", key_id, secret)
        iam.create_user(UserName="alice")
        assert health(url)["position"] > first["position"]
        # LocalStack's shape, for the tools that wait on it, with iamledger's fields too
        localstack = health(url, "/_localstack/health")
        assert localstack["services"] == {"iam": "running", "sts": "running"}
        assert localstack["edition"] == "iamledger" and localstack["version"] == iamledger.__version__
        assert localstack["position"] == health(url)["position"]
        assert health(url, "/_localstack/health?reload")["services"]["iam"] == "running"
        # unsigned and read-only: nothing it answers is a secret or the store's location
        for path in ("/health", "/_localstack/health"):
            _, _, body = request(url, path)
            assert secret.encode() not in body and b"sqlite:" not in body and b"/tmp" not in body
        status, _, _ = request(url, "/moto-api/reset", "POST", b"")
        assert status == 200
        assert health(url)["position"] == first["position"]  # a fresh store: the same few events as at start
        assert iam.list_users()["Users"] == []


@pytest.mark.slow
def test_health_answers_head_and_refuses_other_methods():
    with serving("serve", "--ephemeral") as url:
        for path in ("/health", "/_localstack/health"):
            status, headers, body = request(url, path, "HEAD")
            assert (status, body) == (200, b"")
            for method in ("POST", "PUT", "DELETE", "PATCH"):
                status, headers, body = request(url, path, method, b'{"action": "kill"}')
                assert status == 405, (method, path, body)
                assert set(headers["allow"].split(", ")) == {"GET", "HEAD"}
            assert health(url, path)["status"] == "ok"  # and the server is still there


@pytest.mark.slow
def test_health_of_a_served_store_names_its_backend_and_reads_the_head_without_a_request(store_url: str):
    with IdentityStore.open(store_url) as store:
        store.init("123456789012")
    postgres = store_url.startswith("postgresql")
    workers = ["--workers", "2"] if postgres else []
    with serving("--db", store_url, "serve", *workers) as url:
        before = health(url)
        assert before["backend"] == ("postgresql" if postgres else "sqlite")
        with IdentityStore.open(store_url) as store:  # another process's write: no request reached the server
            store.create_user(UserName="bob")
            head = store.projector.head()
        assert head > before["position"]
        for _ in range(4 if postgres else 1):  # with workers, whichever answers reads the same log
            assert health(url)["position"] == head
        assert store_url.split("://", 1)[1].encode() not in request(url, "/health")[2]


@pytest.mark.slow
def test_health_says_unavailable_when_the_log_cannot_be_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with IdentityStore.open(store_url) as store:
        store.init("123456789012")
        events = store.events_table()
    with serving("--db", store_url, "serve") as url:
        with sqlite3.connect(tmp_path / "store.db") as db:  # the log is lost under the running server
            db.execute(f"DROP TABLE {events}")
        status, headers, body = request(url, "/health")
        assert status == 503 and headers["content-type"] == "application/json"
        answer = json.loads(body)
        assert answer["status"] == "unavailable" and answer["position"] is None
        assert answer["services"] == {"iam": "error", "sts": "error"} and answer["version"] == iamledger.__version__
