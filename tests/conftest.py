"""Fixtures shared by the suite: one scenario runs on every backend.

Every test that takes ``store_url`` runs on a fresh SQLite file and, when ``IAMLEDGER_TEST_POSTGRES_URL`` is set
(``.ci/run`` sets it), on a fresh schema of that PostgreSQL database; without it the PostgreSQL variant is skipped
with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy

from iamledger import IdentityStore

POSTGRES_ENV = "IAMLEDGER_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgres"]


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own store, key or environment."""
    for var in (
        "IAMLEDGER_DB",
        "IAMLEDGER_READ_DB",
        "IAMLEDGER_READ_TIMEOUT",
        "IAMLEDGER_MASTER_KEY",
        "IAMLEDGER_MASTER_KEY_FILE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def postgres_url() -> str:
    """The PostgreSQL test database's URL, for tests about PostgreSQL alone."""
    url = postgres_base_url()
    if url is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV} (bash .ci/run starts a server and sets it)")
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    if name == "postgres" and postgres_base_url() is None:
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV} (bash .ci/run starts a server and sets it)")
    return name


@pytest.fixture
def store_url(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A URL to a store nobody else uses, on ``backend``."""
    monkeypatch.setenv("IAMLEDGER_MASTER_KEY_FILE", str(tmp_path / "master.key"))
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'iamledger.db'}"
        return
    base = postgres_base_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:20]}"
    yield f"{base}?schema={schema}"
    engine = sqlalchemy.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def store(store_url: str) -> Iterator[IdentityStore]:
    """An open, not yet initialized store."""
    opened = IdentityStore.open(store_url)
    yield opened
    opened.close()


ACCOUNT_ID = "123456789012"


@pytest.fixture
def iam(store: IdentityStore) -> IdentityStore:
    """A store initialized with the account 123456789012, ready for IAM operations (as its root user)."""
    store.init(ACCOUNT_ID)
    return store
