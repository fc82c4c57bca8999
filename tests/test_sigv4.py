"""SigV4 request authentication (issue 5, item 3): requests signed by botocore itself are accepted, and every kind
of tampering, wrong key, wrong scope, skewed clock or expired credential is refused with AWS's code and text."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import botocore.session
import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamledger.auth import (
    AuthenticationError,
    ExpiredTokenError,
    HttpRequest,
    IncompleteSignatureError,
    InvalidClientTokenIdError,
    KeyRecord,
    MissingAuthenticationTokenError,
    RequestExpiredError,
    SignatureDoesNotMatchError,
    VerifiedCaller,
    parse_authorization,
    session_token_digest,
    verify,
)
from iamledger.domain.errors import IdentityStoreError, SenderError

ACCOUNT = "123456789012"
AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
INACTIVE_AKID = "AKIAI44QH8DHBEXAMPLE"
INACTIVE_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
TEMP_AKID = "ASIAQNZGKIQY56JQ7WML"
TEMP_SECRET = "ycSUcYxrkf4ReE4uXh1zkMKGjbQTEXAMPLESECRET"
TEMP_TOKEN = "FwoGZXIvYXdzEBYaDExampleSessionToken//+/=="
EXPIRED_AKID = "ASIAQNZGKIQYEXPIRED1"
EXPIRED_SECRET = "Gq7SBxv6nQ9ydLbOyw/ExpiredTemporarySecret"
EXPIRED_TOKEN = "FwoGZXIvYXdzEBYaDExpiredSessionToken=="

AT = datetime(2026, 11, 27, 10, 10, 10, tzinfo=UTC)
"""When every request of these tests is signed; the server's clock is AT unless a test moves it."""

ALL_SECRETS = (SECRET, INACTIVE_SECRET, TEMP_SECRET, EXPIRED_SECRET)

KEYS = {
    AKID: KeyRecord(AKID, SECRET, "Active", f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT),
    INACTIVE_AKID: KeyRecord(INACTIVE_AKID, INACTIVE_SECRET, "Inactive", f"arn:aws:iam::{ACCOUNT}:user/bob", ACCOUNT),
    TEMP_AKID: KeyRecord(
        TEMP_AKID,
        TEMP_SECRET,
        "Active",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci",
        ACCOUNT,
        expiration=AT + timedelta(hours=1),
        session_token_digest=session_token_digest(TEMP_TOKEN),
    ),
    EXPIRED_AKID: KeyRecord(
        EXPIRED_AKID,
        EXPIRED_SECRET,
        "Active",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/old",
        ACCOUNT,
        expiration=AT - timedelta(minutes=1),
        session_token_digest=session_token_digest(EXPIRED_TOKEN),
    ),
}
SECRETS = {record.access_key_id: record.secret_access_key for record in KEYS.values()}
TOKENS = {TEMP_AKID: TEMP_TOKEN, EXPIRED_AKID: EXPIRED_TOKEN}

IAM_URL = "https://iam.amazonaws.com/"
STS_URL = "https://sts.us-east-1.amazonaws.com/"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
LIST_USERS = b"Action=ListUsers&Version=2010-05-08"
GET_CALLER_IDENTITY = b"Action=GetCallerIdentity&Version=2011-06-15"


def lookup(access_key_id: str) -> KeyRecord | None:
    return KEYS.get(access_key_id)


def check(request: HttpRequest, *, now: datetime = AT, service: str = "iam", region: str | None = "us-east-1"):
    return verify(request, lookup=lookup, now=now, expected_service={service}, expected_region=region)


def refusal(request: HttpRequest, **kwargs: Any) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        check(request, **kwargs)
    error = caught.value
    for secret in ALL_SECRETS:
        assert secret not in str(error)
    return error


