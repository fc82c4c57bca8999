"""The console's tests' account and server: the quickstart account (``iamledger quickstart``) with a few people added
for the console (an auditor, a user with an MFA device, a user allowed nothing, an access key, a policy with two
versions), served by a real ``iamledger serve`` process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from iamledger import IdentityStore
from iamledger.context import bound_audit_context
from iamledger.domain.audit import AuditContext
from iamledger.domain.mfa import time_step, totp

ACCOUNT = "200611803367"  # the quickstart account's id (the example dump's)
PASSWORD = "Audit-Pass-123!"
NOBODY_PASSWORD = "Nobody-Pass-456!"
MFA_PASSWORD = "Mfa-Pass-789!"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POLICY_V1 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
POLICY_V2 = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::payroll/*"}
    ],
}


@dataclass
class ConsoleAccount:
    """The store and what the tests sign in with."""

    url: str
    folder: Path
    access_key_id: str
    secret_access_key: str
    mfa_seed: str
    before_auditor: int
    """A position before the user ``aa-auditor`` existed."""


def _env(folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMLEDGER_"))}
    env["HOME"] = str(folder)
    if (folder / MASTER_KEY).exists() or os.environ.get(KEY_FILE_ENV) == str(folder / MASTER_KEY):
        env[KEY_FILE_ENV] = str(folder / MASTER_KEY)  # a PostgreSQL store's key: no file beside a database
    return env


KEY_FILE_ENV = "IAMLEDGER_MASTER_KEY_FILE"
MASTER_KEY = "master.key"


def build_account(folder: Path, url: str | None = None) -> ConsoleAccount:
    """The quickstart account and the console's people, in a SQLite store under ``folder`` (or the store ``url``
    names, whose master key is then kept in ``folder``: the caller sets ``$IAMLEDGER_MASTER_KEY_FILE`` to it)."""
    url = url or f"sqlite:///{folder / 'console.db'}"
    subprocess.run(
        [sys.executable, "-m", "iamledger", "--db", url, "quickstart"],
        check=True,
        capture_output=True,
        cwd=folder,
        env=_env(folder),
    )
    with IdentityStore.open(url, create=False) as store:
        root = AuditContext(actor=f"arn:aws:iam::{ACCOUNT}:root", request_id=AuditContext.new_request_id())
        with bound_audit_context(root):
            before = store.at("").position
            store.create_user(UserName="aa-auditor")
            store.attach_user_policy(UserName="aa-auditor", PolicyArn=READ_ONLY)
            store.create_login_profile(UserName="aa-auditor", Password=PASSWORD)
            key = store.create_access_key(UserName="aa-auditor")["AccessKey"]
            store.create_user(UserName="aa-nobody")
            store.create_login_profile(UserName="aa-nobody", Password=NOBODY_PASSWORD)
            store.create_user(UserName="aa-mfa-user")
            store.attach_user_policy(UserName="aa-mfa-user", PolicyArn=READ_ONLY)
            store.create_login_profile(UserName="aa-mfa-user", Password=MFA_PASSWORD)
            device = store.create_virtual_mfa_device(VirtualMFADeviceName="aa-mfa-phone")["VirtualMFADevice"]
            seed = device["Base32StringSeed"].decode()
            step = time_step(datetime.now(UTC))
            store.enable_mfa_device(
                UserName="aa-mfa-user",
                SerialNumber=device["SerialNumber"],
                AuthenticationCode1=totp(seed, step - 2),
                AuthenticationCode2=totp(seed, step - 1),
            )
            policy = store.create_policy(PolicyName="payroll-readers", PolicyDocument=json.dumps(POLICY_V1))["Policy"]
            store.create_policy_version(
                PolicyArn=policy["Arn"], PolicyDocument=json.dumps(POLICY_V2), SetAsDefault=True
            )
            store.attach_user_policy(UserName="aa-auditor", PolicyArn=policy["Arn"])
        store.trail.catch_up()
    return ConsoleAccount(url, folder, key["AccessKeyId"], key["SecretAccessKey"], seed, before)


def current_code(seed: str, offset: int = 0) -> str:
    return totp(seed, time_step(datetime.now(UTC)) + offset)


@dataclass
class Served:
    """A running ``iamledger serve``: its base URL and its output so far."""

    base: str
    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def serving(account: ConsoleAccount, *command: str) -> Iterator[Served]:
    """``iamledger --db URL serve --port 0`` (or ``command``) in a process, until the block ends."""
    args = list(command) or ["serve", "--port", "0"]
    log_path = account.folder / f"server-{time.monotonic_ns()}.log"
    with log_path.open("w") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "iamledger",
                "--db",
                account.url,
                "--log-level",
                "info",
                "--log-format",
                "json",
                *args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=account.folder,
            env=_env(account.folder),
        )
    try:
        base = _wait_for_url(log_path, process)
        yield Served(base, process, log_path)
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for_url(log_path: Path, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", log_path.read_text())
        if found:
            base = f"http://127.0.0.1:{found.group(1)}"
            try:
                urllib.request.urlopen(f"{base}/console/signin", timeout=5).close()  # noqa: S310 - our server
            except urllib.error.URLError:
                time.sleep(0.1)
                continue
            return base
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {log_path.read_text()}")
        time.sleep(0.1)
    raise RuntimeError(f"the server did not start: {log_path.read_text()}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    method: str, url: str, *, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str, list[str]]:
    """One request, redirects not followed: status, headers, body and the ``Set-Cookie`` headers."""
    body = None if data is None else urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})  # noqa: S310
    opener = urllib.request.build_opener(NoRedirect)
    try:
        response = opener.open(request, timeout=60)
    except urllib.error.HTTPError as error:
        response = error
    with response:
        text = response.read().decode("utf-8", "replace")
        cookies = response.headers.get_all("Set-Cookie") or []
        return response.status, dict(response.headers.items()), text, cookies
