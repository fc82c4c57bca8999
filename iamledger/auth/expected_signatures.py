"""The signatures a SigV4-signed request may carry, computed with the signing key's secret as botocore computes them:
directly for an SDK's usual request (:func:`direct_signature`), by botocore's own signers for every other form."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit, urlunsplit

from iamledger.auth.http_request import HttpRequest
from iamledger.auth.key_records import KeyRecord
from iamledger.auth.signature_parsing import ALGORITHM, SignatureInfo

if TYPE_CHECKING:  # botocore is imported when a signature is first checked (see _rebuild)
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest


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


def candidates(request: HttpRequest, info: SignatureInfo, key: KeyRecord) -> Iterator[str]:
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