@contextlib.contextmanager
def clock(at: datetime) -> Iterator[None]:
    """botocore's signers read the time from ``botocore.auth.get_current_datetime`` (naive UTC)."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.astimezone(UTC).replace(tzinfo=None)):
        yield


def _as_server_sees_it(aws_request: Any, *, extra: tuple[tuple[str, str], ...] = ()) -> HttpRequest:
    """What reaches the server: the signed headers, plus Host and the headers the HTTP client adds unsigned."""
    body = aws_request.body or b""
    if isinstance(body, str):
        body = body.encode()
    host = aws_request.url.split("/")[2]
    headers = [("Host", host), *aws_request.headers.items(), ("Content-Length", str(len(body))), *extra]
    return HttpRequest(aws_request.method, aws_request.url, headers, body)


def sign(
    method: str = "POST",
    url: str = IAM_URL,
    body: bytes = LIST_USERS,
    *,
    headers: dict[str, str] | None = None,
    service: str = "iam",
    region: str = "us-east-1",
    key: str = AKID,
    secret: str | None = None,
    token: str | None = None,
    at: datetime = AT,
) -> HttpRequest:
    """A request signed by ``botocore.auth.SigV4Auth.add_auth``, as boto3 signs IAM and STS calls."""
    if headers is None:
        headers = {"Content-Type": FORM} if body else {}
    aws_request = AWSRequest(method=method, url=url, data=body, headers=headers)
    credentials = Credentials(key, secret if secret is not None else SECRETS[key], token)
    with clock(at):
        SigV4Auth(credentials, service, region).add_auth(aws_request)
    return _as_server_sees_it(aws_request, extra=(("User-Agent", "test-client/1.0"),))


def presign(
    url: str = STS_URL + "?Action=GetCallerIdentity&Version=2011-06-15",
    *,
    expires: int = 3600,
    signer: type = SigV4QueryAuth,
    service: str = "sts",
    region: str = "us-east-1",
    key: str = AKID,
    token: str | None = None,
    at: datetime = AT,
) -> HttpRequest:
    """A presigned URL from botocore's query signers (``SigV4QueryAuth``, or S3's with ``UNSIGNED-PAYLOAD``)."""
    aws_request = AWSRequest(method="GET", url=url)
    with clock(at):
        signer(Credentials(key, SECRETS[key], token), service, region, expires=expires).add_auth(aws_request)
    host = aws_request.url.split("/")[2]
    return HttpRequest("GET", aws_request.url, [("Host", host), ("User-Agent", "curl/8.0")], b"")


class _Captured(Exception):
    """Not an error: carries the request out of botocore's send path before anything is sent."""

    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def _capture(request: Any, **_: Any) -> None:
    raise _Captured(request)


@functools.cache
def _client(service: str, key: str, with_token: bool) -> Any:
    session = botocore.session.Session()
    client = session.create_client(
        service,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=SECRETS[key],
        aws_session_token=TOKENS[key] if with_token else None,
    )
    client.meta.events.register("before-send", _capture)
    return client


def client_call(service: str, operation: str, *, key: str = AKID, with_token: bool = False, at: datetime = AT):
    """The request a real botocore client sends for ``operation`` (captured just before it would go on the wire)."""
    client = _client(service, key, with_token)
    with clock(at), pytest.raises(_Captured) as captured:
        getattr(client, operation)()
    return _as_server_sees_it(captured.value.request)


def client_presigned_url(*, key: str = AKID, with_token: bool = False, at: datetime = AT) -> HttpRequest:
    client = _client("sts", key, with_token)
    with clock(at):
        url = client.generate_presigned_url("get_caller_identity", HttpMethod="GET")
    return HttpRequest("GET", url, {"Host": url.split("/")[2]}, b"")


def with_header(request: HttpRequest, name: str, value: str) -> HttpRequest:
    """``request`` with the (first) header ``name`` set to ``value``, others untouched."""
    headers, done = [], False
    for key, old in request.header_pairs:
        if key.lower() == name.lower() and not done:
            headers.append((key, value))
            done = True
        else:
            headers.append((key, old))
    if not done:
        headers.append((name, value))
    return replace(request, headers=headers)


# --- accepted -------------------------------------------------------------------------------------------------------


def test_an_iam_call_signed_by_a_botocore_client_is_accepted():
    caller = check(client_call("iam", "list_users"))

    assert caller == VerifiedCaller(
        access_key_id=AKID,
        owner_arn=f"arn:aws:iam::{ACCOUNT}:user/alice",
        account_id=ACCOUNT,
        region="us-east-1",
        service="iam",
        temporary=False,
        signing_time=AT,
        presigned=False,
    )


