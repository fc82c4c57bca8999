"""Long-term credentials as the domain knows them: passwords (rules only, never a password or a hash) and access
keys (ids, fingerprints, status and last use, never a secret).

Pure rules, no storage: the account password policy and its checks with AWS's ``PasswordPolicyViolation`` texts,
password expiry, and when a use of an access key is worth recording. See ``reference/iam-semantics.md`` 5.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from iamledger.domain.base import shared_when_copied
from iamledger.domain.errors import InvalidInputError, PasswordPolicyViolationError

ACCESS_KEYS_PER_USER: Final = 2
ACCESS_KEY_QUOTA_MESSAGE: Final = f"Cannot exceed quota for AccessKeysPerUser: {ACCESS_KEYS_PER_USER}"
ACCESS_KEY_STATUSES: Final = ("Active", "Inactive")
NEVER_USED: Final = "N/A"
USE_RECORD_INTERVAL: Final = timedelta(hours=1)
"""A use of an access key is recorded at most once an hour, unless its service or region changed."""

SYMBOLS: Final = frozenset("!@#$%^&*()_+-=[]{}|'")
"""The characters AWS counts as symbols in passwords."""
DEFAULT_MINIMUM_LENGTH: Final = 6
"""What an ``UpdateAccountPasswordPolicy`` without ``MinimumPasswordLength`` sets."""
DEFAULT_SIGNIN_SESSION: Final = timedelta(hours=12)
"""How long a console sign-in session lasts unless the login profile sets ``MaxSigninSessionDuration``."""


SIGN_IN_FAILED: Final = "The user name or password is incorrect."


@shared_when_copied
@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """An account password policy. ``max_password_age`` and ``password_reuse_prevention`` are 0 when unset."""

    minimum_password_length: int = DEFAULT_MINIMUM_LENGTH
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase_characters: bool = False
    require_lowercase_characters: bool = False
    allow_users_to_change_password: bool = False
    max_password_age: int = 0
    password_reuse_prevention: int = 0
    hard_expiry: bool = False

    @property
    def expire_passwords(self) -> bool:
        """Whether passwords expire (``MaxPasswordAge`` is set)."""
        return self.max_password_age > 0

    def as_payload(self) -> dict[str, Any]:
        """The policy as event payload fields."""
        return {
            "minimum_password_length": self.minimum_password_length,
            "require_symbols": self.require_symbols,
            "require_numbers": self.require_numbers,
            "require_uppercase_characters": self.require_uppercase_characters,
            "require_lowercase_characters": self.require_lowercase_characters,
            "allow_users_to_change_password": self.allow_users_to_change_password,
            "max_password_age": self.max_password_age,
            "password_reuse_prevention": self.password_reuse_prevention,
            "hard_expiry": self.hard_expiry,
        }


DEFAULT_AWS_POLICY: Final = PasswordPolicy(minimum_password_length=8)
"""The policy AWS applies when an account has none: 8 to 128 characters, at least three of the four character
classes (checked by :func:`password_violations`), passwords never expire."""


def _classes(password: str) -> dict[str, bool]:
    return {
        "uppercase letter": any("A" <= c <= "Z" for c in password),
        "lowercase letter": any("a" <= c <= "z" for c in password),
        "number": any("0" <= c <= "9" for c in password),
        "symbol": any(c in SYMBOLS for c in password),
    }


def password_violations(policy: PasswordPolicy | None, password: str, *, forbidden: tuple[str, ...] = ()) -> list[str]:
    """AWS's texts for every rule of ``policy`` that ``password`` breaks (empty when it complies). ``None`` is the
    default AWS policy, which also refuses a password equal to one of ``forbidden`` (the account's name or id)."""
    effective = policy or DEFAULT_AWS_POLICY
    problems: list[str] = []
    if len(password) < effective.minimum_password_length:
        problems.append(f"Password should have a minimum length of {effective.minimum_password_length}")
    present = _classes(password)
    if policy is None:
        if sum(present.values()) < 3:  # noqa: PLR2004 - AWS's default: three of the four classes
            problems.append(
                "Password should have at least three of the following: uppercase letters, lowercase letters, "
                "numbers and symbols"
            )
        if any(password.casefold() == f.casefold() for f in forbidden if f):
            problems.append("Password should not be the same as the account name")
        return problems
    required = {
        "uppercase letter": policy.require_uppercase_characters,
        "lowercase letter": policy.require_lowercase_characters,
        "number": policy.require_numbers,
        "symbol": policy.require_symbols,
    }
    problems.extend(
        f"Password should have at least one {name}" for name, need in required.items() if need and not present[name]
    )
    return problems


def check_password(policy: PasswordPolicy | None, password: str, *, forbidden: tuple[str, ...] = ()) -> None:
    """``PasswordPolicyViolation`` naming every broken rule, unless ``password`` complies with ``policy``."""
    problems = password_violations(policy, password, forbidden=forbidden)
    if problems:
        raise PasswordPolicyViolationError("; ".join(problems))


REUSE_VIOLATION: Final = "Policy constraint violation with password reuse prevention during password change."


def password_expired(policy: PasswordPolicy | None, last_changed: datetime, now: datetime) -> bool:
    """Whether a password last set at ``last_changed`` has expired under ``policy`` at ``now``: expiry applies at
    once to passwords older than a newly set ``MaxPasswordAge``."""
    if policy is None or not policy.expire_passwords:
        return False
    return now - last_changed >= timedelta(days=policy.max_password_age)


@shared_when_copied
@dataclass(frozen=True, slots=True)
class LoginProfile:
    """A user's console password, as the domain knows it: when it was created and last set, and its flags."""

    create_date: datetime
    password_last_changed: datetime
    password_reset_required: bool
    max_signin_session_duration: int | None = None


@shared_when_copied
@dataclass(frozen=True, slots=True)
class KeyUse:
    """The last recorded use of an access key."""

    date: datetime
    service_name: str
    region: str


@shared_when_copied
@dataclass(frozen=True, slots=True)
class AccessKey:
    """A user's long-term access key: its id, the fingerprint of its secret, status and last recorded use."""

    key_id: str
    secret_fingerprint: str
    status: str
    create_date: datetime
    last_used: KeyUse | None = None


def use_worth_recording(previous: KeyUse | None, service_name: str, region: str, now: datetime) -> bool:
    """Whether a use of a key is recorded: the first use, a use with another service or region, or the first use
    an hour or more after the last recorded one. Keeps the log small when a key signs many requests."""
    if previous is None:
        return True
    if (previous.service_name, previous.region) != (service_name, region):
        return True
    return now - previous.date >= USE_RECORD_INTERVAL


def check_access_key_status(status: str) -> str:
    """``status`` if a key can be set to it (``Active`` or ``Inactive``); else ``InvalidInput``."""
    if status not in ACCESS_KEY_STATUSES:
        raise InvalidInputError(f"Status {status} is not valid: an access key is Active or Inactive.")
    return status
