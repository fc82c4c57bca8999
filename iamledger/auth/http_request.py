"""An HTTP request as a server received it: method, full URL, headers (names matched case-insensitively) and body."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # the memo's type; the parser imports this module
    from iamledger.auth.signature_parsing import SignatureInfo

HeaderInput = Mapping[str, str] | Mapping[str, bytes] | Iterable[tuple[str, str]] | Iterable[tuple[str, bytes]]


@dataclass(frozen=True)
class HttpRequest:
    """An HTTP request as the server received it.

    ``url`` is the full URL the client addressed, query string included (``https://iam.amazonaws.com/?Action=...``);
    ``headers`` may be a mapping, an ``email.message.Message``-like object or a list of ``(name, value)`` pairs,
    repeated names allowed, values ``str`` or ``bytes``; it is stored as a tuple of ``str`` pairs, names matched
    case-insensitively.
    """

    method: str
    url: str
    headers: HeaderInput
    body: bytes = b""
    _signature: list[SignatureInfo] = field(default_factory=list, init=False, repr=False, compare=False)
    """:func:`~iamledger.auth.signature_parsing.parse_authorization`'s answer, once given (the endpoint reads the key
    id before verifying)."""
    _by_name: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """The header values by lower-case name (a request's headers are looked up a few times each)."""

    def __post_init__(self) -> None:
        items_method = getattr(self.headers, "items", None)
        raw: Any = items_method() if callable(items_method) else self.headers
        headers = []
        by_name = self._by_name
        for raw_name, raw_value in raw:
            name = raw_name if type(raw_name) is str else _text(raw_name)
            value = raw_value if type(raw_value) is str else _text(raw_value)
            headers.append((name, value))
            key = name.lower()
            found = by_name.get(key)
            if found is None:
                by_name[key] = [value]
            else:
                found.append(value)
        object.__setattr__(self, "headers", tuple(headers))
        if not isinstance(self.body, bytes):
            raise TypeError("HttpRequest.body must be bytes")
        if not _full_url(self.url):
            raise ValueError("HttpRequest.url must be a full URL with a scheme and a host")

    @property
    def header_pairs(self) -> tuple[tuple[str, str], ...]:
        """Every header as a ``(name, value)`` pair, in the order received."""
        return cast("tuple[tuple[str, str], ...]", self.headers)

    def header_values(self, name: str) -> list[str]:
        """Every value of the header ``name`` (case-insensitive), in the order received."""
        return list(self._by_name.get(name.lower(), ()))

    def header(self, name: str) -> str | None:
        """The first value of the header ``name`` (case-insensitive), or None."""
        values = self._by_name.get(name.lower())
        return values[0] if values else None

    def query_pairs(self) -> list[tuple[str, str]]:
        """The query string's parameters, percent-decoded, in order; a name without ``=`` has the value ``""``."""
        query = urlsplit(self.url).query
        pairs = []
        for item in query.split("&") if query else []:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
        return pairs


@functools.lru_cache(maxsize=1024)  # an endpoint's requests go to one URL or a few
def _full_url(url: str) -> bool:
    """Whether ``url`` has a scheme and a host."""
    parts = urlsplit(url)
    return bool(parts.scheme and parts.hostname)


def _text(value: str | bytes) -> str:
    """A header name or value as text: bytes are UTF-8 (what SDKs send), else ISO-8859-1 (HTTP's historical charset)."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
