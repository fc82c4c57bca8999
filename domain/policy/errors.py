"""The errors of the policy language, each carrying the AWS error code and HTTP status it is reported under.

Messages are AWS's own texts (``Syntax errors in policy.``) so that users who know AWS recognise them. Every error
has ``code``, ``http_status`` and ``message``; document errors also carry ``pointer``, a JSON pointer (RFC 6901) to
the offending element (``/Statement/0/Effect``), or ``""`` for the whole document.
"""

from __future__ import annotations

from typing import ClassVar


class AwsError(Exception):
    """An error reported under an AWS error code and HTTP status, whose text is ``message``: the base of the policy
    language's errors (:class:`PolicyError`) and of the store's (:class:`iamledger.domain.errors.IdentityStoreError`),
    which are apart."""

    code: ClassVar[str] = "ServiceFailure"
    http_status: ClassVar[int] = 500
    sender_fault: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class PolicyError(AwsError):
    """Base of every error raised by :mod:`iamledger.domain.policy`."""

    code: ClassVar[str] = "PolicyEvaluation"


class MalformedPolicyDocument(PolicyError):
    """The policy document is not valid JSON, breaks the policy grammar, or breaks a rule of its policy kind."""

    code = "MalformedPolicyDocument"
    http_status = 400
    sender_fault = True

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.pointer = pointer

    def __repr__(self) -> str:
        return f"MalformedPolicyDocument({self.message!r}, pointer={self.pointer!r})"


class PolicySizeExceeded(PolicyError):
    """The document is longer (whitespace not counted) than the quota of the place it is stored in.

    ``code`` is per instance because AWS reports the same condition as ``LimitExceeded`` for stored policies and
    as ``PackedPolicyTooLarge`` for session policies.
    """

    http_status = 409
    sender_fault = True

    def __init__(self, message: str, *, code: str = "LimitExceeded", size: int = 0, limit: int = 0) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]
        self.size = size
        self.limit = limit


class InvalidInput(PolicyError):
    """A parameter value is invalid or out of range (AWS ``InvalidInput``, HTTP 400)."""

    code = "InvalidInput"
    http_status = 400
    sender_fault = True


class ValidationError(PolicyError):
    """A parameter breaks its modelled length or pattern constraint (AWS ``ValidationError``, HTTP 400)."""

    code = "ValidationError"
    http_status = 400
    sender_fault = True
