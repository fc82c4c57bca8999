"""The base aggregate whose every event carries the audit fields."""

from __future__ import annotations

import uuid
from dataclasses import field
from typing import Any, Self

from eventsourcing.domain import Aggregate

from iamledger.domain.audit import current_audit_context


def _actor() -> str:
    return current_audit_context().actor


def _access_key_id() -> str | None:
    return current_audit_context().access_key_id


def _source_ip() -> str | None:
    return current_audit_context().source_ip


def _user_agent() -> str | None:
    return current_audit_context().user_agent


def _request_id() -> str:
    return current_audit_context().request_id


class AuditedAggregate(Aggregate):
    """An aggregate whose events record who triggered them (``actor``), with which access key, from which source
    IP and user agent, under which request id. The values come from the bound
    :data:`iamledger.domain.audit.audit_context`, never from command parameters.

    Subclass events must not reuse these five field names for payload (an access key event names its key
    ``key_id``), or the payload would silently replace the audit value."""

    class Event(Aggregate.Event):
        actor: str = field(default_factory=_actor, init=False)
        access_key_id: str | None = field(default_factory=_access_key_id, init=False)
        source_ip: str | None = field(default_factory=_source_ip, init=False)
        user_agent: str | None = field(default_factory=_user_agent, init=False)
        request_id: str = field(default_factory=_request_id, init=False)

    class Created(Event, Aggregate.Created):
        pass

    @classmethod
    def create_with_id(cls, entity_id: uuid.UUID, /, **kwargs: Any) -> Self:
        """A new aggregate with a chosen id (the entity's id is chosen before its name index is claimed)."""
        return cls._create(cls.Created, id=entity_id, **kwargs)
