"""Console passwords: argon2id hashes, kept only in the credential vault (never in an event, a view or a log).

A user's current hash is the vault secret ``password:<user aggregate id>`` (kind ``password``); the hashes of its
previous passwords, for the account's reuse prevention, are one JSON list under ``password-history:<id>`` (kind
``password_history``), newest first. Both are encrypted like every vault secret.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from iamledger.vault import Vault

PASSWORD_KIND: Final = "password"  # noqa: S105 - a vault row kind, not a password
HISTORY_KIND: Final = "password_history"
MAX_HISTORY: Final = 24
"""The largest ``PasswordReusePrevention`` AWS allows; older hashes are forgotten."""


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with argon2-cffi's RFC 9106 "low memory" parameters


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted: two hashes of one password differ)."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return hash_password("iamledger: no such user")


def burn_verification_time(password: str) -> None:
    """Spend the time of one verification, so a sign-in for an unknown user takes as long as a wrong password."""
    verify_password(_dummy_hash(), password)


def password_secret_id(user_uuid: uuid.UUID) -> str:
    """The vault id of a user's current password hash."""
    return f"password:{user_uuid}"


def history_secret_id(user_uuid: uuid.UUID) -> str:
    """The vault id of a user's previous password hashes."""
    return f"password-history:{user_uuid}"


class PasswordVault:
    """A user's password hashes in the credential vault."""

    def __init__(self, vault: Vault, *, user_uuid: uuid.UUID, account_id: str, owner_arn: str) -> None:
        self._vault = vault
        self._user = user_uuid
        self._account = account_id
        self._owner = owner_arn

    def current(self) -> str | None:
        """The current hash, if the user has a password."""
        return self._vault.get_secret(password_secret_id(self._user))

    def history(self) -> list[str]:
        """The hashes of the previous passwords, newest first."""
        raw = self._vault.get_secret(history_secret_id(self._user))
        if raw is None:
            return []
        hashes: list[str] = json.loads(raw)
        return hashes

    def recent(self, count: int) -> list[str]:
        """The ``count`` most recent hashes, the current one included."""
        current = self.current()
        return ([current] if current else [])[:count] + self.history()[: max(count - 1, 0)]

    def reused(self, password: str, count: int) -> bool:
        """Whether ``password`` is one of the last ``count`` passwords (the current one included)."""
        return count > 0 and any(verify_password(h, password) for h in self.recent(count))

    def set_password(self, password: str) -> None:
        """Make ``password`` the user's password; the previous hash joins the history."""
        new_hash = hash_password(password)
        previous = self.current()
        if previous is not None:
            history = [previous, *self.history()][:MAX_HISTORY]
            self._replace(history_secret_id(self._user), HISTORY_KIND, json.dumps(history))
        self._replace(password_secret_id(self._user), PASSWORD_KIND, new_hash)

    def forget(self) -> None:
        """Delete the user's hashes, current and previous (its login profile is gone)."""
        self._vault.delete_secret(password_secret_id(self._user))
        self._vault.delete_secret(history_secret_id(self._user))

    def _replace(self, secret_id: str, kind: str, secret: str) -> None:
        self._vault.delete_secret(secret_id)
        self._vault.put_secret(
            secret_id=secret_id, account_id=self._account, kind=kind, owner_arn=self._owner, secret=secret
        )
