"""AWS Signature Version 4 verification of incoming requests.

The endpoint (and anything else that receives a signed request) hands :func:`verify` the request as it arrived, a
``lookup`` from access key id to :class:`KeyRecord`, and the current time; it gets back a :class:`VerifiedCaller` or
one of the refusals of :mod:`iamledger.auth.errors`, each with AWS's code and text.

The expected signature is computed by botocore, the signer boto3 and the aws CLI use: the request is rebuilt as a
``botocore.awsrequest.AWSRequest`` holding only the headers the caller signed, its timestamp is set from
``X-Amz-Date``, and botocore's ``canonical_request``, ``string_to_sign`` and ``signature`` give the signature to
compare. This module parses the ``Authorization`` header and the presigned query string and applies AWS's checks
(clock skew, credential scope, key state, session token) around that; it has no canonicalisation of its own.

Checks run in AWS's order, so a request with several faults is refused for the same one AWS would name:
the signature's parts are present and well-formed; the signing time is within 15 minutes of ``now`` (and, for a
presigned URL, within its ``X-Amz-Expires``); ``host`` is signed; the credential scope names the right service,
region, date and terminator; the access key exists and is active; a temporary key comes with its session token and
has not expired; and last the signature itself.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Final, Literal, cast
from urllib.parse import unquote, urlsplit, urlunsplit

from iamledger.auth.errors import (
    ExpiredTokenError,
    IncompleteSignatureError,
    InvalidClientTokenIdError,
    MissingAuthenticationTokenError,
    RequestExpiredError,
    SignatureDoesNotMatchError,
)

if TYPE_CHECKING:  # botocore is imported when a signature is first checked (see _rebuild)
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

ALGORITHM: Final = "AWS4-HMAC-SHA256"
TERMINATOR: Final = "aws4_request"
ALLOWED_SKEW: Final = timedelta(minutes=15)
"""How far the signing time may be from the server's clock, either way (AWS's value for IAM and STS)."""
MAX_PRESIGNED_EXPIRES: Final = 604800
"""The longest ``X-Amz-Expires`` SigV4 allows: seven days, in seconds."""
GLOBAL_SERVICES: Final = frozenset({"iam"})
"""Services with one global endpoint: any region in the credential scope is accepted (AWS signs IAM with us-east-1)."""
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"
AMZ_DATE_FORMAT: Final = "%Y%m%dT%H%M%SZ"

_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_HOST_NOT_SIGNED: Final = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
_QUERY_REQUIRED: Final = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
_HEADER_REQUIRED: Final = ("Credential", "Signature", "SignedHeaders")

HeaderInput = Mapping[str, str] | Mapping[str, bytes] | Iterable[tuple[str, str]] | Iterable[tuple[str, bytes]]
KeyStatus = Literal["Active", "Inactive"]


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
    """:func:`parse_authorization`'s answer, once given (the endpoint reads the key id before verifying)."""
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


