"""The security log: an event-sourced log of refused attempts (failed sign-ins, refused signatures, denied
requests), kept in its own events table of the store's database so the identity history holds only changes.

Nothing secret is recorded: no password, no secret key, no token; a user name that does not exist is masked.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from eventsourcing.application import Application
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteFactory

from iamledger.config import StoreURL
from iamledger.domain.security import SecurityIncident

EVENTS_TABLE: Final = "iamledger_security_events"


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
        elif isinstance(factory, PostgresFactory):
            recorder = PostgresApplicationRecorder(factory.datastore, events_table_name=EVENTS_TABLE)
        else:  # pragma: no cover - the store supports these two backends only
            return super().construct_recorder()
        recorder.create_table()
        return recorder

    def record(self, kind: str, account_id: str, **details: Any) -> None:
        """Append one incident (the audit context in force says who, from where, under which request)."""
        incident = SecurityIncident(
            kind=kind,
            account_id=account_id,
            action=details.get("action"),
            resource=details.get("resource"),
            user_name=details.get("user_name"),
            reason=str(details.get("reason", "")),
        )
        self.save(incident)

    def incidents(self, limit: int = 1000) -> list[SecurityIncident.Recorded]:
        """The recorded incidents, oldest first."""
        notifications = self.recorder.select_notifications(start=1, limit=limit)
        events = [self.mapper.to_domain_event(n) for n in notifications]
        return [e for e in events if isinstance(e, SecurityIncident.Recorded)]
