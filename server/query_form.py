"""The fields of a Query-protocol request: the query string's (less SigV4's ``X-Amz-*`` fields) and then the
form-encoded body's, in order."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from urllib.parse import parse_qsl, unquote

from iamledger.auth import HttpRequest
from iamledger.domain.errors import InvalidInputError

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"


def request_fields(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's fields as ``(name, value)`` pairs: the query string's, then a form body's (a body without a
    content type counts as a form). A body that is not UTF-8 is refused with :class:`InvalidInputError`."""
    pairs = [(name, value) for name, value in request.query_pairs() if not name.startswith("X-Amz-")]
    content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if request.body and (content_type in {FORM_CONTENT_TYPE, ""}):
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInputError("The request body is not UTF-8 form data.") from None
        pairs.extend(form_pairs(text))
    return pairs


def form_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)``, pair for pair: the fields are split on ``&`` (empty ones
    skipped), a field without ``=`` has the value ``""``, and ``+`` and percent escapes are decoded (UTF-8, invalid
    sequences replaced) only in the names and values that have them, which in an SDK's form body are few."""
    if "&&" in text or text.startswith("&") or text.endswith("&"):
        return parse_qsl(text, keep_blank_values=True)
    pairs = []
    for item in text.split("&") if text else ():
        name, _, value = item.partition("=")
        if "%" in name or "+" in name:
            name = unquote(name.replace("+", " "))
        if "%" in value or "+" in value:
            value = unquote(value.replace("+", " "))
        pairs.append((name, value))
    return pairs


def first_value(pairs: Iterable[tuple[str, str]], name: str) -> str | None:
    """The value of the first field named ``name``, or None."""
    return next((value for key, value in pairs if key == name), None)
