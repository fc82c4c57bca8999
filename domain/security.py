"""Security incidents: refused sign-ins, refused signatures and denied requests, each recorded as an event in the
security log (a log of its own, so a refused request never adds an event to the identity history)."""

from __future__ import annotations

from iamledger.domain.base import AuditedAggregate

MASKED_USER_NAME = "HIDDEN_DUE_TO_SECURITY_REASONS"
"""What CloudTrail shows instead of a user name that does not exist (it might be a mistyped password)."""


class SecurityIncident(AuditedAggregate):
    """One refused attempt. Its audit fields say who tried, from where, with which key, under which request id."""

    class Recorded(AuditedAggregate.Created):
        kind: str
        account_id: str
        action: str | None
        resource: str | None
        user_name: str | None
        reason: str

    def __init__(
        self,
        kind: str,
        account_id: str,
        action: str | None,
        resource: str | None,
        user_name: str | None,
        reason: str,
    ) -> None:
        self.kind = kind
        self.account_id = account_id
        self.action = action
        self.resource = resource
        self.user_name = user_name
        self.reason = reason
