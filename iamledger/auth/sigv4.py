"""AWS Signature Version 4 verification of incoming requests.

The endpoint (and anything else that receives a signed request) hands :func:`verify` the request as it arrived, a
``lookup`` from access key id to :class:`KeyRecord`, and the current time; it gets back a :class:`VerifiedCaller` or
one of the refusals of :mod:`iamledger.auth.errors`, each with AWS's code and text.

The expected signature is computed by botocore, the signer boto3 and the aws CLI use: the request is rebuilt as a
``botocore.awsrequest.AWSRequest`` holding only the headers the caller signed, its timestamp is set from
``X-Amz-Date``, and botocore's ``canonical_request``, ``string_to_sign`` and ``signature`` give the signature to
compare (:mod:`iamledger.auth.expected_signatures`). The ``Authorization`` header and the presigned query string are
parsed by :mod:`iamledger.auth.signature_parsing`; this module applies AWS's checks (clock skew, credential scope,
key state, session token) around that, and has no canonicalisation of its own.

Checks run in AWS's order, so a request with several faults is refused for the same one AWS would name:
the signature's parts are present and well-formed; the signing time is within 15 minutes of ``now`` (and, for a
presigned URL, within its ``X-Amz-Expires``); ``host`` is signed; the credential scope names the right service,
region, date and terminator; the access key exists and is active; a temporary key comes with its session token and
has not expired; and last the signature itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from iamledger.auth.amz_dates import as_utc, stamp
from iamledger.auth.errors import (
    ExpiredTokenError,
    InvalidClientTokenIdError,
    RequestExpiredError,
    SignatureDoesNotMatchError,
)
from iamledger.auth.expected_signatures import candidates
from iamledger.auth.http_request import HttpRequest
from iamledger.auth.key_records import KeyRecord, session_token_digest
from iamledger.auth.signature_parsing import SignatureInfo, parse_authorization

TERMINATOR: Final = "aws4_request"
ALLOWED_SKEW: Final = timedelta(minutes=15)
"""How far the signing time may be from the server's clock, either way (AWS's value for IAM and STS)."""
GLOBAL_SERVICES: Final = frozenset({"iam"})
"""Services with one global endpoint: any region in the credential scope is accepted (AWS signs IAM with us-east-1)."""
UNSIGNED_PAYLOAD: Final = "UNSIGNED-PAYLOAD"

_HOST_NOT_SIGNED: Final = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


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
    current = as_utc(now)
    _check_time(info, current)
    if "host" not in info.signed_headers:
        raise SignatureDoesNotMatchError(_HOST_NOT_SIGNED)
    _check_scope(info, expected_service, expected_region)
    key = lookup(info.access_key_id)
    if key is None or key.access_key_id != info.access_key_id or key.status != "Active":
        raise InvalidClientTokenIdError
    _check_session_token(key, info.security_token)
    if key.expiration is not None and current >= as_utc(key.expiration):
        raise ExpiredTokenError
    _check_payload_hash(request, info)
    provided = info.signature.encode("utf-8")
    if not any(hmac.compare_digest(expected.encode("utf-8"), provided) for expected in candidates(request, info, key)):
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


# --- checks ----------------------------------------------------------------------------------------------------------


def _check_time(info: SignatureInfo, now: datetime) -> None:
    """AWS's 15-minute window around the server's clock, then a presigned URL's own ``X-Amz-Expires``."""
    signed = info.signing_time
    earliest, latest = now - ALLOWED_SKEW, now + ALLOWED_SKEW
    if signed < earliest:
        raise SignatureDoesNotMatchError(
            f"Signature expired: {stamp(signed)} is now earlier than {stamp(earliest)} ({stamp(now)} - 15 min.)"
        )
    if signed > latest:
        raise SignatureDoesNotMatchError(
            f"Signature not yet current: {stamp(signed)} is still later than {stamp(latest)} ({stamp(now)} + 15 min.)"
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