@dataclass(frozen=True)
class KeyRecord:
    """What the store knows about one access key; ``lookup`` returns it, or None for an unknown or deleted key.

    ``session_token_digest`` is the SHA-256 hex digest of the session token of temporary credentials (see
    :func:`session_token_digest`), None for a long-term key; ``expiration`` is when temporary credentials expire.
    Naive datetimes are taken as UTC.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    status: KeyStatus
    owner_arn: str
    account_id: str
    expiration: datetime | None = None
    session_token_digest: str | None = None

    @property
    def temporary(self) -> bool:
        """Whether these are temporary (STS) credentials, which need their session token."""
        return self.session_token_digest is not None


@dataclass(frozen=True)
class VerifiedCaller:
    """Who signed an accepted request, and with which scope.

    ``region`` is the credential scope's region as signed, reported even for IAM, whose endpoint accepts any.
    """

    access_key_id: str
    owner_arn: str
    account_id: str
    region: str
    service: str
    temporary: bool
    signing_time: datetime
    presigned: bool


def session_token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a session token is recorded in :attr:`KeyRecord.session_token_digest`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


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


def verify(
    request: HttpRequest,
    *,
    lookup: Callable[[str], KeyRecord | None],
    now: datetime,
    expected_service: AbstractSet[str] | None = None,
    expected_region: str | None = None,
) -> VerifiedCaller:
    """Authenticate ``request`` signed with SigV4, or raise the refusal AWS would send.

    ``lookup`` maps an access key id to its :class:`KeyRecord` (None if unknown or deleted); ``now`` is the server's
    clock (naive means UTC). ``expected_service`` lists the signing names this endpoint answers to (None accepts
    any); ``expected_region`` is the endpoint's region, checked for every service but the global IAM.
    """
    info = parse_authorization(request)
    current = _as_utc(now)
    _check_time(info, current)
    if "host" not in info.signed_headers:
        raise SignatureDoesNotMatchError(_HOST_NOT_SIGNED)
    _check_scope(info, expected_service, expected_region)
    key = lookup(info.access_key_id)
    if key is None or key.access_key_id != info.access_key_id or key.status != "Active":
        raise InvalidClientTokenIdError
    _check_session_token(key, info.security_token)
    if key.expiration is not None and current >= _as_utc(key.expiration):
        raise ExpiredTokenError
    _check_payload_hash(request, info)
    provided = info.signature.encode("utf-8")
    if not any(hmac.compare_digest(expected.encode("utf-8"), provided) for expected in _candidates(request, info, key)):
        raise SignatureDoesNotMatchError
    return VerifiedCaller(
        access_key_id=key.access_key_id,
        owner_arn=key.owner_arn,
        account_id=key.account_id,
        region=info.scope.region,
        service=info.scope.service,
        temporary=key.temporary,
        signing_time=info.signing_time,
        presigned=info.presigned,
    )


# --- parsing ---------------------------------------------------------------------------------------------------------


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
    signing_time = _parse_amz_date(amz_date) if amz_date is not None else _parse_date_header(cast("str", date))
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
    signing_time = _parse_amz_date(params["X-Amz-Date"])
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


def _bad_date(value: str) -> IncompleteSignatureError:
    return IncompleteSignatureError(
        f"Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


@functools.lru_cache(maxsize=256)  # the requests of one second share it; a datetime is immutable
def _parse_amz_date(value: str) -> datetime:
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


def _parse_date_header(value: str) -> datetime:
    """The ``Date`` header, used when there is no ``X-Amz-Date``: RFC 7231's format, or SigV4's basic format."""
    if _AMZ_DATE.fullmatch(value.strip()):
        return _parse_amz_date(value.strip())
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise _bad_date(value) from None
    return _as_utc(parsed).replace(microsecond=0)


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


# --- checks ----------------------------------------------------------------------------------------------------------


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime(AMZ_DATE_FORMAT)


def _check_time(info: SignatureInfo, now: datetime) -> None:
    """AWS's 15-minute window around the server's clock, then a presigned URL's own ``X-Amz-Expires``."""
    signed = info.signing_time
    earliest, latest = now - ALLOWED_SKEW, now + ALLOWED_SKEW
    if signed < earliest:
        raise SignatureDoesNotMatchError(
            f"Signature expired: {_stamp(signed)} is now earlier than {_stamp(earliest)} ({_stamp(now)} - 15 min.)"
        )
    if signed > latest:
        raise SignatureDoesNotMatchError(
            f"Signature not yet current: {_stamp(signed)} is still later than {_stamp(latest)} "
            f"({_stamp(now)} + 15 min.)"
        )
    if info.expires is not None and now > signed + timedelta(seconds=info.expires):
        raise RequestExpiredError