def test_an_sts_call_signed_by_a_botocore_client_is_accepted():
    caller = check(client_call("sts", "get_caller_identity"), service="sts")

    assert (caller.service, caller.region, caller.presigned) == ("sts", "us-east-1", False)


def test_temporary_credentials_with_their_session_token_are_accepted():
    request = client_call("sts", "get_caller_identity", key=TEMP_AKID, with_token=True)
    assert request.header("x-amz-security-token") == TEMP_TOKEN

    caller = check(request, service="sts")

    assert caller.temporary
    assert caller.owner_arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"


def test_the_query_protocol_form_post_is_accepted_for_iam_and_sts():
    assert check(sign(body=LIST_USERS)).service == "iam"
    assert check(sign(url=STS_URL, body=GET_CALLER_IDENTITY, service="sts"), service="sts").service == "sts"


def test_a_get_with_the_parameters_in_the_query_string_is_accepted():
    request = sign("GET", IAM_URL + "?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fteam%2F", b"")

    assert check(request).access_key_id == AKID


def test_the_query_string_is_canonicalised_by_botocore_whatever_the_clients_percent_encoding():
    """The client signed ``PathPrefix=/team a/`` encoded as botocore does; the URL that arrives spells it otherwise."""
    signed = sign("GET", IAM_URL + "?Action=ListUsers&Version=2010-05-08&PathPrefix=%2Fteam%20a%2F", b"")
    respelled = replace(signed, url=IAM_URL + "?Action=ListUsers&Version=2010-05-08&PathPrefix=/team%20a%2f")

    assert check(respelled).access_key_id == AKID


def test_a_header_added_after_signing_is_allowed_because_it_is_not_signed():
    request = sign()
    request = replace(request, headers=[*request.header_pairs, ("X-Forwarded-For", "203.0.113.9")])

    assert check(request).access_key_id == AKID


def test_header_names_in_any_case_and_values_with_extra_spaces_are_read_as_botocore_signs_them():
    request = sign(headers={"Content-Type": FORM, "X-Custom": "a  b "})

    lowered = replace(request, headers=[(name.lower(), value) for name, value in request.header_pairs])
    assert check(lowered).access_key_id == AKID


