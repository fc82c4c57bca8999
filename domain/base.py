"""The base aggregate whose every event carries the audit fields."""

from __future__ import annotations

import copy
import uuid
from dataclasses import field
from datetime import date, datetime, timedelta
from typing import Any, Final, Self, TypeVar

from eventsourcing.domain import Aggregate

from iamledger.domain.audit import audit_context, current_audit_context


# The audit fields' defaults read the ContextVar directly (every event reads five); current_audit_context() only
# runs, and raises, when no context is bound.
def _actor() -> str:
    return (audit_context.get() or current_audit_context()).actor


def _access_key_id() -> str | None:
    return (audit_context.get() or current_audit_context()).access_key_id


def _source_ip() -> str | None:
    return (audit_context.get() or current_audit_context()).source_ip


def _user_agent() -> str | None:
    return (audit_context.get() or current_audit_context()).user_agent


def _request_id() -> str:
    return (audit_context.get() or current_audit_context()).request_id


_IMMUTABLE: Final = {str, int, float, bool, bytes, type(None), uuid.UUID, datetime, date, timedelta}
"""Types whose values a copy of an aggregate may share with the original: nothing can change them (and the value
classes registered with :func:`shared_when_copied`)."""

T = TypeVar("T", bound=type)


def shared_when_copied(cls: T) -> T:
    """Register ``cls`` (a frozen dataclass whose fields hold only immutable values) as immutable: a copy of an
    aggregate shares its instances instead of copying them."""
    _IMMUTABLE.add(cls)
    return cls


def _immutable(value: Any) -> bool:
    kind = type(value)
    return kind in _IMMUTABLE or (kind is tuple and all(type(item) in _IMMUTABLE for item in value))


def _copied(value: Any, memo: dict[int, Any]) -> Any:
    """``value`` deep-copied: itself when immutable (a tuple of immutable values too); a list, set or dict of
    immutable values copied one level deep (a group's members, a policy's attachments, an entity's tags); anything
    else by ``copy.deepcopy``."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is list or kind is set:
        if all(_immutable(item) for item in value):
            return kind(value)
    elif kind is dict:
        if all(type(k) in _IMMUTABLE and _immutable(v) for k, v in value.items()):
            return dict(value)
    elif kind is tuple and all(_immutable(item) for item in value):
        return value
    return copy.deepcopy(value, memo)


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

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        """A deep copy that shares the immutable attribute values (strings, numbers, ids, times) and deep-copies the
        rest: what ``copy.deepcopy`` gives, without walking every string and UUID. The repository copies each
        aggregate it hands out from its cache, on every command."""
        clone = object.__new__(type(self))
        memo[id(self)] = clone
        state = clone.__dict__
        for name, value in self.__dict__.items():
            state[name] = _copied(value, memo)
        return clone

    @classmethod
    def create_with_id(cls, entity_id: uuid.UUID, /, **kwargs: Any) -> Self:
        """A new aggregate with a chosen id (the entity's id is chosen before its name index is claimed)."""
        return cls._create(cls.Created, id=entity_id, **kwargs)
