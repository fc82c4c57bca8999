"""Request authentication: AWS Signature Version 4, verified with botocore's signer.

>>> from iamledger.auth import HttpRequest, verify  # doctest: +SKIP
>>> caller = verify(HttpRequest("POST", url, headers, body), lookup=find_key, now=datetime.now(UTC))  # doctest: +SKIP

See ``docs/authentication.md`` for the checks and the errors.
"""

from __future__ import annotations

from iamledger.auth.errors import (
    AuthenticationError,
    ExpiredTokenError,
    IncompleteSignatureError,
    InvalidClientTokenIdError,
    MissingAuthenticationTokenError,
    RequestExpiredError,
    SignatureDoesNotMatchError,
)
from iamledger.auth.http_request import HttpRequest
from iamledger.auth.key_records import KeyRecord, session_token_digest
from iamledger.auth.signature_parsing import CredentialScope, SignatureInfo, parse_authorization
from iamledger.auth.sigv4 import VerifiedCaller, verify

__all__ = [
    "AuthenticationError",
    "CredentialScope",
    "ExpiredTokenError",
    "HttpRequest",
    "IncompleteSignatureError",
    "InvalidClientTokenIdError",
    "KeyRecord",
    "MissingAuthenticationTokenError",
    "RequestExpiredError",
    "SignatureDoesNotMatchError",
    "SignatureInfo",
    "VerifiedCaller",
    "parse_authorization",
    "session_token_digest",
    "verify",
]
