"""``iamledger quickstart``: the README's first command, on the example dump shipped with the package."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy

from iamledger import IdentityStore
from tests.clirunner import run


@pytest.mark.slow
def test_quickstart_walks_through_a_change_asked_before_and_after(capsys, store_url):
    result = run(capsys, "--db", store_url, "quickstart")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for step in ("1. An AWS account, imported as events", "2. Who is in which group", "4. privesc-sre-user assumes"):
        assert step in out
    assert "44 users, 5 groups, 78 roles" in out
    assert "privesc-sre-group                    members: privesc-sre-user" in out
    assert "assumed-role/privesc-sre-role/quickstart" in out
    before, after = out.split("as of position", 1)[1].split("\n")[:2]
    assert before.strip().endswith("allowed") and after.strip().endswith("implicitDeny")
    assert "AddUserToGroup" in out and "RemoveUserFromGroup" in out  # the events that explain the difference
    assert "allowed -> implicitDeny" in out


@pytest.mark.slow
def test_quickstart_starts_from_a_fresh_default_store_each_time(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        result = run(capsys, "quickstart")
        assert result.exit_code == 0, result.stderr
        assert "Recorded 625 events" in result.stdout
    assert (tmp_path / "iamledger-quickstart.db").exists()


# -- the commands it suggests work as pasted, and no database password is ever printed (issue 21 item 16) -----------

VENV_BIN = Path(sys.executable).parent
PASSWORD_IN_URL = re.compile(r"://[^/@\s]*:(?!\*\*\*@)[^/@\s]+@")
"""A URL's user info with a password that is not the ``***`` mask."""


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _suggested(out: str) -> list[str]:
    """The commands the quickstart's last section suggests (its lines indented by two spaces)."""
    tail = out.split("To go on, in a shell", 1)[1]
    return [line[2:] for line in tail.splitlines() if line.startswith("  ") and not line.startswith("  #")]


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A shell's environment without the developer's store or AWS settings, with what a user may have set that must
    not get in the way (a profile, a session token)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMLEDGER_"))}
    env |= {"HOME": str(tmp_path / "home"), "AWS_PROFILE": "someone-elses", "AWS_SESSION_TOKEN": "not-for-here"}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env | extra


def _run_pasted(commands: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """Run the commands as one pasted shell session (bash, stopping at the first failure); what each printed."""
    port = 4566 if _port_free(4566) else _free_port()  # the suggested port, unless this machine uses it already
    script = ["set -e", "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT"]  # no endpoint outlives a failure
    for number, command in enumerate(commands):
        script += [
            f"echo '=== {number}'",
            command.replace("4566", str(port)).replace(" serve &", f" serve --port {port} &"),
        ]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, (done.stdout, done.stderr)
    return [part.split("\n", 1)[1] if "\n" in part else "" for part in done.stdout.split("=== ")[1:]]


@pytest.mark.slow
def test_the_suggested_commands_work_as_pasted(tmp_path: Path):
    here, elsewhere = tmp_path / "quickstart", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    env = _clean_env(tmp_path)
    shown = subprocess.run(
        [str(VENV_BIN / "iamledger"), "quickstart"], cwd=here, env=env, capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    commands = _suggested(shown.stdout)
    assert (
        commands[0] == f"export IAMLEDGER_DB='sqlite:///{here.resolve()}/iamledger-quickstart.db'"
        or commands[0] == f"export IAMLEDGER_DB=sqlite:///{here.resolve()}/iamledger-quickstart.db"
    )
    assert any("--account-id 200611803367 audit history --user-name privesc-sre-user" in c for c in commands)
    assert any("AWS_ACCESS_KEY_ID=AKIA" in c and "iam list-users" in c for c in commands)
    (deletion,) = [line.split(": ", 1)[1] for line in shown.stdout.splitlines() if "once done with the key" in line]
    assert "iam delete-access-key --access-key-id AKIA" in deletion
    # from another folder: the store is named by its full path
    outputs = _run_pasted([*commands, deletion], elsewhere, env)
    history = outputs[1]
    assert "CreateUser" in history and "AddUserToGroup" in history and "RemoveUserFromGroup" in history
    assert "LookupEvents" in outputs[2]
    (listed,) = [out for command, out in zip(commands, outputs[:-1], strict=True) if "iam list-users" in command]
    users = {u["UserName"] for u in json.loads(listed)["Users"]}
    with IdentityStore.open(f"sqlite:///{here / 'iamledger-quickstart.db'}") as store, store.acting("200611803367"):
        assert {u["UserName"] for u in store.list_users(MaxItems=1000)["Users"]} == users
    assert "privesc-sre-user" in users


@pytest.mark.slow
def test_a_postgresql_password_is_never_printed(postgres_url: str, tmp_path: Path, capsys):
    assert "iamledger:iamledger@" in postgres_url  # the test database's password is "iamledger"
    url = f"{postgres_url}?schema=t_{uuid.uuid4().hex[:20]}"
    env = _clean_env(tmp_path, IAMLEDGER_MASTER_KEY_FILE=str(tmp_path / "master.key"))
    printed: list[str] = []
    try:
        missing = run(capsys, "--db", url, "account", "list")  # StoreNotInitialized names the store
        assert missing.exit_code == 254
        printed += [missing.stdout, missing.stderr]
        shown = subprocess.run(
            [str(VENV_BIN / "iamledger"), "--db", url, "quickstart"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        printed += [shown.stdout, shown.stderr]
        assert "export IAMLEDGER_DB='postgresql://iamledger:***@" in shown.stdout  # masked, and quoted: ?schema=
        for args in (
            ("init",),  # StoreAlreadyInitialized names the store
            ("--log-level", "debug", "--log-format", "json", "projections", "status"),
            ("--debug", "account", "list"),
            ("audit", "verify"),
        ):
            result = run(capsys, "--db", url, *args)
            printed += [result.stdout, result.stderr]
        wrong = run(capsys, "--db", url.replace(":iamledger@", ":wrong-password@"), "account", "list")
        assert wrong.exit_code == 254
        printed += [wrong.stdout, wrong.stderr]
        printed += _serve_output(url, env, tmp_path)
        # pasted with the password in IAMLEDGER_DB already, the suggestions need no export and work
        pasted_env = env | {"IAMLEDGER_DB": url}
        again = subprocess.run(
            [
                str(VENV_BIN / "iamledger"),
                "--account-id",
                "200611803367",
                "audit",
                "history",
                "--user-name",
                "privesc-sre-user",
            ],
            cwd=tmp_path,
            env=pasted_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert again.returncode == 0, again.stderr
    finally:
        _drop_schema(postgres_url, url)
    text = "\n".join(printed)
    assert "postgresql://iamledger:***@" in text  # the URL is shown, masked
    assert [] == PASSWORD_IN_URL.findall(text)
    assert ":wrong-password@" not in text


def _serve_output(url: str, env: dict[str, str], cwd: Path) -> list[str]:
    """What ``iamledger serve`` prints as it starts (and any warning), then stopped."""
    process = subprocess.Popen(
        [str(VENV_BIN / "iamledger"), "--db", url, "serve", "--port", "0"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "iamledger endpoint: http://127.0.0.1:" in first
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    return [first, out, err]


def _drop_schema(base: str, url: str) -> None:
    schema = url.rsplit("schema=", 1)[1]
    engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
