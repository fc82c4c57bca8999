"""Bind the audit context of one unit of work: the events it records and the log lines it writes agree."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from iamledger.domain.audit import AuditContext, audit_context


@contextmanager
def bound_audit_context(ctx: AuditContext) -> Iterator[AuditContext]:
    """Bind ``ctx`` for events (the audit ContextVar) and for structlog (its contextvars) until the block ends."""
    token = audit_context.set(ctx)
    fields = {
        "actor": ctx.actor,
        "request_id": ctx.request_id,
        "access_key_id": ctx.access_key_id,
        "source_ip": ctx.source_ip,
        "user_agent": ctx.user_agent,
    }
    try:
        with structlog.contextvars.bound_contextvars(**{k: v for k, v in fields.items() if v is not None}):
            yield ctx
    finally:
        audit_context.reset(token)
