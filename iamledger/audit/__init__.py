"""The audit analysis: permission checks as of a moment with the events that explain them, reverse queries (who can
do an action, what can a principal do), diffs between two moments and the windows in which a request was allowed.

Every answer reports the moment it was computed at (``"AsOf": {"Position": N, "Time": ...}``; a diff its ``From``
and ``To``), so it can be repeated exactly with ``position:N``. The functions take the store as their first
argument (any :class:`~iamledger.services.base.ServiceBase` application);
:class:`~iamledger.audit.store_methods.AuditService` offers them as store methods. One module per question:
:mod:`~iamledger.audit.lookup` and :mod:`~iamledger.audit.history` (the trail), :mod:`~iamledger.audit.simulation`
(the permission check as of a moment), :mod:`~iamledger.audit.who_can`, :mod:`~iamledger.audit.what_can`,
:mod:`~iamledger.audit.diff` and :mod:`~iamledger.audit.exposure`; the others are shared by them.

Decisions come from the same evaluator as ``simulate_principal_policy``: ``audit simulate`` follows IAM's simulator
exactly (only ``ContextEntries`` supply context keys); ``who-can``, ``what-can``, ``diff`` and ``exposure`` evaluate
each request as it would have been made at the moment (the principal's own keys and ``aws:CurrentTime`` in the
context, plus any ``ContextEntries``).
"""

from __future__ import annotations

from iamledger.audit.decisions import decide
from iamledger.audit.diff import audit_diff
from iamledger.audit.exposure import exposure
from iamledger.audit.moments import describe_moment
from iamledger.audit.provenance import EventBook
from iamledger.audit.simulation import simulate_principal_policy_at
from iamledger.audit.subjects import Subject, resolve_subject
from iamledger.audit.trust import assumable_by
from iamledger.audit.what_can import what_can
from iamledger.audit.who_can import who_can

__all__ = [
    "EventBook",
    "Subject",
    "assumable_by",
    "audit_diff",
    "decide",
    "describe_moment",
    "exposure",
    "resolve_subject",
    "simulate_principal_policy_at",
    "what_can",
    "who_can",
]
