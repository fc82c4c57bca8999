"""Opening a store's database: the SQLite file made ready (or refused when it must already exist), and the check
that the database is reachable, with, on PostgreSQL, the lock held while the tables are created."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from iamledger.domain.errors import DatabaseUnavailableError, StoreNotInitializedError

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from iamledger.config import StoreURL

SCHEMA_LOCK_KEY: Final = 0x1A3_1ED6E8  # an arbitrary constant: "iamledger schema"


def prepare_sqlite_file(store_url: StoreURL, *, create: bool) -> None:
    """For a SQLite store whose file does not exist yet: refuse it with :class:`StoreNotInitializedError` unless
    ``create``, else make its folder. Nothing for PostgreSQL, nor for a file that exists."""
    if store_url.backend == "sqlite":
        assert store_url.path is not None  # noqa: S101 - always set for SQLite
        if not store_url.path.exists():
            if not create:
                raise StoreNotInitializedError(
                    f"No iamledger store at {store_url.display()}: run `iamledger init` first."
                )
            store_url.path.parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def schema_lock(engine: Engine, store_url: StoreURL) -> Iterator[None]:
    """Check the database is reachable and, on PostgreSQL, hold an advisory lock while the tables are created:
    concurrent ``CREATE ... IF NOT EXISTS`` from several processes opening one new store would otherwise fail
    with "tuple concurrently updated"."""
    try:
        conn = engine.connect()
        if store_url.backend == "postgres":
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            if store_url.schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{store_url.schema}"'))
            conn.commit()
        else:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        engine.dispose()
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        raise DatabaseUnavailableError(f"Cannot open the store at {store_url.display()}: {reason}") from None
    try:
        yield
    finally:
        if store_url.backend == "postgres":
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
            conn.commit()
        conn.close()
