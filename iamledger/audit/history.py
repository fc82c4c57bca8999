"""The history of one entity: the trail's records touching it, oldest first."""

from __future__ import annotations

from iamledger.audit.lookup import trail_account
from iamledger.projections.trail import query as trail_query
from iamledger.projections.trail.records import TrailRecord
from iamledger.services.base import ServiceBase


def entity_history(store: ServiceBase, kind: str, name: str) -> list[TrailRecord]:
    """The records touching one entity of the caller's account, oldest first: ``kind`` ``user``, ``group``,
    ``role`` (by name), ``policy`` (by ARN) or ``access-key`` (by id), once the caller is allowed
    ``cloudtrail:LookupEvents`` (see :func:`iamledger.audit.lookup.trail_account`)."""
    return trail_query.entity_history(store, kind, name, account_id=trail_account(store))
