"""Who did it, from where, under which request: the audit context every event is stamped with.

The context is bound once per unit of work (a CLI call, an HTTP request) with
:func:`iamledger.context.bound_audit_context` (log lines written meanwhile carry the same fields, through
:func:`iamledger.context.merge_audit_context`); an ``IdentityStore`` method called with none bound binds the
account root's (``IdentityStore.acting``). It is read by the default factories of the fields on
:class:`iamledger.domain.base.AuditedAggregate.Event`.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Final

ANONYMOUS: Final = "anonymous"
"""The actor of a context whose caller is not known: an unsigned request the endpoint serves (``sts:AssumeRoleWith
SAML``, ``sts:AssumeRoleWithWebIdentity``), or a request while its signature is being checked."""


@dataclass(frozen=True, slots=True)
class AuditContext:
    """The actor of a request and where it came from.

    ``actor`` is the principal ARN that acts (``arn:aws:iam::123456789012:root`` for a local CLI call),
    ``request_id`` the id of the request (a UUID, as AWS's ``RequestId``).
    """

    actor: str
    request_id: str
    access_key_id: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None

    def acting_as(self, actor: str) -> AuditContext:
        """This context with another actor (``dataclasses.replace``, written out: the endpoint calls it for every
        request it authenticates)."""
        return AuditContext(actor, self.request_id, self.access_key_id, self.source_ip, self.user_agent)

    @staticmethod
    def new_request_id() -> str:
        """A fresh request id, in the shape AWS gives its request ids."""
        return str(uuid.uuid4())


audit_context: ContextVar[AuditContext | None] = ContextVar("iamledger_audit_context", default=None)


class NoAuditContextError(RuntimeError):
    """An event was triggered outside any bound audit context: a programming error, never user input."""


def current_audit_context() -> AuditContext:
    """The bound context; raises :class:`NoAuditContextError` when an event would otherwise go unattributed."""
    ctx = audit_context.get()
    if ctx is None:
        msg = (
            "no audit context is bound: commands must run inside `IdentityStore` methods or "
            "`iamledger.context.bound_audit_context`"
        )
        raise NoAuditContextError(msg)
    return ctx
