"""Which function updates the views for which event class.

View modules register their handlers with :func:`handles`; the projector dispatches each event to the handlers of
its class and of its base classes, in registration order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from sqlalchemy import Connection

Handler = Callable[[Connection, Any, int], None]
F = TypeVar("F", bound=Handler)

HANDLERS: Final[dict[type, list[Handler]]] = {}


def handles(*event_types: type) -> Callable[[F], F]:
    """Register the decorated function ``(conn, event, position)`` for ``event_types``."""

    def register(func: F) -> F:
        for event_type in event_types:
            HANDLERS.setdefault(event_type, []).append(func)
        return func

    return register


def dispatch(conn: Connection, event: Any, position: int) -> None:
    """Apply ``event``, recorded at notification id ``position``, to every view that handles it."""
    for klass in type(event).__mro__:
        for handler in HANDLERS.get(klass, ()):
            handler(conn, event, position)


def dispatch_batch(conn: Connection, events: list[tuple[Any, int]]) -> None:
    """Apply a batch of ``(event, position)`` pairs, in order, in the caller's transaction."""
    for event, position in events:
        dispatch(conn, event, position)