def _check_scope(info: SignatureInfo, expected_service: Iterable[str] | None, expected_region: str | None) -> None:
    scope = info.scope
    problems = []
    if expected_region is not None and scope.service not in GLOBAL_SERVICES and scope.region != expected_region:
        problems.append("Credential should be scoped to a valid region. ")
    if expected_service is not None:
        services = sorted(expected_service)
        if scope.service not in services:
            named = "' or '".join(services)
            problems.append(f"Credential should be scoped to correct service: '{named}'. ")
    if scope.terminator != TERMINATOR:
        problems.append(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{scope.terminator}'. "
        )
    if scope.date != info.amz_date[:8]:
        problems.append(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{scope.date}' != '{info.amz_date[:8]}', from '{info.amz_date}'. "
        )
    if problems:
        raise SignatureDoesNotMatchError("".join(problems))


def _check_session_token(key: KeyRecord, token: str | None) -> None:
    """A temporary key needs its own session token; a long-term key takes none. AWS says "invalid" either way."""
    if key.session_token_digest is None:
        if token is not None:
            raise InvalidClientTokenIdError
        return
    if token is None or not hmac.compare_digest(
        session_token_digest(token).encode("ascii"), key.session_token_digest.lower().encode("utf-8")
    ):
        raise InvalidClientTokenIdError


def _check_payload_hash(request: HttpRequest, info: SignatureInfo) -> None:
    """A signed ``x-amz-content-sha256`` stands for the body in the signature, so it must be the body's hash.

    ``UNSIGNED-PAYLOAD`` is accepted only for an empty body: IAM and STS read their parameters from the body, which
    must never escape the signature.
    """
    if info.presigned or "x-amz-content-sha256" not in info.signed_headers:
        return
    values = request.header_values("x-amz-content-sha256")
    if len(values) != 1:
        raise SignatureDoesNotMatchError
    claimed = values[0].strip()
    if claimed == UNSIGNED_PAYLOAD and not request.body:
        return
    if claimed.lower() != hashlib.sha256(request.body).hexdigest():
        raise SignatureDoesNotMatchError


# --- the signature, computed by botocore ------------------------------------------------------------------------------


def _rebuild(request: HttpRequest, info: SignatureInfo) -> AWSRequest:
    """The request as botocore would have signed it: only the signed headers, the timestamp from ``X-Amz-Date``.

    The query string goes in as decoded parameters, so botocore's own encoding produces the canonical query string
    whatever percent-encoding the client's URL used; a presigned URL's ``X-Amz-Signature`` is left out, as SigV4
    requires.
    """
    parts = urlsplit(request.url)
    params = [
        (name, value) for name, value in request.query_pairs() if not (info.presigned and name == "X-Amz-Signature")
    ]
    from botocore.awsrequest import AWSRequest

    aws_request = AWSRequest(
        method=request.method,
        url=urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
        data=request.body,
        params=params,
    )
    signed = set(info.signed_headers)
    for name, value in request.header_pairs:
        if name.lower() in signed:
            aws_request.headers[name] = value  # HTTPHeaders appends: repeated headers keep every value
    aws_request.context["timestamp"] = info.amz_date
    return aws_request


def _candidates(request: HttpRequest, info: SignatureInfo, key: KeyRecord) -> Iterator[str]:
    """The signatures the request may carry: :func:`direct_signature` where it applies (an SDK's usual request),
    then, only if that one does not match, what botocore itself computes (every form botocore signs)."""
    direct = direct_signature(request, info, key.secret_access_key)
    if direct is not None:
        yield direct
    yield from _signatures(request, info, key)


_NOT_SIGNED: Final = frozenset({"expect", "transfer-encoding", "user-agent", "x-amzn-trace-id"})
"""The headers botocore never signs (``botocore.auth.SIGNED_HEADERS_BLACKLIST``)."""
_SIGNING_KEYS: dict[tuple[str, str, str, str], bytes] = {}


