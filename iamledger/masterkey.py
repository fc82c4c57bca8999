"""The master key of the credential vault: 32 random bytes, from ``$IAMLEDGER_MASTER_KEY`` or a key file.

Resolution order: ``$IAMLEDGER_MASTER_KEY`` (URL-safe base64 of 32 bytes), then ``$IAMLEDGER_MASTER_KEY_FILE``,
then the default file: beside a SQLite database (``iamledger.db.key``), or under ``~/.config/iamledger/`` for a
PostgreSQL database. ``iamledger init`` creates the key file (mode 0600) when no key exists yet.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from pathlib import Path
from typing import Final

from iamledger.config import StoreURL
from iamledger.domain.errors import ConfigurationError

KEY_ENV_VAR: Final = "IAMLEDGER_MASTER_KEY"
KEY_FILE_ENV_VAR: Final = "IAMLEDGER_MASTER_KEY_FILE"
KEY_BYTES: Final = 32


def default_key_path(store_url: StoreURL) -> Path:
    """Where the key file of ``store_url``'s store lives when no environment variable says otherwise."""
    configured = os.environ.get(KEY_FILE_ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    if store_url.backend == "sqlite":
        assert store_url.path is not None  # noqa: S101 - always set for SQLite
        return store_url.path.with_name(store_url.path.name + ".key")
    schema = f"-{store_url.schema}" if store_url.schema else ""
    name = f"{store_url.host}-{store_url.port}-{store_url.dbname}{schema}.key"
    return Path("~/.config/iamledger").expanduser() / name


def decode_key(text: str, source: str) -> bytes:
    """Decode a base64 master key, with a clear error naming where it came from."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ConfigurationError(f"The master key in {source} is not valid base64.") from None
    if len(key) != KEY_BYTES:
        raise ConfigurationError(f"The master key in {source} must be {KEY_BYTES} bytes, not {len(key)}.")
    return key


def load_master_key(store_url: StoreURL) -> bytes | None:
    """The configured master key, or ``None`` when there is none yet."""
    text = os.environ.get(KEY_ENV_VAR)
    if text:
        return decode_key(text, f"${KEY_ENV_VAR}")
    path = default_key_path(store_url)
    if path.exists():
        return decode_key(path.read_text(encoding="ascii"), str(path))
    return None


def load_or_create_master_key(store_url: StoreURL) -> bytes:
    """The configured master key; when there is none, a new key file (mode 0600) is created atomically.

    Two processes racing to create it end up with the same key: the file appears whole (written aside, then
    hard-linked into place, which fails if another process got there first) and the loser reads the winner's.
    """
    existing = load_master_key(store_url)
    if existing is not None:
        return existing
    path = default_key_path(store_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(base64.urlsafe_b64encode(key).decode("ascii") + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        return decode_key(path.read_text(encoding="ascii"), str(path))
    finally:
        draft.unlink()
    return key


def key_check(key: bytes) -> str:
    """A non-reversible check value of a master key, stored with the vault to detect a wrong key early."""
    return hashlib.sha256(b"iamledger-master-key-check:" + key).hexdigest()
