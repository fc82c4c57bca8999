"""Secrets never reach the event log, the views, the database's bytes or the logs (design.md, "Secrets")."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy

from iamledger import IdentityStore
from iamledger.domain.errors import ConfigurationError
from iamledger.masterkey import KEY_ENV_VAR
from tests.clirunner import run


def _database_text(store_url: str, backend: str) -> bytes:
    """Everything the database holds, as bytes to search."""
    if backend == "sqlite":
        db = Path(store_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if not p.name.endswith(".key"))
    url = sqlalchemy.make_url(store_url.replace("postgresql://", "postgresql+psycopg://", 1))
    schema = url.query["schema"]
    engine = sqlalchemy.create_engine(url.difference_update_query(["schema"]))
    chunks: list[str] = []
    with engine.connect() as conn:
        tables = conn.execute(
            sqlalchemy.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"), {"s": schema}
        ).scalars()
        for table in list(tables):
            rows = conn.execute(sqlalchemy.text(f'SELECT t::text FROM "{schema}"."{table}" t')).scalars()
            chunks.extend(rows)
    engine.dispose()
    return "\n".join(chunks).encode()


def test_the_root_secret_printed_by_init_is_nowhere_in_the_database_or_the_logs(capsys, store_url, backend):
    result = run(capsys, "--db", store_url, "--log-level", "DEBUG", "--log-format", "json", "init")
    assert result.exit_code == 0, result.stderr
    secret = json.loads(result.stdout)["AccessKey"]["SecretAccessKey"]
    created = run(capsys, "--db", store_url, "--log-level", "DEBUG", "account", "create")
    second_secret = json.loads(created.stdout)["AccessKey"]["SecretAccessKey"]

    assert result.stderr, "DEBUG logging wrote log lines to search"
    stored = _database_text(store_url, backend)
    for value in (secret, second_secret):
        assert value.encode() not in stored
        assert value.encode().hex().encode() not in stored
        assert base64.b64decode(value) not in stored
        assert value not in result.stderr
        assert value not in created.stderr


def test_a_wrong_master_key_is_refused_with_a_clear_error(store_url, monkeypatch):
    with IdentityStore.open(store_url) as store:
        key_id = store.init()["AccessKey"]["AccessKeyId"]
    monkeypatch.setenv(KEY_ENV_VAR, base64.urlsafe_b64encode(b"w" * 32).decode())
    with IdentityStore.open(store_url) as store, pytest.raises(ConfigurationError, match="master key does not match"):
        store.vault.get_secret(key_id)


def test_a_malformed_master_key_is_refused(store_url, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, "not base64 at all!")
    with IdentityStore.open(store_url) as store, pytest.raises(ConfigurationError, match="not valid base64"):
        store.init()
    monkeypatch.setenv(KEY_ENV_VAR, base64.urlsafe_b64encode(b"short").decode())
    with IdentityStore.open(store_url) as store, pytest.raises(ConfigurationError, match="32 bytes"):
        store.init()


def test_each_ciphertext_is_bound_to_its_own_row(store: IdentityStore):
    """Swapping two encrypted secrets between rows makes both undecryptable rather than silently wrong."""
    store.init("111111111111")
    store.vault.put_secret(secret_id="A", account_id="111111111111", kind="t", owner_arn="x", secret="alpha")
    store.vault.put_secret(secret_id="B", account_id="111111111111", kind="t", owner_arn="x", secret="beta")
    from iamledger.vault import vault_secrets

    with store.engine.begin() as conn:
        blob_a = conn.execute(
            sqlalchemy.select(vault_secrets.c.ciphertext).where(vault_secrets.c.secret_id == "A")
        ).scalar()
        conn.execute(sqlalchemy.update(vault_secrets).where(vault_secrets.c.secret_id == "B").values(ciphertext=blob_a))
    assert store.vault.get_secret("A") == "alpha"
    with pytest.raises(ConfigurationError):
        store.vault.get_secret("B")


def test_passwords_their_hashes_and_new_access_key_secrets_are_nowhere_in_the_database_or_the_logs(
    capsys, store_url, backend, monkeypatch
):
    """Passwords (set, reset and changed), their argon2 hashes and the secrets of new access keys: none is in the
    database's bytes (the vault holds them encrypted) or in DEBUG logs."""
    import io

    from iamledger.passwords import password_secret_id

    debug = ("--db", store_url, "--log-level", "DEBUG", "--log-format", "json")
    first, second, third = "First-Pass-11", "Second-Pass-22", "Third-Pass-33"
    stderr: list[str] = [run(capsys, *debug, "init", "--account-id", "123456789012").stderr]
    for args in (
        ("iam", "create-user", "--user-name", "alice"),
        ("iam", "create-login-profile", "--user-name", "alice", "--password", first, "--password-reset-required"),
        ("iam", "update-login-profile", "--user-name", "alice", "--password", second, "--password-reset-required"),
        ("iam", "update-account-password-policy", "--password-reuse-prevention", "5"),
    ):
        result = run(capsys, *debug, *args)
        assert result.exit_code == 0, result.stderr
        stderr.append(result.stderr)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{second}\n{third}\n"))
    login = run(capsys, *debug, "login", "--user-name", "alice", "--password-stdin")
    assert login.exit_code == 0, login.stderr
    stderr.append(login.stderr)
    secrets_out = []
    for args in (("iam", "create-access-key", "--user-name", "alice"), ("iam", "create-access-key")):
        result = run(capsys, *debug, *args)
        assert result.exit_code == 0, result.stderr
        stderr.append(result.stderr)
        secrets_out.append(json.loads(result.stdout)["AccessKey"]["SecretAccessKey"])

    with IdentityStore.open(store_url) as store:
        user_id = store._name_index("123456789012", "user", "alice").entity_id
        current_hash = store.vault.get_secret(password_secret_id(user_id))
        history = store.vault.get_secret(f"password-history:{user_id}")
        assert store.authenticate_password("123456789012", "alice", third)["PasswordResetRequired"] is False
    assert current_hash is not None and current_hash.startswith("$argon2id$")
    assert history is not None
    hashes = [current_hash, *json.loads(history)]
    assert 3 == len(hashes)

    stored = _database_text(store_url, backend)
    logs = "\n".join(stderr)
    assert logs, "DEBUG logging wrote log lines to search"
    for value in (first, second, third, *hashes, *secrets_out):
        assert value.encode() not in stored
        assert value.encode().hex().encode() not in stored
        assert value not in logs
    for hashed in hashes:  # the raw digest and salt of each hash, base64 as argon2 prints them
        for part in hashed.split("$")[-2:]:
            assert part.encode() not in stored
    for value in secrets_out:
        assert base64.b64decode(value) not in stored


def test_session_credentials_are_nowhere_in_the_database_or_the_logs(capsys, store_url, backend):
    """The secret of a role session lives only (encrypted) in the vault, its token only as a digest."""
    assert 0 == run(capsys, "--db", store_url, "init", "--account-id", "123456789012").exit_code
    run(capsys, "--db", store_url, "iam", "create-user", "--user-name", "alice")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::123456789012:user/alice"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )
    run(capsys, "--db", store_url, "iam", "create-role", "--role-name", "r", "--assume-role-policy-document", trust)
    assumed = run(
        capsys,
        "--db",
        store_url,
        "--log-level",
        "DEBUG",
        "--log-format",
        "json",
        "--as",
        "arn:aws:iam::123456789012:user/alice",
        "sts",
        "assume-role",
        "--role-arn",
        "arn:aws:iam::123456789012:role/r",
        "--role-session-name",
        "scan",
    )
    assert 0 == assumed.exit_code, assumed.stderr
    credentials = json.loads(assumed.stdout)["Credentials"]
    stored = _database_text(store_url, backend)
    for value in (credentials["SecretAccessKey"], credentials["SessionToken"]):
        assert value.encode() not in stored
        assert value.encode().hex().encode() not in stored
        assert value not in assumed.stderr