def test_the_date_header_is_used_when_there_is_no_x_amz_date():
    request = sign(headers={"Content-Type": FORM, "Date": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert request.header("x-amz-date") is None
    assert (request.header("date") or "").startswith("Fri, 27 Nov 2026 10:10:10")  # botocore rewrote it

    assert check(request).signing_time == AT


def test_a_signed_x_amz_content_sha256_equal_to_the_body_hash_is_accepted():
    request = sign(headers={"Content-Type": FORM, "X-Amz-Content-SHA256": hashlib.sha256(LIST_USERS).hexdigest()})

    assert check(request).access_key_id == AKID


def test_a_presigned_url_from_a_botocore_client_is_accepted():
    caller = check(client_presigned_url(), service="sts")

    assert (caller.presigned, caller.service, caller.signing_time) == (True, "sts", AT)


def test_presigned_urls_from_both_botocore_query_signers_are_accepted():
    assert check(presign(signer=SigV4QueryAuth), service="sts").presigned
    assert check(presign(signer=S3SigV4QueryAuth), service="sts").presigned  # payload hash UNSIGNED-PAYLOAD


def test_a_presigned_url_of_temporary_credentials_carries_its_session_token():
    request = client_presigned_url(key=TEMP_AKID, with_token=True)
    assert "X-Amz-Security-Token=" in request.url

    assert check(request, service="sts").temporary


def test_iam_is_global_so_any_region_in_the_scope_is_accepted_and_reported():
    caller = check(sign(region="eu-west-1"), region="us-east-1")

    assert caller.region == "eu-west-1"


def test_fourteen_minutes_of_skew_either_way_is_accepted():
    request = sign()

    assert check(request, now=AT + timedelta(minutes=14)).signing_time == AT
    assert check(request, now=AT - timedelta(minutes=14)).signing_time == AT
    assert check(request, now=AT + timedelta(minutes=15)).signing_time == AT  # the bound itself is still in


def test_a_naive_clock_is_taken_as_utc_and_no_expectations_accept_any_service():
    request = sign(url=STS_URL, body=GET_CALLER_IDENTITY, service="sts")

    caller = verify(request, lookup=lookup, now=AT.replace(tzinfo=None))

    assert caller.service == "sts"


# --- refused: the request was changed -------------------------------------------------------------------------------


SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key "
    "and signing method. Consult the service documentation for details."
)


def test_a_tampered_body_is_refused():
    request = sign()
    tampered = replace(request, body=b"Action=ListUsers&Version=2010-05-08&PathPrefix=/x/")

    error = refusal(tampered)

    assert isinstance(error, SignatureDoesNotMatchError)
    assert (error.code, error.http_status, error.message) == ("SignatureDoesNotMatch", 403, SIGNATURE_MISMATCH)


def test_a_tampered_signed_header_is_refused():
    request = sign(headers={"Content-Type": FORM, "X-Custom": "original"})

    assert isinstance(refusal(with_header(request, "X-Custom", "changed")), SignatureDoesNotMatchError)
    assert isinstance(refusal(with_header(request, "Host", "evil.example.com")), SignatureDoesNotMatchError)


def test_a_tampered_query_string_is_refused():
    request = sign("GET", IAM_URL + "?Action=ListUsers&Version=2010-05-08", b"")
    tampered = replace(request, url=IAM_URL + "?Action=DeleteUser&Version=2010-05-08&UserName=alice")

    assert isinstance(refusal(tampered), SignatureDoesNotMatchError)


def test_a_tampered_presigned_url_is_refused():
    request = presign()
    tampered = replace(request, url=request.url.replace("Action=GetCallerIdentity", "Action=GetSessionToken"))

    assert isinstance(refusal(tampered, service="sts"), SignatureDoesNotMatchError)


def test_a_signed_header_that_is_missing_is_refused():
    request = sign(headers={"Content-Type": FORM, "X-Custom": "v"})
    dropped = replace(request, headers=[(n, v) for n, v in request.header_pairs if n.lower() != "x-custom"])

    assert isinstance(refusal(dropped), SignatureDoesNotMatchError)


def test_a_signed_content_hash_that_is_not_the_body_hash_is_refused():
    request = sign(headers={"Content-Type": FORM, "X-Amz-Content-SHA256": hashlib.sha256(LIST_USERS).hexdigest()})
    other_body = b"Action=DeleteUser&Version=2010-05-08&UserName=alice"

    assert isinstance(refusal(replace(request, body=other_body)), SignatureDoesNotMatchError)


def test_an_unsigned_payload_is_refused_when_there_is_a_body():
    """IAM and STS read their parameters from the body: it must be covered by the signature."""
    request = sign(headers={"Content-Type": FORM, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})

    assert isinstance(refusal(request), SignatureDoesNotMatchError)


def test_a_presigned_url_with_a_body_must_sign_the_body():
    """An S3-style presigned URL (UNSIGNED-PAYLOAD) cannot smuggle parameters in a body."""
    request = replace(presign(signer=S3SigV4QueryAuth), method="POST", body=b"Action=GetSessionToken")

    assert isinstance(refusal(request, service="sts"), SignatureDoesNotMatchError)


def test_a_request_signed_with_the_wrong_secret_is_refused():
    error = refusal(sign(secret="not-" + SECRET))

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.message == SIGNATURE_MISMATCH


# --- refused: scope and time ----------------------------------------------------------------------------------------


def test_a_request_signed_for_another_service_is_refused():
    error = refusal(sign(service="s3"))

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.message == "Credential should be scoped to correct service: 'iam'. "


def test_an_sts_request_signed_for_another_region_than_the_endpoints_is_refused():
    request = sign(url=STS_URL, body=GET_CALLER_IDENTITY, service="sts", region="eu-west-1")

    error = refusal(request, service="sts", region="us-east-1")

    assert error.message == "Credential should be scoped to a valid region. "
    assert check(request, service="sts", region="eu-west-1").region == "eu-west-1"


def test_wrong_region_and_service_are_both_named():
    request = sign(url=STS_URL, body=GET_CALLER_IDENTITY, service="s3", region="eu-west-1")

    error = refusal(request, service="sts", region="us-east-1")

    assert error.message == (
        "Credential should be scoped to a valid region. Credential should be scoped to correct service: 'sts'. "
    )


def test_a_scope_date_other_than_the_signing_date_is_refused():
    request = sign()
    authorization = request.header("authorization")
    assert authorization is not None
    forged = with_header(request, "Authorization", authorization.replace("/20261127/", "/20261126/"))

    error = refusal(forged)

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        "'20261126' != '20261127', from '20261127T101010Z'. "
    )


