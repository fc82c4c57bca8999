"""The console's session: who signed in, how, and until when, carried by the browser in one signed cookie.

The cookie holds no secret, only the principal's ARN, its account, the access key id it signed in with (none for a
password sign-in) and the expiry, as JSON, followed by an HMAC-SHA256 of it. The HMAC key is derived with HKDF from
the store's master key (the key of its credential vault) under a fixed label, so every worker serving one store signs
and checks alike, nobody without the master key can forge a session, and the key itself is never stored, logged or
shown. A cookie whose signature, shape or expiry is wrong is simply no session: the visitor is asked to sign in.

The same codec signs the short-lived cookie that carries a password sign-in to its MFA step (the password has been
checked; the code has not): a cookie of another purpose is never accepted as a session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE_NAME: Final = "iamledger_console"
MFA_COOKIE_NAME: Final = "iamledger_console_mfa"
COOKIE_PATH: Final = "/console/"
KEY_LABEL: Final = b"iamledger console session cookie v1"
SESSION_PURPOSE: Final = "session"
MFA_PURPOSE: Final = "mfa"
MFA_STEP_LIFETIME: Final = timedelta(minutes=5)
MAX_COOKIE_BYTES: Final = 4096


def derive_cookie_key(master_key: bytes) -> bytes:
    """The HMAC key of the console's cookies: HKDF-SHA256 of the store's master key with a fixed label (the same in
    every process serving the store, useless for anything else)."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL).derive(master_key)


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in principal: its ARN and account, the access key it signed in with (``None`` after a password
    sign-in), how it signed in (``password``, ``password+mfa`` or ``access-key``) and when the session ends."""

    principal_arn: str
    account_id: str
    access_key_id: str | None
    method: str
    expires: datetime
    user_name: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CookieCodec:
    """Signs and checks the console's cookies with one key (:func:`derive_cookie_key`)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:  # never the key
        return "CookieCodec(<key hidden>)"

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def sign(self, purpose: str, fields: dict[str, Any], expires: datetime) -> str:
        payload = {"p": purpose, "x": int(expires.timestamp()), "n": secrets.token_urlsafe(9), **fields}
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body)}"

    def open(self, purpose: str, value: str | None, now: datetime) -> dict[str, Any] | None:
        """The fields of a cookie of ``purpose`` signed by this key and not expired at ``now``; else ``None``."""
        if not value or len(value) > MAX_COOKIE_BYTES or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            return None
        if not isinstance(payload, dict) or payload.get("p") != purpose or not isinstance(payload.get("x"), int):
            return None
        if now.timestamp() >= payload["x"]:
            return None
        return payload

    def session_cookie(self, session: ConsoleSession) -> str:
        fields = {
            "a": session.principal_arn,
            "c": session.account_id,
            "k": session.access_key_id,
            "m": session.method,
            "u": session.user_name,
        }
        return self.sign(SESSION_PURPOSE, fields, session.expires)

    def session(self, value: str | None, now: datetime) -> ConsoleSession | None:
        payload = self.open(SESSION_PURPOSE, value, now)
        if payload is None:
            return None
        arn, account, key, method, user = (payload.get(name) for name in ("a", "c", "k", "m", "u"))
        if not (isinstance(arn, str) and isinstance(account, str) and isinstance(method, str)):
            return None
        if not (key is None or isinstance(key, str)) or not (user is None or isinstance(user, str)):
            return None
        return ConsoleSession(arn, account, key, method, datetime.fromtimestamp(payload["x"], UTC), user)
