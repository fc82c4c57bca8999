"""The refusals of request authentication, each with the AWS error code, HTTP status and text AWS sends.

They subclass :class:`iamledger.domain.errors.SenderError`, so the CLI prints them and the endpoint sends them in
AWS's XML error shape like every other error of the store. No message ever contains a secret access key: the texts
below name at most the access key id's scope, dates, and the ``Authorization`` header the caller sent.
"""

from __future__ import annotations

from typing import ClassVar, Final

from iamledger.domain.errors import SenderError

INVALID_KEY_MESSAGE: Final = "The security token included in the request is invalid."
EXPIRED_CREDENTIALS_MESSAGE: Final = "The security token included in the request is expired"
SIGNATURE_MISMATCH_MESSAGE: Final = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
MISSING_AUTHENTICATION_MESSAGE: Final = "Request is missing Authentication Token"
REQUEST_EXPIRED_MESSAGE: Final = "Request has expired"


class AuthenticationError(SenderError):
    """Base of every refusal to authenticate a request; each subclass carries a default AWS message."""

    code = "InvalidClientTokenId"
    http_status = 403
    default_message: ClassVar[str] = INVALID_KEY_MESSAGE

    def __init__(self, message: str | None = None) -> None:
        super().__init__(self.default_message if message is None else message)


class MissingAuthenticationTokenError(AuthenticationError):
    """Neither an ``Authorization`` header nor a presigned query string (``X-Amz-Algorithm``)."""

    code = "MissingAuthenticationToken"
    http_status = 403
    default_message = MISSING_AUTHENTICATION_MESSAGE


class IncompleteSignatureError(AuthenticationError):
    """The signature's parts are missing or malformed (no ``Credential``, a bad date, an unknown algorithm)."""

    code = "IncompleteSignature"
    http_status = 400
    default_message = "Re-examine the query-string parameters."


class InvalidClientTokenIdError(AuthenticationError):
    """Unknown, deleted or inactive access key, or a session token that is missing or does not belong to it.

    AWS sends the same text in every case, so a caller cannot tell an inactive key from one that never existed.
    """

    code = "InvalidClientTokenId"
    http_status = 403
    default_message = INVALID_KEY_MESSAGE


class SignatureDoesNotMatchError(AuthenticationError):
    """Wrong signature, a credential scope for another service, region or date, or a clock skew over 15 minutes."""

    code = "SignatureDoesNotMatch"
    http_status = 403
    default_message = SIGNATURE_MISMATCH_MESSAGE


class ExpiredTokenError(AuthenticationError):
    """Temporary credentials past their expiration."""

    code = "ExpiredToken"
    http_status = 403
    default_message = EXPIRED_CREDENTIALS_MESSAGE


class RequestExpiredError(AuthenticationError):
    """A presigned URL used after its ``X-Amz-Expires`` lifetime (reported as S3 does: ``AccessDenied``)."""

    code = "AccessDenied"
    http_status = 403
    default_message = REQUEST_EXPIRED_MESSAGE
