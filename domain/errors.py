"""The errors of the identity store, each with the AWS error code and HTTP status it is reported under.

Messages follow AWS's own texts where AWS has one (``User with name alice already exists.``), so users who know
AWS recognise them; the CLI prints them as the aws CLI does, and the endpoint sends them in AWS's XML error shape.
"""

from __future__ import annotations

from iamledger.domain.policy.errors import AwsError


class IdentityStoreError(AwsError):
    """Base of every error the store reports to its callers (``ServiceFailure``, HTTP 500, unless a subclass says
    otherwise)."""


class SenderError(IdentityStoreError):
    """The request was wrong; sending it again unchanged fails again."""

    code = "InvalidInput"
    http_status = 400
    sender_fault = True


class InvalidInputError(SenderError):
    code = "InvalidInput"


class ValidationError(SenderError):
    code = "ValidationError"


class EntityAlreadyExistsError(SenderError):
    code = "EntityAlreadyExists"
    http_status = 409


class NoSuchEntityError(SenderError):
    code = "NoSuchEntity"
    http_status = 404


class LimitExceededError(SenderError):
    code = "LimitExceeded"
    http_status = 409


class DeleteConflictError(SenderError):
    code = "DeleteConflict"
    http_status = 409


class ConcurrentModificationError(SenderError):
    code = "ConcurrentModification"
    http_status = 409


class StoreNotInitializedError(SenderError):
    """The database holds no account yet: run ``iamledger init`` first."""

    code = "StoreNotInitialized"


class StoreAlreadyInitializedError(SenderError):
    """``init`` on a store that already has its first account."""

    code = "StoreAlreadyInitialized"
    http_status = 409


class ConfigurationError(SenderError):
    """The store's configuration (database URL, master key) is missing or wrong."""

    code = "InvalidConfiguration"


class DatabaseUnavailableError(IdentityStoreError):
    """The store's database cannot be reached (server down, wrong credentials, unreadable file)."""

    code = "ServiceUnavailable"
    http_status = 503


class ReplicaBehindError(IdentityStoreError):
    """A read on a read replica asked for a position its views had not reached when the wait for it ran out: the
    replica lags, nothing on the primary keeps the views current, or the position is not written yet. Asking again
    later may succeed."""

    code = "ReplicaBehind"
    http_status = 503


class UnmodifiableEntityError(SenderError):
    code = "UnmodifiableEntity"


class PasswordPolicyViolationError(SenderError):
    """A password breaks the account password policy (or reuses a recent password)."""

    code = "PasswordPolicyViolation"


class InvalidUserTypeError(SenderError):
    """An operation only IAM users can call (``ChangePassword``) was called by another kind of principal."""

    code = "InvalidUserType"


class AuthenticationFailedError(SenderError):
    """A console sign-in failed. The message never tells an unknown user from a wrong password."""

    code = "AuthenticationFailed"
    http_status = 401


class TranslatedError(IdentityStoreError):
    """An error of another layer (the policy language) reported under its own AWS code and status."""

    def __init__(self, code: str, message: str, http_status: int, sender_fault: bool) -> None:
        super().__init__(message)
        self.code = code  # type: ignore[misc]
        self.http_status = http_status  # type: ignore[misc]
        self.sender_fault = sender_fault  # type: ignore[misc]


class AccessDeniedError(SenderError):
    """The caller's policies do not allow the request (AWS ``AccessDenied``, HTTP 403)."""

    code = "AccessDenied"
    http_status = 403
