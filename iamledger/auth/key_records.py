"""What the store tells the verifier about one access key (:class:`KeyRecord`), and the digest under which a
temporary key's session token is recorded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

KeyStatus = Literal["Active", "Inactive"]


@dataclass(frozen=True)
class KeyRecord:
    """What the store knows about one access key; ``lookup`` returns it, or None for an unknown or deleted key.

    ``session_token_digest`` is the SHA-256 hex digest of the session token of temporary credentials (see
    :func:`session_token_digest`), None for a long-term key; ``expiration`` is when temporary credentials expire.
    Naive datetimes are taken as UTC.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    status: KeyStatus
    owner_arn: str
    account_id: str
    expiration: datetime | None = None
    session_token_digest: str | None = None

    @property
    def temporary(self) -> bool:
        """Whether these are temporary (STS) credentials, which need their session token."""
        return self.session_token_digest is not None


def session_token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a session token is recorded in :attr:`KeyRecord.session_token_digest`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
