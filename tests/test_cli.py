"""The `iamledger` command: init, accounts, output formats, errors and exit codes as the aws CLI has them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy

from tests.clirunner import run


def _file_digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _event_count(store_url: str) -> int:
    from iamledger import IdentityStore

    with IdentityStore.open(store_url) as store:
        return len(store.recorder.select_notifications(start=1, limit=100_000))


def test_init_prints_the_root_access_key_once_as_json(capsys, store_url):
    result = run(capsys, "--db", store_url, "init", "--account-id", "123456789012")

    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["AccessKey"]["AccessKeyId"].startswith("AKIA")
    assert len(printed["AccessKey"]["SecretAccessKey"]) == 40
    assert printed["Account"]["AccountId"] == "123456789012"

    listed = run(capsys, "--db", store_url, "account", "list")
    assert printed["AccessKey"]["SecretAccessKey"] not in listed.stdout


def test_init_twice_fails_and_changes_nothing(capsys, store_url, backend):
    assert run(capsys, "--db", store_url, "init").exit_code == 0
    folder = Path(store_url.removeprefix("sqlite:///")).parent if backend == "sqlite" else None
    digests_before = _file_digests(folder) if folder else None
    events_before = _event_count(store_url)

    again = run(capsys, "--db", store_url, "init", "--account-id", "210987654321")

    assert again.exit_code == 254
    assert "An error occurred (StoreAlreadyInitialized) when calling the Init operation:" in again.stderr
    assert again.stdout == ""
    if folder:
        assert digests_before == _file_digests(folder)
    assert events_before == _event_count(store_url)


def test_init_creates_a_master_key_file_readable_only_by_its_owner(capsys, tmp_path):
    db = tmp_path / "sub" / "store.db"
    os.environ.pop("IAMLEDGER_MASTER_KEY_FILE", None)
    assert run(capsys, "--db", f"sqlite:///{db}", "init").exit_code == 0
    key_file = db.with_name("store.db.key")
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_init_uses_the_master_key_from_the_environment_without_writing_a_file(capsys, tmp_path, monkeypatch):
    import base64

    monkeypatch.setenv("IAMLEDGER_MASTER_KEY", base64.urlsafe_b64encode(b"k" * 32).decode())
    db = tmp_path / "env.db"
    assert run(capsys, "--db", f"sqlite:///{db}", "init").exit_code == 0
    assert not db.with_name("env.db.key").exists()


def test_account_create_adds_an_account_with_its_own_root_key(capsys, store_url):
    first = json.loads(run(capsys, "--db", store_url, "init", "--account-id", "111111111111").stdout)
    created = run(capsys, "--db", store_url, "account", "create", "--account-id", "222222222222")
    assert created.exit_code == 0, created.stderr
    second = json.loads(created.stdout)
    assert first["AccessKey"]["AccessKeyId"] != second["AccessKey"]["AccessKeyId"]

    listed = json.loads(run(capsys, "--db", store_url, "account", "list").stdout)
    assert [a["AccountId"] for a in listed["Accounts"]] == ["111111111111", "222222222222"]


def test_commands_act_in_the_first_account_unless_told_otherwise(capsys, store_url):
    run(capsys, "--db", store_url, "init", "--account-id", "111111111111")
    run(capsys, "--db", store_url, "account", "create", "--account-id", "222222222222")

    default = json.loads(run(capsys, "--db", store_url, "sts", "get-caller-identity").stdout)
    chosen = json.loads(
        run(capsys, "--db", store_url, "--account-id", "222222222222", "sts", "get-caller-identity").stdout
    )
    trailing = json.loads(
        run(capsys, "sts", "get-caller-identity", "--account-id", "222222222222", "--db", store_url).stdout
    )

    assert default["Arn"] == "arn:aws:iam::111111111111:root"
    assert chosen["Arn"] == "arn:aws:iam::222222222222:root"
    assert chosen == trailing


def test_an_unknown_account_is_a_no_such_entity_error(capsys, store_url):
    run(capsys, "--db", store_url, "init", "--account-id", "111111111111")
    result = run(capsys, "--db", store_url, "--account-id", "999999999999", "sts", "get-caller-identity")
    assert result.exit_code == 254
    assert "An error occurred (NoSuchEntity) when calling the GetCallerIdentity operation:" in result.stderr


def test_bad_account_id_is_a_validation_error_and_creates_nothing(capsys, store_url):
    run(capsys, "--db", store_url, "init", "--account-id", "111111111111")
    result = run(capsys, "--db", store_url, "account", "create", "--account-id", "12")
    assert result.exit_code == 254
    assert "(ValidationError) when calling the CreateAccount operation" in result.stderr
    listed = json.loads(run(capsys, "--db", store_url, "account", "list").stdout)
    assert len(listed["Accounts"]) == 1


def test_a_command_on_a_missing_store_says_to_run_init_and_creates_no_file(capsys, tmp_path):
    db = tmp_path / "nothing.db"
    result = run(capsys, "--db", f"sqlite:///{db}", "account", "list")
    assert result.exit_code == 254
    assert "(StoreNotInitialized)" in result.stderr
    assert "iamledger init" in result.stderr
    assert not db.exists()


def test_usage_errors_exit_2(capsys):
    assert run(capsys, "no-such-command").exit_code == 2
    assert run(capsys, "--output", "yaml", "account", "list").exit_code == 2
    assert run(capsys, "account", "create", "--no-such-flag").exit_code == 2


def test_version(capsys):
    from iamledger import __version__

    result = run(capsys, "--version")
    assert result.exit_code == 0
    assert f"iamledger {__version__}\n" == result.stdout


def test_the_database_url_comes_from_iamledger_db(capsys, tmp_path, monkeypatch):
    db = tmp_path / "from-env.db"
    monkeypatch.setenv("IAMLEDGER_DB", f"sqlite:///{db}")
    assert run(capsys, "init").exit_code == 0
    assert db.exists()


def test_text_and_table_output(capsys, store_url):
    run(capsys, "--db", store_url, "init", "--account-id", "111111111111")

    text = run(capsys, "--db", store_url, "account", "list", "--output", "text")
    assert text.exit_code == 0
    assert text.stdout.startswith("ACCOUNTS\t111111111111\tarn:aws:iam::111111111111:root\t")

    table = run(capsys, "--db", store_url, "--output", "table", "account", "list")
    lines = table.stdout.splitlines()
    assert "Accounts" in lines[1]
    assert any("111111111111" in line for line in lines)
    assert len({len(line) for line in lines}) == 1, "every line of the table has the same width"


def test_the_installed_console_script_runs(tmp_path):
    script = Path(sys.executable).with_name("iamledger")
    env = {**os.environ, "IAMLEDGER_DB": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("IAMLEDGER_MASTER_KEY_FILE", None)
    result = subprocess.run([str(script), "init"], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "SecretAccessKey" in result.stdout


def test_postgres_url_with_a_bad_password_is_reported_without_the_password(capsys, postgres_url):
    url = sqlalchemy.make_url(postgres_url).set(password="wrong-pass-word").render_as_string(hide_password=False)
    result = run(capsys, "--db", url, "account", "list")
    assert result.exit_code != 0
    assert "wrong-pass-word" not in result.stderr