def test_a_scope_with_another_terminator_is_refused():
    authorization = sign().header("authorization")
    assert authorization is not None
    forged = with_header(sign(), "Authorization", authorization.replace("/aws4_request", "/aws5_request"))

    assert refusal(forged).message == (
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
    )


def test_host_must_be_signed():
    request = sign()
    authorization = request.header("authorization")
    assert authorization is not None
    forged = with_header(request, "Authorization", authorization.replace(";host;", ";"))

    error = refusal(forged)

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."


def test_a_signature_more_than_fifteen_minutes_old_has_expired():
    request = sign()

    error = refusal(request, now=AT + timedelta(minutes=30))

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.http_status == 403
    assert error.message == (
        "Signature expired: 20261127T101010Z is now earlier than 20261127T102510Z (20261127T104010Z - 15 min.)"
    )
    assert refusal(request, now=AT + timedelta(minutes=16)).message == (
        "Signature expired: 20261127T101010Z is now earlier than 20261127T101110Z (20261127T102610Z - 15 min.)"
    )


def test_a_signature_more_than_fifteen_minutes_ahead_is_not_yet_current():
    error = refusal(sign(), now=AT - timedelta(minutes=16))

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.message == (
        "Signature not yet current: 20261127T101010Z is still later than 20261127T100910Z (20261127T095410Z + 15 min.)"
    )


def test_a_presigned_url_past_its_x_amz_expires_is_refused():
    request = presign(expires=60)
    assert check(request, service="sts", now=AT + timedelta(seconds=60)).presigned

    error = refusal(request, service="sts", now=AT + timedelta(seconds=61))

    assert isinstance(error, RequestExpiredError)
    assert (error.code, error.http_status, error.message) == ("AccessDenied", 403, "Request has expired")


def test_a_presigned_url_lives_at_most_fifteen_minutes_whatever_its_x_amz_expires():
    """AWS applies SigV4's 15-minute window to presigned IAM and STS URLs and ignores a longer X-Amz-Expires."""
    error = refusal(presign(expires=3600), service="sts", now=AT + timedelta(minutes=16))

    assert isinstance(error, SignatureDoesNotMatchError)
    assert error.message.startswith("Signature expired: 20261127T101010Z is now earlier than")


# --- refused: the key -----------------------------------------------------------------------------------------------


INVALID_TOKEN = "The security token included in the request is invalid."


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(lambda: sign(key=INACTIVE_AKID), id="inactive key"),
        pytest.param(lambda: sign(key=TEMP_AKID), id="temporary key without its session token"),
        pytest.param(lambda: sign(key=TEMP_AKID, token=EXPIRED_TOKEN), id="temporary key with another token"),
        pytest.param(lambda: sign(key=AKID, token=TEMP_TOKEN), id="long-term key with a session token"),
        pytest.param(lambda: presign(service="iam", key=TEMP_AKID), id="presigned temporary key without its token"),
    ],
)
def test_keys_that_may_not_sign_are_refused_as_an_invalid_token(request_):
    error = refusal(request_())

    assert isinstance(error, InvalidClientTokenIdError)
    assert (error.code, error.http_status, error.message) == ("InvalidClientTokenId", 403, INVALID_TOKEN)


def test_an_unknown_or_deleted_key_is_refused_as_an_invalid_token():
    error = refusal(sign(key="AKIAUNKNOWNEXAMPLE00", secret="whatever-secret"))

    assert isinstance(error, InvalidClientTokenIdError)
    assert error.message == INVALID_TOKEN


def test_expired_temporary_credentials_are_refused():
    error = refusal(sign(key=EXPIRED_AKID, token=EXPIRED_TOKEN))

    assert isinstance(error, ExpiredTokenError)
    assert (error.code, error.http_status, error.message) == (
        "ExpiredToken",
        403,
        "The security token included in the request is expired",
    )


