"""CloudTrail's ``LookupEvents`` over the store's own history, and the history of one entity.

The records are built from the identity log and the security log by :mod:`iamledger.projections.trail`; this mixin
authorizes the caller (``cloudtrail:LookupEvents``, on ``*``; the root user and library calls without a bound caller
need nothing) and keeps the records of the caller's account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from iamledger.projections.temporal import reading_now
from iamledger.projections.trail import TrailRecord, entity_history, lookup_events
from iamledger.services.base import ServiceBase


class TrailService(ServiceBase):
    """The audit trail operations of the store."""

    def lookup_events(
        self,
        *,
        StartTime: str | datetime | None = None,
        EndTime: str | datetime | None = None,
        LookupAttributes: Sequence[Mapping[str, Any]] | None = None,
        MaxResults: int | None = None,
        NextToken: str | None = None,
        EventCategory: str | None = None,
    ) -> dict[str, Any]:
        """The account's records, newest first, in CloudTrail's ``LookupEvents`` shape: ``{"Events": [{"EventId",
        "EventName", "ReadOnly", "AccessKeyId", "EventTime", "EventSource", "Username", "Resources",
        "CloudTrailEvent"}], "NextToken"}``. Any number of ``LookupAttributes`` (``Username``, ``EventName``,
        ``ResourceName``, ``ResourceType``, ``AccessKeyId``, ``EventId``, ``EventSource``, ``ReadOnly``) may be
        combined; all must match. Writes, denied requests, failed writes and failed console sign-ins are recorded;
        reads are not."""
        account_id = trail_account(self)
        return lookup_events(
            self,
            StartTime=StartTime,
            EndTime=EndTime,
            LookupAttributes=LookupAttributes,
            MaxResults=MaxResults,
            NextToken=NextToken,
            EventCategory=EventCategory,
            account_id=account_id,
            now=self.clock(),
        )

    def entity_history(self, kind: str, name: str) -> list[TrailRecord]:
        """The records touching one entity of the caller's account, oldest first: ``kind`` ``user``, ``group``,
        ``role`` (by name), ``policy`` (by ARN) or ``access-key`` (by id); see
        :func:`iamledger.projections.trail.entity_history`."""
        return entity_history(self, kind, name, account_id=trail_account(self))


def trail_account(store: ServiceBase) -> str:
    """The account whose records the bound caller may read, once it is allowed ``cloudtrail:LookupEvents`` (a
    denial is recorded and raised as ``AccessDenied``). Module-level so that the command line can use it on any
    store."""
    with reading_now():
        account_id = store.current_account_id()
        store._authorize("cloudtrail", "LookupEvents", {}, account_id)  # noqa: SLF001 - the store's own check
    return account_id
