"""The audit operations of the store, the mixins :class:`~iamledger.store.IdentityStore` inherits: the analysis
(:class:`AuditService`) and the trail (:class:`TrailService`)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from iamledger.audit.diff import audit_diff
from iamledger.audit.escalation import escalation_paths, who_can_escalate
from iamledger.audit.escalation_history import blast_radius, paths_opened
from iamledger.audit.exposure import exposure
from iamledger.audit.findings import audit_findings, stream_findings
from iamledger.audit.history import entity_history
from iamledger.audit.lookup import lookup_events
from iamledger.audit.simulation import simulate_principal_policy_at
from iamledger.audit.what_can import what_can
from iamledger.audit.who_can import stream_who_can, who_can
from iamledger.projections.trail.records import TrailRecord
from iamledger.services.base import ServiceBase


class AuditService(ServiceBase):
    """The audit analysis operations of the store (see the module docstring)."""

    def audit_simulate_principal_policy(
        self, *, At: str | int | datetime | None = None, **params: Any
    ) -> dict[str, Any]:
        """``SimulatePrincipalPolicy`` as of ``At`` with the events behind each matched statement; see
        :func:`simulate_principal_policy_at`."""
        return simulate_principal_policy_at(self, At=At, **params)

    def who_can(
        self,
        *,
        ActionName: str,
        ResourceArn: str = "*",
        At: str | int | datetime | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Every user and role allowed ``ActionName`` on ``ResourceArn`` at ``At``; see :func:`who_can`."""
        return who_can(self, ActionName=ActionName, ResourceArn=ResourceArn, At=At, ContextEntries=ContextEntries)

    def stream_who_can(
        self,
        *,
        ActionName: str,
        ResourceArn: str = "*",
        At: str | int | datetime | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`who_can`'s answer a part at a time (its header, then each principal); see :func:`stream_who_can`."""
        return stream_who_can(
            self, ActionName=ActionName, ResourceArn=ResourceArn, At=At, ContextEntries=ContextEntries
        )

    def what_can(self, *, PrincipalArn: str, At: str | int | datetime | None = None) -> dict[str, Any]:
        """What ``PrincipalArn`` could do at ``At``, by service; see :func:`what_can`."""
        return what_can(self, PrincipalArn=PrincipalArn, At=At)

    def audit_diff(
        self,
        *,
        From: str | int | datetime,
        To: str | int | datetime | None = None,
        PrincipalArn: str | None = None,
        ActionNames: list[str] | None = None,
        ResourceArns: list[str] | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The changes between two moments and the decisions that flipped; see :func:`audit_diff`."""
        return audit_diff(
            self,
            From=From,
            To=To,
            PrincipalArn=PrincipalArn,
            ActionNames=ActionNames,
            ResourceArns=ResourceArns,
            ContextEntries=ContextEntries,
        )

    def exposure(
        self,
        *,
        PrincipalArn: str,
        ActionName: str,
        ResourceArn: str = "*",
        From: str | int | datetime | None = None,
        To: str | int | datetime | None = None,
        ContextEntries: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The windows in which the request was allowed; see :func:`exposure`."""
        return exposure(
            self,
            PrincipalArn=PrincipalArn,
            ActionName=ActionName,
            ResourceArn=ResourceArn,
            From=From,
            To=To,
            ContextEntries=ContextEntries,
        )

    def audit_findings(
        self,
        *,
        At: str | int | datetime | None = None,
        Since: str | int | datetime | None = None,
    ) -> dict[str, Any]:
        """Per principal, the risky grants at ``At`` in Cloudsplaining's categories and PMapper's admin detection,
        one finding per category (per method for privilege escalation) with its actions; with ``Since``, only those
        that appeared, or gained actions, after it; see :func:`audit_findings`."""
        return audit_findings(self, At=At, Since=Since)

    def stream_findings(
        self,
        *,
        At: str | int | datetime | None = None,
        Since: str | int | datetime | None = None,
    ) -> Iterator[dict[str, Any]]:
        """:meth:`audit_findings`'s answer a part at a time (its header, then each principal; no ``Counts``); see
        :func:`stream_findings`."""
        return stream_findings(self, At=At, Since=Since)

    def escalation_paths(
        self,
        *,
        PrincipalArn: str,
        To: str = "admin",
        MaxDepth: int | None = None,
        At: str | int | datetime | None = None,
    ) -> dict[str, Any]:
        """Every privilege escalation path of ``PrincipalArn`` to ``To`` at ``At``, shortest first; see
        :func:`escalation_paths`."""
        return escalation_paths(self, PrincipalArn=PrincipalArn, To=To, MaxDepth=MaxDepth, At=At)

    def who_can_escalate(
        self, *, To: str = "admin", MaxDepth: int | None = None, At: str | int | datetime | None = None
    ) -> dict[str, Any]:
        """Every principal with an escalation path to ``To`` at ``At``, grouped by first technique; see
        :func:`who_can_escalate`."""
        return who_can_escalate(self, To=To, MaxDepth=MaxDepth, At=At)

    def paths_opened(
        self,
        *,
        From: str | int | datetime,
        To: str | int | datetime | None = None,
        Target: str = "admin",
        MaxDepth: int | None = None,
    ) -> dict[str, Any]:
        """Each escalation path to ``Target`` that opened in ``(From, To]``, with the events that opened and closed
        it and how long it stayed open; see :func:`paths_opened`."""
        return paths_opened(self, From=From, To=To, Target=Target, MaxDepth=MaxDepth)

    def blast_radius(
        self, *, AccessKeyId: str | None = None, PrincipalArn: str | None = None, MaxDepth: int | None = None
    ) -> dict[str, Any]:
        """Everything reachable from an access key or a user or role while it was active, with the windows; see
        :func:`blast_radius`."""
        return blast_radius(self, AccessKeyId=AccessKeyId, PrincipalArn=PrincipalArn, MaxDepth=MaxDepth)


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
        return lookup_events(
            self,
            StartTime=StartTime,
            EndTime=EndTime,
            LookupAttributes=LookupAttributes,
            MaxResults=MaxResults,
            NextToken=NextToken,
            EventCategory=EventCategory,
        )

    def entity_history(self, kind: str, name: str) -> list[TrailRecord]:
        """The records touching one entity of the caller's account, oldest first: ``kind`` ``user``, ``group``,
        ``role`` (by name), ``policy`` (by ARN) or ``access-key`` (by id); see
        :func:`iamledger.audit.history.entity_history`."""
        return entity_history(self, kind, name)
