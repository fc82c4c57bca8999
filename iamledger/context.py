"""Bind the audit context of one unit of work: the events it records and the log lines it writes agree."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from iamledger.domain.audit import AuditContext, audit_context


@contextmanager
def bound_audit_context(ctx: AuditContext) -> Iterator[AuditContext]:
    """Bind ``ctx`` for events (the audit ContextVar) until the block ends; log lines written meanwhile carry its
    fields too (:func:`merge_audit_context`, one of the logging processors)."""
    token = audit_context.set(ctx)
    try:
        yield ctx
    finally:
        audit_context.reset(token)


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
