"""Bind the audit context of one unit of work: the events it records and the log lines it writes agree."""

from __future__ import annotations

from collections.abc import MutableMapping
from contextvars import Token
from typing import Any

from iamledger.domain.audit import AuditContext, audit_context


def bound_audit_context(ctx: AuditContext) -> BoundAuditContext:
    """Bind ``ctx`` for events (the audit ContextVar) until the block ends; log lines written meanwhile carry its
    fields too (:func:`merge_audit_context`, one of the logging processors)."""
    return BoundAuditContext(ctx)


class BoundAuditContext:
    """The block :func:`bound_audit_context` gives: a class rather than a generator (an endpoint request binds two
    contexts, and a generator's context manager costs several times the ContextVar's own work)."""

    __slots__ = ("_ctx", "_token")

    def __init__(self, ctx: AuditContext) -> None:
        self._ctx = ctx
        self._token: Token[AuditContext | None] | None = None

    def __enter__(self) -> AuditContext:
        self._token = audit_context.set(self._ctx)
        return self._ctx

    def __exit__(self, *_exc: object) -> None:
        if self._token is not None:
            audit_context.reset(self._token)
            self._token = None


def merge_audit_context(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: add the bound audit context's ``actor``, ``request_id``, ``access_key_id``,
    ``source_ip`` and ``user_agent`` (those set) to a log line that does not name them itself. Read when a line is
    written rather than bound for every unit of work: most units write no line."""
    ctx = audit_context.get()
    if ctx is not None:
        for name in ("actor", "request_id", "access_key_id", "source_ip", "user_agent"):
            value = getattr(ctx, name)
            if value is not None:
                event_dict.setdefault(name, value)
    return event_dict
