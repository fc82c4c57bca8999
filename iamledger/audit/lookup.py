"""CloudTrail's ``LookupEvents`` over the store's own history.

The records are rendered from the identity log and the security log as they are projected (see
:mod:`iamledger.projections.trail.index`); here the caller is authorized (``cloudtrail:LookupEvents``, on ``*``; the
root user and library calls without a bound caller need nothing) and only the records of its account are read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from iamledger.projections.engine.temporal import reading_now
from iamledger.projections.trail import query as trail_query
from iamledger.services.base import ServiceBase


def trail_account(store: ServiceBase) -> str:
    """The account whose records the bound caller may read, once it is allowed ``cloudtrail:LookupEvents`` (a
    denial is recorded and raised as ``AccessDenied``)."""
    with reading_now():
        account_id = store.current_account_id()
        store.authorize_operation("cloudtrail", "LookupEvents", {}, account_id)
    return account_id


def lookup_events(
    store: ServiceBase,
    *,
    StartTime: str | datetime | None = None,
    EndTime: str | datetime | None = None,
    LookupAttributes: Sequence[Mapping[str, Any]] | None = None,
    MaxResults: int | None = None,
    NextToken: str | None = None,
    EventCategory: str | None = None,
) -> dict[str, Any]:
    """The records of the caller's account, newest first, in CloudTrail's ``LookupEvents`` shape (see
    :meth:`iamledger.audit.store_methods.TrailService.lookup_events`)."""
    account_id = trail_account(store)
    return trail_query.lookup_events(
        store,
        StartTime=StartTime,
        EndTime=EndTime,
        LookupAttributes=LookupAttributes,
        MaxResults=MaxResults,
        NextToken=NextToken,
        EventCategory=EventCategory,
        account_id=account_id,
        now=store.clock(),
    )
