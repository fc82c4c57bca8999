"""AWS-shaped identifiers: account ids, unique ids with their type prefixes, access keys.

See ``reference/iam-semantics.md`` section 6.2: unique ids are a four-letter prefix (``AIDA`` user, ``AGPA`` group,
``AROA`` role, ``ANPA`` managed policy, ``AIPA`` instance profile, ``AKIA`` access key, ``ASIA`` temporary key)
followed by base32 (``A-Z2-7``): 21 characters in all for entities, 20 for access keys; secret access keys are 40
base64 characters.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Final

from iamledger.domain.errors import ValidationError

ACCOUNT_ID_PATTERN: Final = re.compile(r"[0-9]{12}")
_BASE32: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_account_id() -> str:
    """A random 12-digit AWS account id."""
    return f"{secrets.randbelow(10**12):012d}"


def is_account_id(value: str) -> bool:
    """Whether ``value`` is a 12-digit AWS account id."""
    return ACCOUNT_ID_PATTERN.fullmatch(value) is not None


def check_account_id(value: str) -> str:
    """``value`` if it is a 12-digit account id; else a ``ValidationError`` in AWS's words."""
    if not is_account_id(value):
        msg = f"Invalid account id '{value}': an account id is exactly 12 digits."
        raise ValidationError(msg)
    return value


def _random_base32(length: int) -> str:
    # one read of the system's randomness for the whole id (``secrets.choice`` reads it once per character); 32
    # divides 256, so each character stays uniform
    return "".join(_BASE32[byte & 31] for byte in secrets.token_bytes(length))


def new_unique_id(prefix: str) -> str:
    """An entity's unique id such as ``AIDAJQABLZS4A3QDU576Q``: the type prefix and 17 base32 characters (21 in all,
    as AWS's)."""
    return prefix + _random_base32(17)


def new_access_key_id(*, temporary: bool = False) -> str:
    """A long-term (``AKIA``) or temporary (``ASIA``) access key id: 20 characters, as AWS's."""
    return ("ASIA" if temporary else "AKIA") + _random_base32(16)


def new_secret_access_key() -> str:
    """A 40-character secret access key (30 random bytes, base64)."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def secret_fingerprint(secret: str) -> str:
    """A non-reversible fingerprint of a secret, safe to store in events: who holds the secret can check it."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


def root_arn(account_id: str) -> str:
    """The ARN of an account's root user."""
    return f"arn:aws:iam::{account_id}:root"
