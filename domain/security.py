"""Security incidents: refused sign-ins, refused signatures, denied requests and failed write attempts, each recorded
as an event in the security log (a log of its own, so a refused request never adds an event to the identity
history)."""

from __future__ import annotations

from typing import Any

from iamledger.domain.base import AuditedAggregate

MASKED_USER_NAME = "HIDDEN_DUE_TO_SECURITY_REASONS"
"""What CloudTrail shows instead of a user name that does not exist (it might be a mistyped password)."""


class SecurityIncident(AuditedAggregate):
    """One refused or failed attempt. Its audit fields say who tried, from where, with which key, under which request
    id.

    ``kind`` is ``AccessDenied`` (the caller's policies refused, or what its temporary credentials may call:
    ``error_code`` then says AWS's code, ``InvalidClientTokenId`` for IAM), ``SignInFailed``, ``CredentialsRejected``,
    ``SignatureRejected`` or ``OperationFailed`` (a write operation raised a service error: ``error_code`` and
    ``error_message`` say which). The optional fields were added after the first version: incidents recorded before
    load with their defaults."""

    class Recorded(AuditedAggregate.Created):
        kind: str
        account_id: str
        action: str | None
        resource: str | None
        user_name: str | None
        reason: str
        event_name: str | None = None
        event_source: str | None = None
        error_code: str | None = None
        error_message: str | None = None
        request_parameters: dict[str, Any] | None = None
        principal_arn: str | None = None

    def __init__(
        self,
        kind: str,
        account_id: str,
        action: str | None,
        resource: str | None,
        user_name: str | None,
        reason: str,
        event_name: str | None = None,
        event_source: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        request_parameters: dict[str, Any] | None = None,
        principal_arn: str | None = None,
    ) -> None:
        self.kind = kind
        self.account_id = account_id
        self.action = action
        self.resource = resource
        self.user_name = user_name
        self.reason = reason
        self.event_name = event_name
        self.event_source = event_source
        self.error_code = error_code
        self.error_message = error_message
        self.request_parameters = request_parameters
        self.principal_arn = principal_arn
