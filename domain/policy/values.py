"""Reading the typed values that conditions compare: numbers, dates, booleans, IP networks and binary data.

Each reader returns ``None`` for text it cannot read, so a bad value makes a comparison false instead of raising.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Final, TypeAlias

IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address

_ISO: Final = re.compile(
    r"""(?P<year>[0-9]{4})
        (?:-(?P<month>[0-9]{2})
          (?:-(?P<day>[0-9]{2})
            (?:[Tt](?P<hour>[0-9]{2})
              (?::(?P<minute>[0-9]{2})
                (?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{1,9}))?)?
              )?
              (?P<zone>[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?
            )?
          )?
        )?""",
    re.VERBOSE,
)
_EPOCH: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MAX_EPOCH: Final = 253402300799  # 9999-12-31T23:59:59Z


@lru_cache(maxsize=4096)
def parse_number(text: str) -> Decimal | None:
    """A decimal number (``"10"``, ``"-1.5"``, ``"1e3"``), or ``None``."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


@lru_cache(maxsize=4096)
def parse_date(text: str) -> Decimal | None:
    """Seconds since the epoch of a W3C/ISO 8601 date-time (``2020-01-01T00:00:01Z``; no zone means UTC) or of
    epoch seconds (``"1577836801"``), or ``None``."""
    text = text.strip()
    if _EPOCH.fullmatch(text):
        seconds = Decimal(text)
        return seconds if abs(seconds) <= _MAX_EPOCH else None
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    try:
        zone = _zone(parts["zone"])
        moment = datetime(
            int(parts["year"]),
            int(parts["month"] or 1),
            int(parts["day"] or 1),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            tzinfo=zone,
        )
    except ValueError:
        return None
    fraction = Decimal(f"0.{parts['fraction']}") if parts["fraction"] else Decimal(0)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    delta = moment - epoch
    return Decimal(delta.days * 86400 + delta.seconds) + fraction


def _zone(text: str | None) -> timezone:
    if text is None or text in {"Z", "z"}:
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:  # noqa: PLR2004
        raise ValueError(text)
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@lru_cache(maxsize=4096)
def parse_network(text: str) -> IpNetwork | None:
    """An IPv4 or IPv6 network in CIDR notation; a bare address is a one-address network (``/32``, ``/128``)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def parse_address(text: str) -> IpAddress | None:
    """An IPv4 or IPv6 address, or ``None``."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def decode_binary(text: str) -> bytes:
    """The bytes a base64 value stands for; text that is not base64 stands for its own UTF-8 bytes."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode("utf-8", "surrogatepass")


def is_legacy_date(text: str) -> bool:
    """Whether IAM's "legacy parsing" accepts ``text`` as a date condition value: ISO 8601 (also with negative or
    long years) or a non-negative integer number of epoch seconds."""
    lowered = text.lower()
    if "t" not in lowered and "-" not in lowered:
        return text.isdigit() and text.isascii() and int(text) <= 2**63 - 1
    return _legacy_iso(lowered)


_LEGACY_ISO: Final = re.compile(
    r"""-?(?P<year>[0-9]+)(?:-(?P<month>[0-9]+)(?:-(?P<day>[0-9]+))?)?
        (?:t(?:(?P<hour>[0-9]+)(?::(?P<minute>[0-9]+)(?::(?P<second>[0-9]+)(?:\.[0-9]{1,9})?
            (?:z|\+[0-9]{2}(?::[0-9]{2})?)?)?)?)?)?""",
    re.VERBOSE,
)


def _legacy_iso(text: str) -> bool:
    match = _LEGACY_ISO.fullmatch(text)
    if match is None:
        return False
    limits = {"month": (1, 12), "day": (1, 31), "hour": (0, 23), "minute": (0, 59), "second": (0, 59)}
    for name, (low, high) in limits.items():
        value = match.group(name)
        if value is not None and not low <= int(value) <= high:
            return False
    return int(match.group("year")) <= 292278993  # noqa: PLR2004
