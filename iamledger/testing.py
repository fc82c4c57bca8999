"""A pytest plugin: iamledger's IAM and STS endpoint as fixtures, to test your own code against it the way moto's
users test against moto (docs/testing.md).

Installed with the package (the ``pytest11`` entry point ``iamledger``), it only declares fixtures: nothing starts
until a test asks for one, and ``-p no:iamledger`` turns it off.

* ``iamledger_server`` (session): one ``iamledger serve --ephemeral`` process for the test session, on a free
  loopback port, whose account root signs with credentials made up for the session;
* ``iamledger_endpoint``: that server, reset before the test (``POST /moto-api/reset``: a fresh, empty store with
  the same account and credentials), as an :class:`IamledgerEndpoint` (``url``, ``region``, ``account_id``,
  ``access_key_id``, ``secret_access_key``, ``client(service)``);
* ``iam_client``, ``sts_client``: boto3 clients bound to it, signing as the account's root.

The server runs in a process of its own (``python -m iamledger serve``), so the endpoint is the real one, over
HTTP, and a test's own process holds no store. The account id and region come from the ini options
``iamledger_account_id`` and ``iamledger_region``.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Final

import pytest

DEFAULT_ACCOUNT_ID: Final = "123456789012"
DEFAULT_REGION: Final = "us-east-1"
START_TIMEOUT: Final = 60.0
"""Seconds the server has to print its URL and answer ``GET /health``."""
STOP_TIMEOUT: Final = 30.0
URL_PREFIX: Final = "iamledger endpoint: "
SECRET_ENV: Final = "IAMLEDGER_EPHEMERAL_SECRET_ACCESS_KEY"  # noqa: S105 - the variable's name, not a secret
"""How the secret reaches the server: in its environment, never on its command line (which ``ps`` shows)."""


@dataclass(frozen=True)
class IamledgerEndpoint:
    """A running iamledger endpoint and the root credentials of its account."""

    url: str
    account_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    region: str = DEFAULT_REGION

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client of ``service`` (``iam``, ``sts``) for this endpoint, signing as the account's root;
        ``kwargs`` go to ``Session.client`` (``config=...``)."""
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )
        return session.client(service, endpoint_url=self.url, **kwargs)

    def health(self) -> dict[str, Any]:
        """``GET /health``: the server's version, its store's backend and the position of the log's head."""
        with urllib.request.urlopen(f"{self.url}/health", timeout=10) as response:  # noqa: S310 - our own URL
            answer: dict[str, Any] = json.load(response)
        return answer

    def reset(self) -> None:
        """Replace the server's store with a fresh, empty one (same account and credentials)."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our own URL
            response.read()


class EphemeralServer:
    """An ``iamledger serve --ephemeral --port 0`` process of this Python: :meth:`start` it, :meth:`stop` it."""

    def __init__(
        self, *, account_id: str = DEFAULT_ACCOUNT_ID, region: str = DEFAULT_REGION, log_level: str | None = None
    ) -> None:
        self.account_id = account_id
        self.region = region
        self.log_level = log_level  # the server's --log-level (its default, INFO, when None)
        self.process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    def start(self, timeout: float = START_TIMEOUT) -> IamledgerEndpoint:
        """Start the server and wait until it answers; its endpoint. A server that fails to start is stopped, and
        the error says what it printed."""
        from iamledger.domain.ids import new_access_key_id, new_secret_access_key

        key_id, secret = new_access_key_id(), new_secret_access_key()
        self._log = tempfile.TemporaryFile("a+", encoding="utf-8")  # noqa: SIM115 - closed by stop()
        # appending: the server writes at the end whatever the offset log() reads from
        command = [sys.executable, "-m", "iamledger"]
        command += [] if self.log_level is None else ["--log-level", self.log_level]
        command += ["serve", "--ephemeral", "--port", "0"]
        command += ["--account-id", self.account_id, "--access-key-id", key_id]
        self.process = subprocess.Popen(  # noqa: S603 - this Python, fixed arguments
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, SECRET_ENV: secret},
        )
        deadline = time.monotonic() + timeout
        try:
            url = self._url(deadline)
            endpoint = IamledgerEndpoint(url, self.account_id, key_id, secret, self.region)
            self._wait_until_healthy(endpoint, deadline)
        except BaseException:
            self.stop()
            raise
        return endpoint

    def _url(self, deadline: float) -> str:
        """The URL the server prints first; its standard output is drained from then on by a daemon thread."""
        assert self.process is not None  # noqa: S101 - start() sets it
        lines: queue.Queue[str] = queue.Queue()
        stdout = self.process.stdout

        def drain() -> None:
            for line in stdout or ():
                lines.put(line)
            lines.put("")

        threading.Thread(target=drain, name="iamledger-server-stdout", daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise self._failure("did not print its URL in time") from None
            if not line:
                raise self._failure("exited before it printed its URL")
            if line.startswith(URL_PREFIX):
                return line.removeprefix(URL_PREFIX).split()[0].rstrip("/")

    def _wait_until_healthy(self, endpoint: IamledgerEndpoint, deadline: float) -> None:
        while True:
            try:
                endpoint.health()
            except (urllib.error.URLError, OSError):
                if self.process is not None and self.process.poll() is not None:
                    raise self._failure("exited before it answered") from None
                if time.monotonic() > deadline:
                    raise self._failure("did not answer GET /health in time") from None
                time.sleep(0.05)
            else:
                return

    def log(self) -> str:
        """What the server has logged so far (its standard error); empty once it is stopped."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def _failure(self, what: str) -> RuntimeError:
        return RuntimeError(f"iamledger serve --ephemeral {what}:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        """Stop the server (its temporary store is deleted with it)."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None


# -- the plugin ---------------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("iamledger_account_id", "iamledger fixtures: the account's id", default=DEFAULT_ACCOUNT_ID)
    parser.addini("iamledger_region", "iamledger fixtures: the region the clients name", default=DEFAULT_REGION)


@pytest.fixture(scope="session")
def iamledger_server(pytestconfig: pytest.Config) -> Iterator[IamledgerEndpoint]:
    """One ephemeral iamledger endpoint for the test session (not reset: ``iamledger_endpoint`` is)."""
    server = EphemeralServer(
        account_id=str(pytestconfig.getini("iamledger_account_id")),
        region=str(pytestconfig.getini("iamledger_region")),
    )
    endpoint = server.start()
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture
def iamledger_endpoint(iamledger_server: IamledgerEndpoint) -> IamledgerEndpoint:
    """The session's endpoint with a fresh, empty store: what the previous test did is gone."""
    iamledger_server.reset()
    return iamledger_server


@pytest.fixture
def iam_client(iamledger_endpoint: IamledgerEndpoint) -> Any:
    """A boto3 IAM client of ``iamledger_endpoint``, signing as the account's root."""
    return iamledger_endpoint.client("iam")


@pytest.fixture
def sts_client(iamledger_endpoint: IamledgerEndpoint) -> Any:
    """A boto3 STS client of ``iamledger_endpoint``, signing as the account's root."""
    return iamledger_endpoint.client("sts")


__all__ = ["EphemeralServer", "IamledgerEndpoint"]
