"""The security log: an event-sourced log of refused and failed attempts (failed sign-ins, refused signatures, denied
requests, write operations that failed with a service error), kept in its own events table of the store's database so
the identity history holds only changes.

Nothing secret is recorded: no password, no secret key, no token; a user name that does not exist is masked. The
request parameters of a failed write are stored without the secret ones (see :func:`without_secrets`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory

from iamledger.config import StoreURL

if TYPE_CHECKING:
    from iamledger.domain.security import SecurityIncident

EVENTS_TABLE: Final = "iamledger_security_events"
HIDDEN: Final = "HIDDEN_DUE_TO_SECURITY_REASONS"
"""What a secret value is replaced with in a recorded message (CloudTrail's own placeholder)."""
_SECRET_NAME: Final = re.compile(
    r"^(old|new)?_?password$|secret|session_?token$|^token_?code$|hash|fingerprint|digest|private_?key"
    r"|authentication_?code|^saml_?assertion$|^web_?identity_?token$",
    re.IGNORECASE,
)


def is_secret_parameter(name: str) -> bool:
    """Whether a request parameter holds a secret (``Password``, ``NewPassword``, ``SecretAccessKey``,
    ``SessionToken``, ``TokenCode``, ``SAMLAssertion``, ``WebIdentityToken``...) that must never be recorded."""
    return _SECRET_NAME.search(name) is not None


def without_secrets(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` without the secret parameters (their names stay out too); nested mappings are cleaned alike."""
    clean: dict[str, Any] = {}
    for name, value in params.items():
        if is_secret_parameter(name) or value is None:
            continue
        clean[name] = without_secrets(value) if isinstance(value, Mapping) else value
    return clean


def secret_values(params: Mapping[str, Any]) -> list[str]:
    """The values of the secret parameters of ``params`` (to mask them in messages that quote the input)."""
    return [str(v) for k, v in params.items() if is_secret_parameter(k) and isinstance(v, str) and v]


def masked(message: str, secrets: list[str]) -> str:
    """``message`` with every occurrence of a secret value replaced by :data:`HIDDEN`."""
    for secret in sorted(secrets, key=len, reverse=True):
        message = message.replace(secret, HIDDEN)
    return message


class SecurityLog(Application[uuid.UUID]):
    """The store's log of refused attempts."""

    name = "iamledger_security"

    def __init__(self, store_url: StoreURL) -> None:
        super().__init__(env=store_url.eventsourcing_env())

    def construct_recorder(self) -> ApplicationRecorder:
        """The events go to their own table, whatever the backend."""
        factory = self.factory
        recorder: ApplicationRecorder
        if isinstance(factory, SQLiteFactory):
            recorder = SQLiteApplicationRecorder(factory.datastore, events_table_name=EVENTS_TABLE)
            recorder.create_table()
            return recorder
        # imported here: psycopg costs a SQLite store's processes some 15 MB of memory for nothing
        from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory

        if isinstance(factory, PostgresFactory):
            recorder = PostgresApplicationRecorder(factory.datastore, events_table_name=EVENTS_TABLE)
        else:  # pragma: no cover - the store supports these two backends only
            return super().construct_recorder()
        recorder.create_table()
        return recorder

    def record(self, kind: str, account_id: str, **details: Any) -> None:
        """Append one incident (the audit context in force says who, from where, under which request).

        ``details`` may give ``action``, ``resource``, ``user_name``, ``reason``, ``event_name``, ``event_source``,
        ``error_code``, ``error_message``, ``request_parameters`` (cleaned of secrets here again) and
        ``principal_arn``; others are ignored."""
        from iamledger.domain.security import SecurityIncident

        parameters = details.get("request_parameters")
        incident = SecurityIncident(
            kind=kind,
            account_id=account_id,
            action=details.get("action"),
            resource=details.get("resource"),
            user_name=details.get("user_name"),
            reason=str(details.get("reason", "")),
            event_name=details.get("event_name"),
            event_source=details.get("event_source"),
            error_code=details.get("error_code"),
            error_message=details.get("error_message"),
            request_parameters=None if parameters is None else without_secrets(parameters),
            principal_arn=details.get("principal_arn"),
        )
        self.save(incident)

    def incidents(self, limit: int = 1000) -> list[SecurityIncident.Recorded]:
        """The recorded incidents, oldest first."""
        return [incident for _, incident in self.positioned_incidents(limit=limit)]

    def positioned_incidents(self, start: int = 1, limit: int = 1000) -> list[tuple[int, SecurityIncident.Recorded]]:
        """``(position in the security log, incident)`` pairs from ``start`` on, oldest first."""
        from iamledger.domain.security import SecurityIncident

        notifications = self.recorder.select_notifications(start=start, limit=limit)
        found = []
        for notification in notifications:
            event = self.mapper.to_domain_event(notification)
            if isinstance(event, SecurityIncident.Recorded):
                found.append((notification.id, event))
        return found
