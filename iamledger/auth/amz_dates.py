"""SigV4's times: ``X-Amz-Date`` in ISO 8601's basic format (``20261127T101010Z``), the ``Date`` header it may stand in
for, and the UTC the checks compare them in."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

from iamledger.auth.errors import IncompleteSignatureError

AMZ_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")


def _bad_date(value: str) -> IncompleteSignatureError:
    return IncompleteSignatureError(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


@functools.lru_cache(maxsize=256)  # the requests of one second share it; a datetime is immutable
def parse_amz_date(value: str) -> datetime:
    """``X-Amz-Date`` (``YYYYMMDDTHHMMSSZ``) as an aware UTC datetime; :class:`IncompleteSignatureError` otherwise."""
    if not _AMZ_DATE.fullmatch(value):
        raise _bad_date(value)
    try:  # the pattern matched: ``YYYYMMDDTHHMMSSZ`` (strptime costs ten times more)
        return datetime(
            int(value[0:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[9:11]),
            int(value[11:13]),
            int(value[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        raise _bad_date(value) from None


def parse_date_header(value: str) -> datetime:
    """The ``Date`` header, used when there is no ``X-Amz-Date``: RFC 7231's format, or SigV4's basic format."""
    if _AMZ_DATE.fullmatch(value.strip()):
        return parse_amz_date(value.strip())
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise _bad_date(value) from None
    return as_utc(parsed).replace(microsecond=0)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC (a naive one is taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def stamp(moment: datetime) -> str:
    """``moment`` in SigV4's basic format."""
    return moment.strftime(AMZ_DATE_FORMAT)