def direct_signature(request: HttpRequest, info: SignatureInfo, secret_access_key: str) -> str | None:
    """The SigV4 signature of a header-signed request to ``/`` without a query string, each signed header present
    once (what SDKs send to IAM and STS), computed here as botocore's ``SigV4Auth`` computes it, without building
    botocore's request; ``None`` for any other request (then botocore computes it). The signing key is derived once
    per secret, day, region and service."""
    if info.presigned or request.method.upper() not in {"GET", "POST"}:
        return None
    parts = urlsplit(request.url)
    if parts.path != "/" or parts.query:
        return None
    values = _signed_values(request, info)
    if values is None:
        return None
    names = sorted(values)
    payload = request.header("x-amz-content-sha256") if "x-amz-content-sha256" in values else None
    if payload is None:  # botocore takes the header's value as it is, else hashes the body
        payload = hashlib.sha256(request.body).hexdigest()
    canonical = "\n".join(
        [
            request.method.upper(),
            "/",
            "",
            "".join(f"{name}:{values[name]}\n" for name in names),
            ";".join(names),
            payload,
        ]
    )
    day = info.amz_date[0:8]
    scope = f"{day}/{info.scope.region}/{info.scope.service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, info.amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    memo = (secret_access_key, day, info.scope.region, info.scope.service)
    signing_key = _SIGNING_KEYS.get(memo)
    if signing_key is None:
        signing_key = ("AWS4" + secret_access_key).encode("utf-8")
        for part in (day, info.scope.region, info.scope.service, "aws4_request"):
            signing_key = hmac.digest(signing_key, part.encode("utf-8"), "sha256")
        if len(_SIGNING_KEYS) >= _SIGNING_KEYS_MAX:
            _SIGNING_KEYS.clear()
        _SIGNING_KEYS[memo] = signing_key
    return hmac.digest(signing_key, to_sign.encode("utf-8"), "sha256").hex()  # OpenSSL's one-shot HMAC


_SIGNING_KEYS_MAX: Final = 10_000


def _signed_values(request: HttpRequest, info: SignatureInfo) -> dict[str, str] | None:
    """The signed headers' canonical values (spaces folded) by lower-case name; ``None`` when one is missing or
    repeated, or is one botocore never signs."""
    values: dict[str, str] = {}
    wanted = set(info.signed_headers)
    if wanted & _NOT_SIGNED:
        return None
    for name, value in request.header_pairs:
        lowered = name.lower()
        if lowered in wanted:
            if lowered in values:
                return None  # repeated: botocore joins the values
            values[lowered] = " ".join(value.split())
    return values if len(values) == len(wanted) else None


def _signatures(request: HttpRequest, info: SignatureInfo, key: KeyRecord) -> list[str]:
    """The signatures botocore computes for this request with the key's secret (more than one for presigned URLs).

    A presigned URL's payload hash is the body's (botocore's ``SigV4QueryAuth``, what ``generate_presigned_url``
    uses for IAM and STS) or, for an empty body only, ``UNSIGNED-PAYLOAD`` (``S3SigV4QueryAuth``, other SDKs).
    """
    aws_request = _rebuild(request, info)
    from botocore.auth import S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
    from botocore.credentials import Credentials

    credentials = Credentials(key.access_key_id, key.secret_access_key)
    scope = info.scope
    signers: list[SigV4Auth]
    if info.presigned:
        signers = [SigV4QueryAuth(credentials, scope.service, scope.region)]
        if not request.body:
            signers.append(S3SigV4QueryAuth(credentials, scope.service, scope.region))
    else:
        signers = [SigV4Auth(credentials, scope.service, scope.region)]
    # botocore derives SignedHeaders from the headers it is given; a list it cannot reproduce (a signed header that is
    # absent, or one botocore never signs, such as user-agent) cannot have been signed as the caller claims.
    if signers[0].signed_headers(signers[0].headers_to_sign(aws_request)) != ";".join(info.signed_headers):
        return []
    signatures = []
    for signer in signers:
        canonical_request = signer.canonical_request(aws_request)
        string_to_sign = signer.string_to_sign(aws_request, canonical_request)
        signatures.append(str(signer.signature(string_to_sign, aws_request)))
    return signatures
