"""What a request says about its signature, read from its ``Authorization`` header or its presigned query string:
the access key id, the credential scope, the signed headers, the signing time and the signature. Nothing is verified
here (:func:`iamledger.auth.sigv4.verify` does that)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, cast

from iamledger.auth.amz_dates import AMZ_DATE_FORMAT, parse_amz_date, parse_date_header
from iamledger.auth.errors import IncompleteSignatureError, MissingAuthenticationTokenError
from iamledger.auth.http_request import HttpRequest

ALGORITHM: Final = "AWS4-HMAC-SHA256"
MAX_PRESIGNED_EXPIRES: Final = 604800
"""The longest ``X-Amz-Expires`` SigV4 allows: seven days, in seconds."""

_QUERY_REQUIRED: Final = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
_HEADER_REQUIRED: Final = ("Credential", "Signature", "SignedHeaders")


@dataclass(frozen=True)
class CredentialScope:
    """The ``date/region/service/aws4_request`` part of a SigV4 credential."""

    date: str
    region: str
    service: str
    terminator: str

    def __str__(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class SignatureInfo:
    """What a request says about its signature, from its ``Authorization`` header or its presigned query string."""

    presigned: bool
    access_key_id: str
    scope: CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: str
    """The signing time in SigV4's basic format (``20261127T101010Z``), as it enters the string to sign."""
    signing_time: datetime
    expires: int | None
    """``X-Amz-Expires`` of a presigned URL, in seconds; None for the header form or when absent."""
    security_token: str | None = field(default=None, repr=False)


def parse_authorization(request: HttpRequest) -> SignatureInfo:
    """Read the signature's parts from the ``Authorization`` header or the presigned query string.

    Raises :class:`MissingAuthenticationTokenError` when the request carries neither, and
    :class:`IncompleteSignatureError` when a part is missing or malformed. Nothing is verified here.
    """
    if request._signature:  # noqa: SLF001 - the request's own memo
        return request._signature[0]  # noqa: SLF001
    info = _parse_authorization(request)
    request._signature.append(info)  # noqa: SLF001
    return info


def _parse_authorization(request: HttpRequest) -> SignatureInfo:
    query = request.query_pairs()
    presigned = any(name == "X-Amz-Algorithm" for name, _ in query)
    authorization = request.header("authorization")
    if presigned and authorization is not None:
        raise IncompleteSignatureError(
            "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
        )
    if presigned:
        return _parse_query(request, query)
    if authorization is None or not authorization.strip().startswith("AWS4-"):
        raise MissingAuthenticationTokenError
    return _parse_header(request, authorization.strip())


def _parse_header(request: HttpRequest, header: str) -> SignatureInfo:
    # ``header`` is stripped: str.split() splits on the runs of whitespace that ``\s+`` matches, without a regex
    algorithm, *after = header.split(None, 1)
    rest = after[0] if after else ""
    params: dict[str, str] = {}
    for part in rest.replace(",", " ").split():  # the parameters, between runs of commas and whitespace
        name, equals, value = part.partition("=")
        if not equals:
            raise IncompleteSignatureError(
                f"'{part}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            )
        params.setdefault(name, value)
    problems = [
        f"Authorization header requires '{name}' parameter. " for name in _HEADER_REQUIRED if not params.get(name)
    ]
    amz_date = request.header("x-amz-date")
    date = request.header("date")
    if amz_date is None and date is None:
        problems.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ")
    if problems:
        raise IncompleteSignatureError("".join(problems) + f"Authorization={header}")
    signing_time = parse_amz_date(amz_date) if amz_date is not None else parse_date_header(cast("str", date))
    _check_algorithm(algorithm)
    access_key_id, scope = _parse_credential(params["Credential"])
    return SignatureInfo(
        presigned=False,
        access_key_id=access_key_id,
        scope=scope,
        signed_headers=tuple(params["SignedHeaders"].split(";")),
        signature=params["Signature"],
        amz_date=amz_date if amz_date is not None else signing_time.strftime(AMZ_DATE_FORMAT),
        signing_time=signing_time,
        expires=None,
        security_token=request.header("x-amz-security-token"),
    )


def _parse_query(request: HttpRequest, query: list[tuple[str, str]]) -> SignatureInfo:
    params: dict[str, str] = {}
    for name, value in query:
        params.setdefault(name, value)
    missing = [
        f"AWS query-string parameters must include '{name}'. " for name in _QUERY_REQUIRED if not params.get(name)
    ]
    if missing:
        raise IncompleteSignatureError("".join(missing) + "Re-examine the query-string parameters.")
    signing_time = parse_amz_date(params["X-Amz-Date"])
    _check_algorithm(params["X-Amz-Algorithm"])
    access_key_id, scope = _parse_credential(params["X-Amz-Credential"])
    token = request.header("x-amz-security-token")
    return SignatureInfo(
        presigned=True,
        access_key_id=access_key_id,
        scope=scope,
        signed_headers=tuple(params["X-Amz-SignedHeaders"].split(";")),
        signature=params["X-Amz-Signature"],
        amz_date=params["X-Amz-Date"],
        signing_time=signing_time,
        expires=_parse_expires(params.get("X-Amz-Expires")),
        security_token=token if token is not None else params.get("X-Amz-Security-Token"),
    )


def _check_algorithm(algorithm: str) -> None:
    if algorithm != ALGORITHM:
        raise IncompleteSignatureError(f"Unsupported AWS 'algorithm': '{algorithm}' (only {ALGORITHM} for now). ")


def _parse_credential(credential: str) -> tuple[str, CredentialScope]:
    parts = credential.split("/")
    if len(parts) != 5:  # noqa: PLR2004 - keyid/date/region/service/terminator
        raise IncompleteSignatureError(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
            f"got '{credential}'"
        )
    access_key_id, date, region, service, terminator = parts
    return access_key_id, CredentialScope(date=date, region=region, service=service, terminator=terminator)


def _parse_expires(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise IncompleteSignatureError("X-Amz-Expires should be a number")
    seconds = int(value)
    if seconds > MAX_PRESIGNED_EXPIRES:
        raise IncompleteSignatureError(
            f"X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGNED_EXPIRES}"
        )
    return seconds
