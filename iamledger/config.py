"""Where the store lives: one database URL picks both the event recorder and the SQLAlchemy engine.

``sqlite:///./iamledger.db`` (the default, a relative path), ``sqlite:////abs/path.db``, or
``postgresql://user:password@host:5432/dbname`` (``postgres://`` and ``postgresql+psycopg://`` are accepted too).
A ``?schema=NAME`` query parameter puts a PostgreSQL store in its own schema.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from iamledger.domain.errors import ConfigurationError

DEFAULT_URL: Final = "sqlite:///./iamledger.db"
DB_ENV_VAR: Final = "IAMLEDGER_DB"
SQLITE_BUSY_TIMEOUT_SECONDS: Final = 30
APPLICATION_NAME: Final = "iamledger"
CLI_COMMANDS: Final = "iamledger.commands"
"""The entry-point group of commands other packages add to the ``iamledger`` command line (``iamledger serve`` is the
endpoint's: the CLI loads it by name and never imports the server)."""
CLI_STORE_URL: Final = "iamledger.store_url"
"""The key, in a click context's ``meta``, of the store URL the root's ``--db`` gives (``None``: ``$IAMLEDGER_DB``),
for commands that do not import the CLI."""
_SCHEMA_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


@dataclass(frozen=True, slots=True)
class StoreURL:
    """A parsed database URL."""

    backend: Literal["sqlite", "postgres"]
    url: str
    path: Path | None = None
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""

    @classmethod
    def parse(cls, url: str | None = None) -> StoreURL:
        """Parse ``url``; with none, ``$IAMLEDGER_DB`` or the default ``sqlite:///./iamledger.db``."""
        url = url or os.environ.get(DB_ENV_VAR) or DEFAULT_URL
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "sqlite":
            raw = unquote(url[len("sqlite://") :])
            if not raw.startswith("/") or raw == "/":
                raise ConfigurationError(f"Invalid SQLite URL '{url}': use sqlite:///relative.db or sqlite:////abs.db.")
            return cls(backend="sqlite", url=url, path=Path(raw[1:]).expanduser())
        if scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
            query = parse_qs(parts.query)
            schema = query.get("schema", [""])[0]
            if schema and not _SCHEMA_PATTERN.fullmatch(schema):
                raise ConfigurationError(f"Invalid PostgreSQL schema name '{schema}'.")
            dbname = unquote(parts.path.lstrip("/"))
            if not dbname:
                raise ConfigurationError(f"Invalid PostgreSQL URL '{redact(url)}': it names no database.")
            return cls(
                backend="postgres",
                url=url,
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or ""),
                password=unquote(parts.password or ""),
                dbname=dbname,
                schema=schema,
            )
        raise ConfigurationError(
            f"Unsupported database URL '{redact(url)}': use sqlite:///path.db or postgresql://user:pass@host/db."
        )

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment that makes an ``eventsourcing`` application record its events in this database."""
        if self.backend == "sqlite":
            assert self.path is not None  # noqa: S101 - set for every SQLite URL by parse()
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.path),
                "SQLITE_LOCK_TIMEOUT": str(SQLITE_BUSY_TIMEOUT_SECONDS),
            }
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_LOCK_TIMEOUT": str(SQLITE_BUSY_TIMEOUT_SECONDS),
            "POSTGRES_CONNECT_TIMEOUT": "10",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def display(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return redact(self.url)


def redact(url: str) -> str:
    """``url`` with the password of its user info replaced by ``***``."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)
