"""Recording events in the SQLite log directly (as eventsourcing's recorder does), for the only writer that
records and applies them in one transaction: the rows inserted, and the ``Recording`` list ``Application.save`` would
return for them."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, Notification, Recording, StoredEvent
from sqlalchemy import Connection


def recordings_of(events: Sequence[Any], stored: Sequence[StoredEvent], ids: Sequence[int]) -> list[Recording[Any]]:
    """What ``Application.save`` returns for ``events``, recorded as ``stored`` under the notification ``ids``."""
    return [
        Recording(
            event,
            Notification(
                id=notification_id,
                originator_id=s.originator_id,
                originator_version=s.originator_version,
                topic=s.topic,
                state=s.state,
            ),
        )
        for event, s, notification_id in zip(events, stored, ids, strict=True)
    ]


def directly_follow(position: int, recordings: Sequence[Any]) -> bool:
    """Whether ``recordings`` directly follow ``position`` and each other (no event of another writer between)."""
    return bool(recordings) and all(r.notification.id == position + i for i, r in enumerate(recordings, 1))


def insert_stored_events(conn: Connection, table: str, stored: Sequence[StoredEvent]) -> list[int]:
    """Insert ``stored`` into the SQLite log table ``table`` in ``conn``'s transaction, as eventsourcing's SQLite
    recorder does (one row each; the row id is the notification id); their notification ids. A conflicting version
    raises eventsourcing's ``IntegrityError``, as the recorder would."""
    statement = f"INSERT INTO {table} VALUES (?,?,?,?)"
    cursor = conn.connection.cursor()
    ids: list[int] = []
    try:
        for s in stored:
            originator = s.originator_id.hex if isinstance(s.originator_id, uuid.UUID) else s.originator_id
            cursor.execute(statement, (originator, s.originator_version, s.topic, s.state))
            ids.append(int(cursor.lastrowid or 0))
    except sqlite3.IntegrityError as error:
        raise IntegrityError(error) from error
    finally:
        cursor.close()
    return ids