def test_temporary_credentials_are_valid_until_their_expiration():
    request = sign(key=TEMP_AKID, token=TEMP_TOKEN)

    assert check(request, now=AT + timedelta(minutes=14)).temporary
    stale = {TEMP_AKID: replace(KEYS[TEMP_AKID], expiration=AT)}
    with pytest.raises(ExpiredTokenError):
        verify(request, lookup=stale.get, now=AT)


# --- refused: no or malformed signature -----------------------------------------------------------------------------


def test_a_request_without_authentication_is_refused():
    request = HttpRequest("POST", IAM_URL, {"Host": "iam.amazonaws.com", "Content-Type": FORM}, LIST_USERS)

    error = refusal(request)

    assert isinstance(error, MissingAuthenticationTokenError)
    assert (error.code, error.http_status, error.message) == (
        "MissingAuthenticationToken",
        403,
        "Request is missing Authentication Token",
    )


def test_an_authorization_header_of_another_scheme_is_missing_authentication():
    request = with_header(sign(), "Authorization", "Bearer abc.def")

    assert isinstance(refusal(request), MissingAuthenticationTokenError)


def _with_authorization(value: str) -> HttpRequest:
    return with_header(sign(), "Authorization", value)


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (
            f"AWS4-HMAC-SHA256 Credential={AKID}/20261127/us-east-1/iam/aws4_request, Signature=abc",
            (
                "Authorization header requires 'SignedHeaders' parameter. "
                f"Authorization=AWS4-HMAC-SHA256 Credential={AKID}/20261127/us-east-1/iam/aws4_request, Signature=abc"
            ),
        ),
        (
            "AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=abc",
            (
                "'Credential' not a valid key=value pair (missing equal-sign) in Authorization header: "
                "'AWS4-HMAC-SHA256 Credential, SignedHeaders=host, Signature=abc'."
            ),
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={AKID}/20261127/us-east-1/iam, SignedHeaders=host, Signature=abc",
            (
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
                f"got '{AKID}/20261127/us-east-1/iam'"
            ),
        ),
        (
            f"AWS4-HMAC-SHA512 Credential={AKID}/20261127/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=a",
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ",
        ),
    ],
    ids=["no SignedHeaders", "no equal sign", "four scope parts", "other algorithm"],
)
def test_a_malformed_authorization_header_is_an_incomplete_signature(authorization, message):
    error = refusal(_with_authorization(authorization))

    assert isinstance(error, IncompleteSignatureError)
    assert (error.code, error.http_status, error.message) == ("IncompleteSignature", 400, message)


def test_a_header_signature_needs_a_date():
    request = sign()
    undated = replace(request, headers=[(n, v) for n, v in request.header_pairs if n.lower() != "x-amz-date"])

    error = refusal(undated)

    assert isinstance(error, IncompleteSignatureError)
    assert error.message.startswith(
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-"
    )


