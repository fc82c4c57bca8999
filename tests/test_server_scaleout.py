"""Scale-out of the endpoint: several worker processes (``iamledger serve --workers 2``) and a second ``serve``
process on one PostgreSQL store, with ``iamledger projections follow`` running beside them, driven by boto3 clients
from many threads at once. Names stay unique, no concurrent update is lost, and every process sees the others'
writes on its next request (a policy change included). Needs the real PostgreSQL server; SQLite and ephemeral
stores refuse ``--workers`` above 1 (checked without PostgreSQL).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy
from botocore.config import Config
from botocore.exceptions import ClientError

from iamledger import IdentityStore
from tests.clirunner import run

ACCOUNT = "123456789012"
IAMLEDGER = str(Path(sys.executable).parent / "iamledger")
THREADS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(*args: str, port: int | None = None, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``iamledger ARGS`` as a subprocess; waits until ``port`` accepts connections."""
    process = subprocess.Popen(
        [IAMLEDGER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
    )
    deadline = time.monotonic() + 60
    while port is not None:
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"iamledger {' '.join(args)} exited with {process.returncode}: {err[-2000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline, f"iamledger {' '.join(args)} did not listen on {port}"
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen[str]) -> str:
    """Stop a process started by :func:`start` (SIGINT, as Ctrl-C); its stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.stderr.read() if process.stderr is not None else ""


@dataclass
class Cluster:
    """Two endpoints on one store: ``urls[0]`` is served by two workers, ``urls[1]`` by another process."""

    store_url: str
    urls: list[str]
    key_id: str
    secret: str

    def client(self, index: int, service: str = "iam", key_id: str | None = None, secret: str | None = None) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.urls[index % len(self.urls)],
            region_name="us-east-1",
            aws_access_key_id=key_id or self.key_id,
            aws_secret_access_key=secret or self.secret,
            config=Config(retries={"max_attempts": 1}),
        )


@pytest.fixture
def cluster(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    schema = f"t_{uuid.uuid4().hex[:20]}"
    store_url = f"{postgres_url}?schema={schema}"
    with IdentityStore.open(store_url) as store:
        key = store.init(ACCOUNT)["AccessKey"]
    ports = [free_port(), free_port()]
    processes = [
        start("serve", "--port", str(ports[0]), "--workers", "2", port=ports[0], env={"IAMLEDGER_DB": store_url}),
        start("--db", store_url, "serve", "--port", str(ports[1]), port=ports[1]),
        start("--db", store_url, "projections", "follow", "--interval", "0.05"),
    ]
    try:
        yield Cluster(store_url, [f"http://127.0.0.1:{p}" for p in ports], key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        errors = [stop(process) for process in processes]
        engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    for error in errors:
        assert "Traceback" not in error, error


def concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` for ``i`` in ``range(count)`` on as many threads, released together; results or errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as error:
            results[i] = error

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def code_of(result: Any) -> str:
    if isinstance(result, ClientError):
        return str(result.response["Error"]["Code"])
    if isinstance(result, Exception):
        return repr(result)
    return "OK"


@pytest.mark.postgres
@pytest.mark.slow
def test_processes_keep_names_unique_lose_no_update_and_see_each_other(cluster: Cluster):
    clients = [cluster.client(i) for i in range(THREADS)]  # even: the two workers' port, odd: the other process

    # The same name created at once through every process: exactly one succeeds.
    for round_ in range(3):
        name = f"same-{round_}"
        codes = sorted(code_of(r) for r in concurrently(THREADS, lambda i, n=name: clients[i].create_user(UserName=n)))
        assert codes == ["EntityAlreadyExists"] * (THREADS - 1) + ["OK"], codes

    # Concurrent memberships and attachments of one group and one user: every one lands.
    clients[0].create_group(GroupName="team")
    clients[1].create_user(UserName="target")
    arns = [
        clients[i].create_policy(PolicyName=f"p{i}", PolicyDocument=allow("s3:GetObject"))["Policy"]["Arn"]
        for i in range(THREADS)
    ]
    for i in range(THREADS):
        clients[i].create_user(UserName=f"member{i}")

    def join_and_attach(i: int) -> None:
        clients[i].add_user_to_group(GroupName="team", UserName=f"member{i}")
        clients[i].attach_user_policy(UserName="target", PolicyArn=arns[i])
        clients[i].tag_user(UserName="target", Tags=[{"Key": f"k{i}", "Value": str(i)}])

    assert [code_of(r) for r in concurrently(THREADS, join_and_attach)] == ["OK"] * THREADS
    for client in clients[:2]:  # both endpoints see every write at once
        members = client.get_group(GroupName="team")["Users"]
        assert sorted(u["UserName"] for u in members) == sorted(f"member{i}" for i in range(THREADS))
        attached = client.list_attached_user_policies(UserName="target")["AttachedPolicies"]
        assert sorted(p["PolicyArn"] for p in attached) == sorted(arns)
        assert len(client.list_user_tags(UserName="target")["Tags"]) == THREADS

    # Each write is seen by the next request in any process, and a policy change applies at once everywhere.
    for i in range(10):
        clients[i % 2].create_user(UserName=f"seen{i}")
        assert clients[(i + 1) % 2].get_user(UserName=f"seen{i}")["User"]["UserName"] == f"seen{i}"
    key = clients[0].create_access_key(UserName="target")["AccessKey"]
    target = [cluster.client(i, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"]) for i in range(2)]
    for attempt in range(3):
        writer, reader = clients[attempt % 2], target[(attempt + 1) % 2]
        with pytest.raises(ClientError) as denied:
            reader.list_users()
        assert denied.value.response["Error"]["Code"] == "AccessDenied"
        writer.put_user_policy(UserName="target", PolicyName="list", PolicyDocument=allow("iam:ListUsers"))
        assert any(u["UserName"] == "target" for u in reader.list_users()["Users"])
        writer.delete_user_policy(UserName="target", PolicyName="list")

    # The views every process caught up (and the follower) are exactly what the log rebuilds.
    with IdentityStore.open(cluster.store_url, create=False) as store:
        store.projector.catch_up()
        report = store.projector.verify_views()
        assert report["Consistent"], report
        assert store.verify_log().verified


def allow(*actions: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_catch_ups_of_many_processes_apply_each_event_once(postgres_url: str, tmp_path, monkeypatch):
    """Processes that write and catch the views up at the same moment: each event applied exactly once."""
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    schema = f"t_{uuid.uuid4().hex[:20]}"
    store_url = f"{postgres_url}?schema={schema}"
    try:
        with IdentityStore.open(store_url) as store:
            store.init(ACCOUNT)
            for i in range(40):
                store.create_user(UserName=f"u{i}")
        script = (
            "import sys\n"
            "from iamledger import IdentityStore\n"
            "with IdentityStore.open(sys.argv[1], create=False) as s:\n"
            "    for i in range(15):\n"
            "        s.create_group(GroupName=f'g{sys.argv[2]}-{i}')\n"
            "        s.add_user_to_group(GroupName=f'g{sys.argv[2]}-{i}', UserName=f'u{i}')\n"
            "        s.projector.catch_up()\n"
        )
        processes = [
            subprocess.Popen([sys.executable, "-c", script, store_url, str(n)], stderr=subprocess.PIPE, text=True)
            for n in range(4)
        ]
        for process in processes:
            assert process.wait(120) == 0, process.stderr.read() if process.stderr else ""
        with IdentityStore.open(store_url, create=False) as store:
            assert store.projector.catch_up() == store.projector.head()
            assert store.projector.verify_views()["Consistent"]
            assert len(store.list_groups()["Groups"]) == 60
            assert sorted(g["GroupName"] for g in store.list_groups_for_user(UserName="u3")["Groups"]) == [
                f"g{n}-3" for n in range(4)
            ]
    finally:
        engine = sqlalchemy.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_several_workers_need_a_postgresql_store(capsys, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'iam.db'}"
    with IdentityStore.open(db) as store:
        store.init(ACCOUNT)
    result = run(capsys, "--db", db, "serve", "--port", "0", "--workers", "2")
    assert result.exit_code == 2
    assert "--workers above 1 needs a PostgreSQL store" in result.stderr
    result = run(capsys, "serve", "--ephemeral", "--port", "0", "--workers", "3")
    assert result.exit_code == 2
    assert "does not go with --ephemeral" in result.stderr
