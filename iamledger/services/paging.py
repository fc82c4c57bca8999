"""IAM's pagination: ``Marker`` and ``MaxItems`` in, ``IsTruncated`` and ``Marker`` out."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from iamledger.domain.errors import InvalidInputError

DEFAULT_MAX_ITEMS: Final = 100
T = TypeVar("T")


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode(marker: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(marker.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeEncodeError):
        raise InvalidInputError("Invalid Marker.") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInputError("Invalid Marker.")
    return offset


def page(items: Sequence[T], marker: str | None, max_items: int | None) -> tuple[list[T], dict[str, Any]]:
    """One page of ``items`` and the ``IsTruncated`` / ``Marker`` fields of the response."""
    start = _decode(marker) if marker else 0
    size = max_items or DEFAULT_MAX_ITEMS
    chunk = list(items[start : start + size])
    if start + size < len(items):
        return chunk, {"IsTruncated": True, "Marker": _encode(start + size)}
    return chunk, {"IsTruncated": False}


def page_from(
    fetch: Callable[[int, int], Sequence[T]], marker: str | None, max_items: int | None
) -> tuple[list[T], dict[str, Any]]:
    """:func:`page`'s answer from ``fetch(offset, limit)``, which reads only the rows of the page (one more than the
    page holds, to tell whether more follow), for lists too long to read whole."""
    start = _decode(marker) if marker else 0
    size = max_items or DEFAULT_MAX_ITEMS
    rows = list(fetch(start, size + 1))
    if len(rows) > size:
        return rows[:size], {"IsTruncated": True, "Marker": _encode(start + size)}
    return rows, {"IsTruncated": False}
