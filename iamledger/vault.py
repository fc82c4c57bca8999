"""The credential vault: the one mutable table of secret material, outside the immutable event log.

An append-only log cannot forget, so secrets never enter it (design.md, "Secrets"). Every secret is encrypted with
AES-256-GCM under the master key, each bound to its own row id as associated data: access-key and session secrets,
MFA seeds, and console-password hashes (argon2id, made by :mod:`iamledger.passwords` before they get here, with the
hashes of earlier passwords). Deleting a credential deletes its row.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, Engine, LargeBinary, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError

from iamledger.domain.errors import ConfigurationError

NONCE_BYTES: Final = 12
KEY_MEMO_SIZE: Final = 10_000

metadata = MetaData()

vault_secrets = Table(
    "iamledger_vault",
    metadata,
    Column("secret_id", String(128), primary_key=True),
    Column("account_id", String(12), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("owner_arn", String(2048), nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

vault_meta = Table(
    "iamledger_vault_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)


class Vault:
    """Encrypted secret storage on the store's SQLAlchemy engine.

    The master key is asked for only when a secret is written or read, so commands that touch no secret work
    without it.
    """

    def __init__(self, engine: Engine, master_key: Callable[[], bytes]) -> None:
        self._engine = engine
        self._master_key = master_key
        self._key_secrets: dict[str, str] = {}
        """Access-key secrets already decrypted (:meth:`get_access_key_secret`), at most ``KEY_MEMO_SIZE``."""

    def create_tables(self) -> None:
        """Create the vault's tables if they do not exist yet."""
        metadata.create_all(self._engine)

    def _cipher(self) -> AESGCM:
        return AESGCM(self._master_key())

    def put_secret(self, *, secret_id: str, account_id: str, kind: str, owner_arn: str, secret: str) -> None:
        """Encrypt and store ``secret`` under ``secret_id``."""
        self._key_secrets.pop(secret_id, None)
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = nonce + self._cipher().encrypt(nonce, secret.encode("utf-8"), secret_id.encode("utf-8"))
        with self._engine.begin() as conn:
            conn.execute(
                insert(vault_secrets).values(
                    secret_id=secret_id,
                    account_id=account_id,
                    kind=kind,
                    owner_arn=owner_arn,
                    ciphertext=ciphertext,
                    created_at=datetime.now(UTC),
                )
            )

    def get_secret(self, secret_id: str) -> str | None:
        """The decrypted secret stored under ``secret_id``, or ``None`` when there is none."""
        with self._engine.connect() as conn:
            row = conn.execute(select(vault_secrets.c.ciphertext).where(vault_secrets.c.secret_id == secret_id)).first()
        if row is None:
            return None
        blob: bytes = row[0]
        try:
            plain = self._cipher().decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], secret_id.encode("utf-8"))
        except InvalidTag:
            raise ConfigurationError(
                "The credential vault cannot be decrypted with this master key: check $IAMLEDGER_MASTER_KEY."
            ) from None
        return plain.decode("utf-8")

    def get_access_key_secret(self, access_key_id: str) -> str | None:
        """The secret of the access key ``access_key_id``, memoised: a key's secret never changes and a key id is
        never reused, so a memoised secret is never stale for a key the access-keys view still holds (callers check
        the key's row first: a deleted key has none). Request authentication reads one per request."""
        secret = self._key_secrets.get(access_key_id)
        if secret is None:
            secret = self.get_secret(access_key_id)
            if secret is not None:
                if len(self._key_secrets) >= KEY_MEMO_SIZE:
                    self._key_secrets.clear()
                self._key_secrets[access_key_id] = secret
        return secret

    def delete_secret(self, secret_id: str) -> None:
        """Forget the secret stored under ``secret_id``."""
        self._key_secrets.pop(secret_id, None)
        with self._engine.begin() as conn:
            conn.execute(delete(vault_secrets).where(vault_secrets.c.secret_id == secret_id))

    def get_meta(self, name: str) -> str | None:
        """A vault setting (such as the master key's check value)."""
        with self._engine.connect() as conn:
            row = conn.execute(select(vault_meta.c.value).where(vault_meta.c.name == name)).first()
        return None if row is None else str(row[0])

    def set_meta(self, name: str, value: str) -> str:
        """Store a vault setting once and return the value that holds: an existing setting is left as it is, even
        when another process wrote it a moment ago."""
        try:
            with self._engine.begin() as conn:
                exists = conn.execute(select(vault_meta.c.value).where(vault_meta.c.name == name)).first()
                if exists is not None:
                    return str(exists[0])
                conn.execute(insert(vault_meta).values(name=name, value=value))
        except IntegrityError:
            stored = self.get_meta(name)
            if stored is None:  # pragma: no cover - the conflicting row cannot vanish
                raise
            return stored
        return value