def test_a_malformed_date_is_an_incomplete_signature():
    error = refusal(with_header(sign(), "X-Amz-Date", "2026-11-27T10:10:10Z"))

    assert isinstance(error, IncompleteSignatureError)
    assert error.message == (
        "Date must be in ISO-8601 'basic format'. Got '2026-11-27T10:10:10Z'. See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_a_presigned_url_without_its_signature_is_an_incomplete_signature():
    request = presign()
    unsigned = replace(request, url=request.url.split("&X-Amz-Signature=")[0])

    error = refusal(unsigned, service="sts")

    assert isinstance(error, IncompleteSignatureError)
    assert error.message == (
        "AWS query-string parameters must include 'X-Amz-Signature'. Re-examine the query-string parameters."
    )


def test_a_presigned_url_may_not_be_valid_for_more_than_a_week():
    error = refusal(presign(expires=604801), service="sts")

    assert isinstance(error, IncompleteSignatureError)
    assert error.message == "X-Amz-Expires must be less than a week (in seconds) that is 604800"


def test_a_request_with_both_forms_of_signature_is_refused():
    request = with_header(presign(), "Authorization", sign().header("authorization") or "")

    assert isinstance(refusal(request, service="sts"), IncompleteSignatureError)


# --- the parts, the errors, the secret ------------------------------------------------------------------------------


def test_parse_authorization_reads_the_header_form():
    info = parse_authorization(sign(key=TEMP_AKID, token=TEMP_TOKEN, headers={"Content-Type": FORM}))

    assert (info.presigned, info.access_key_id, str(info.scope)) == (
        False,
        TEMP_AKID,
        "20261127/us-east-1/iam/aws4_request",
    )
    assert info.signed_headers == ("content-type", "host", "x-amz-date", "x-amz-security-token")
    assert (info.amz_date, info.signing_time, info.expires, info.security_token) == (
        "20261127T101010Z",
        AT,
        None,
        TEMP_TOKEN,
    )
    assert len(info.signature) == 64
    assert TEMP_TOKEN not in repr(info)


@pytest.mark.parametrize(
    "separator",
    [", ", ",", " ", "\t", " ,\t, ", ",,", "\u3000"],
    ids=["comma-space", "comma", "space", "tab", "mixed", "double", "ideographic"],
)
def test_the_header_parameters_are_read_between_any_run_of_commas_and_whitespace(separator: str):
    signed = sign(headers={"Content-Type": FORM})
    header = signed.header("authorization") or ""
    algorithm, rest = header.split(" ", 1)
    parts = [part.strip() for part in rest.split(",")]
    respaced = HttpRequest(
        signed.method,
        signed.url,
        [
            (n, f"{algorithm}\t {separator.join(parts)}{separator}") if n.lower() == "authorization" else (n, v)
            for n, v in signed.header_pairs
        ],
        signed.body,
    )
    assert parse_authorization(respaced) == parse_authorization(signed)


def test_parse_authorization_reads_the_presigned_form():
    info = parse_authorization(presign(expires=300, key=TEMP_AKID, token=TEMP_TOKEN))

    assert (info.presigned, info.access_key_id, info.scope.service, info.scope.region) == (
        True,
        TEMP_AKID,
        "sts",
        "us-east-1",
    )
    assert (info.signed_headers, info.expires, info.security_token) == (("host",), 300, TEMP_TOKEN)


def test_refusals_are_sender_errors_of_the_store_with_aws_codes():
    expected = {
        MissingAuthenticationTokenError: ("MissingAuthenticationToken", 403),
        IncompleteSignatureError: ("IncompleteSignature", 400),
        InvalidClientTokenIdError: ("InvalidClientTokenId", 403),
        SignatureDoesNotMatchError: ("SignatureDoesNotMatch", 403),
        ExpiredTokenError: ("ExpiredToken", 403),
        RequestExpiredError: ("AccessDenied", 403),
    }
    for cls, (code, status) in expected.items():
        error = cls()
        assert isinstance(error, SenderError)
        assert isinstance(error, IdentityStoreError)
        assert (error.code, error.http_status, error.sender_fault) == (code, status, True)
        assert str(error) == error.message


def test_the_secret_is_in_no_repr_no_error_and_no_log_line(caplog):
    assert SECRET not in repr(KEYS[AKID])
    requests = [
        sign(secret="wrong"),
        sign(service="s3"),
        sign(key=INACTIVE_AKID),
        replace(sign(), body=b"tampered"),
        sign(key=EXPIRED_AKID, token=EXPIRED_TOKEN),
    ]
    caplog.set_level(logging.DEBUG)
    for request in requests:
        with pytest.raises(AuthenticationError) as caught:
            check(request)
        assert all(secret not in str(caught.value) and secret not in repr(caught.value) for secret in ALL_SECRETS)
    check(sign())
    assert all(secret not in caplog.text for secret in ALL_SECRETS)
    assert TEMP_TOKEN not in caplog.text


def test_http_request_takes_a_mapping_pairs_or_bytes_and_needs_a_full_url():
    from_mapping = HttpRequest("GET", IAM_URL, {"Host": "iam.amazonaws.com"}, b"")
    from_pairs = HttpRequest("GET", IAM_URL, [("host", b"iam.amazonaws.com"), ("X-A", "1"), ("x-a", "2")], b"")

    assert from_mapping.header("HOST") == from_pairs.header("Host") == "iam.amazonaws.com"
    assert from_pairs.header_values("X-A") == ["1", "2"]
    assert from_pairs.header("absent") is None
    with pytest.raises(ValueError, match="full URL"):
        HttpRequest("GET", "/?Action=ListUsers", {}, b"")
    with pytest.raises(TypeError):
        HttpRequest("POST", IAM_URL, {}, "Action=ListUsers")  # type: ignore[arg-type]


def test_session_token_digest_is_the_sha256_hex_of_the_token():
    assert session_token_digest("abc") == hashlib.sha256(b"abc").hexdigest()


# --- properties -----------------------------------------------------------------------------------------------------


SIGNED_POST = sign(headers={"Content-Type": FORM, "X-Amz-Meta": "team=platform; tier=1"})
SIGNED_HEADER_NAMES = ("Content-Type", "Host", "X-Amz-Date", "X-Amz-Meta")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(position=st.integers(min_value=0, max_value=len(LIST_USERS) - 1), byte=st.integers(min_value=0, max_value=255))
def test_any_single_byte_change_to_the_body_is_refused(position, byte):
    body = bytearray(SIGNED_POST.body)
    if body[position] == byte:
        byte = (byte + 1) % 256
    body[position] = byte

    with pytest.raises(AuthenticationError):
        check(replace(SIGNED_POST, body=bytes(body)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(SIGNED_HEADER_NAMES),
    data=st.data(),
    char=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
)
def test_any_single_character_change_to_a_signed_header_value_is_refused(name, data, char):
    """Visible ASCII replacements: SigV4 canonicalisation folds runs of whitespace, so a space-for-tab swap is not a
    change to the signed value."""
    value = SIGNED_POST.header(name)
    assert value is not None
    position = data.draw(st.integers(min_value=0, max_value=len(value) - 1))
    if value[position] == char:
        char = chr(0x21 + (ord(char) - 0x21 + 1) % (0x7E - 0x21 + 1))
    changed = value[:position] + char + value[position + 1 :]

    with pytest.raises(AuthenticationError):
        check(with_header(SIGNED_POST, name, changed))


def test_the_unchanged_property_requests_are_accepted():
    assert check(SIGNED_POST).access_key_id == AKID


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=200),
    method=st.sampled_from(["POST", "GET"]),
    service=st.sampled_from(["iam", "sts"]),
    region=st.sampled_from(["us-east-1", "eu-west-3"]),
    extra=st.dictionaries(
        st.sampled_from(["X-Custom", "Content-MD5", "X-Amz-Content-SHA256", "X-Amz-Target"]),
        st.text(alphabet="abc ABC\t123=/+", min_size=1, max_size=20).filter(lambda v: v.strip()),
        max_size=3,
    ),
)
def test_the_direct_signature_is_botocores_for_every_request_it_applies_to(
    body: bytes, method: str, service: str, region: str, extra: dict[str, str]
):
    # The endpoint computes an SDK's usual request's signature itself (direct_signature) and falls back to botocore
    # only when that does not match: for every request it computes, it must agree with botocore to the byte.
    from iamledger.auth.expected_signatures import direct_signature

    request = sign(method, IAM_URL, body, headers={"Content-Type": FORM, **extra}, service=service, region=region)
    info = parse_authorization(request)
    direct = direct_signature(request, info, SECRETS[AKID])
    assert direct == info.signature
    if "X-Amz-Content-SHA256" not in extra:  # a made-up payload hash is refused for not being the body's
        assert check(request, service=service, region=region).access_key_id == AKID


def test_requests_the_direct_signature_does_not_cover_are_left_to_botocore():
    from iamledger.auth.expected_signatures import direct_signature

    with_query = sign("GET", IAM_URL + "?Action=ListUsers&Version=2010-05-08", b"")
    assert direct_signature(with_query, parse_authorization(with_query), SECRETS[AKID]) is None
    assert check(with_query).access_key_id == AKID
    repeated = sign(headers={"Content-Type": FORM, "X-Custom": "a"})
    repeated = HttpRequest(repeated.method, repeated.url, [*repeated.header_pairs, ("x-custom", "b")], repeated.body)
    assert direct_signature(repeated, parse_authorization(repeated), SECRETS[AKID]) is None
    wrong = sign(secret="not-the-secret")
    assert direct_signature(wrong, parse_authorization(wrong), SECRETS[AKID]) != parse_authorization(wrong).signature
    with pytest.raises(SignatureDoesNotMatchError):
        check(wrong)
