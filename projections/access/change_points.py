"""Where a principal's permissions can change: the positions at which a row they depend on began or ended while
they depended on it (:func:`change_points`). An answer over time (exposure, an escalation edge's interval) decides
the principal only there."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, null, select

from iamledger.projections.access.analysis import _bounds
from iamledger.projections.views.principals import PRINCIPAL_TABLES
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUP_MEMBERS,
    INLINE_POLICIES,
    POLICIES,
    POLICY_VERSIONS,
    TAGS,
)

Span = tuple[int, int | None]
"""Positions ``[from, to]`` (``to`` ``None``: still open), ends included."""


def change_points(conn: Connection, kind: str, entity: str) -> list[int]:
    """Every position at which a row the principal's permissions depend on began or ended while it depended on it:
    its own row (creation, boundary, deletion) and tags, its memberships and its own inline policies and
    attachments; a group's inline policies and attachments while the principal was in the group; the rows and
    versions of a managed policy while it applied to the principal (attached to it, to a group it was in at the
    time, or as its boundary). The decision for a request by the principal can change only at these positions."""
    table = PRINCIPAL_TABLES[kind]
    has_boundary = "boundary_arn" in table.c
    own = conn.execute(
        select(table.c.valid_from, table.c.valid_to, table.c.boundary_arn if has_boundary else null()).where(
            table.c.entity_uuid == entity
        )
    ).all()
    points = {int(b) for row in own for b in row[:2] if b is not None}
    points |= _bounds(conn, TAGS, TAGS.c.resource_uuid == entity)
    member: dict[str, list[Span]] = {}
    if kind == "user":
        rows = select(GROUP_MEMBERS.c.group_uuid, GROUP_MEMBERS.c.valid_from, GROUP_MEMBERS.c.valid_to)
        for group, since, until in conn.execute(rows.where(GROUP_MEMBERS.c.user_uuid == entity)):
            member.setdefault(str(group), []).append((int(since), None if until is None else int(until)))
    points |= {b for spans in member.values() for span in spans for b in span if b is not None}
    held: dict[str, list[Span]] = {entity: [(0, None)], **member}  # whose rows count, and while
    inline = select(INLINE_POLICIES.c.principal_uuid, INLINE_POLICIES.c.valid_from, INLINE_POLICIES.c.valid_to)
    for owner, since, until in conn.execute(inline.where(INLINE_POLICIES.c.principal_uuid.in_(list(held)))):
        points |= _bounds_during((int(since), None if until is None else int(until)), held[str(owner)])
    applied: dict[str, list[Span]] = {}  # each managed policy's spans of applying to the principal
    attached = select(
        ATTACHMENTS.c.principal_uuid, ATTACHMENTS.c.policy_arn, ATTACHMENTS.c.valid_from, ATTACHMENTS.c.valid_to
    )
    for owner, arn, since, until in conn.execute(attached.where(ATTACHMENTS.c.principal_uuid.in_(list(held)))):
        span: Span = (int(since), None if until is None else int(until))
        points |= _bounds_during(span, held[str(owner)])
        applied.setdefault(str(arn), []).extend(_overlaps(span, held[str(owner)]))
    for since, until, boundary in own:
        if boundary is not None:
            applied.setdefault(str(boundary), []).append((int(since), None if until is None else int(until)))
    return sorted(points | _policy_points(conn, applied))


def _policy_points(conn: Connection, applied: Mapping[str, list[Span]]) -> set[int]:
    """The positions at which a managed policy's row or one of its versions began or ended while it applied."""
    points: set[int] = set()
    if not applied:
        return points
    arn_of: dict[str, str] = {}
    rows = select(POLICIES.c.arn, POLICIES.c.entity_uuid, POLICIES.c.valid_from, POLICIES.c.valid_to)
    for arn, uuid, since, until in conn.execute(rows.where(POLICIES.c.arn.in_(list(applied)))):
        arn_of[str(uuid)] = str(arn)
        points |= _bounds_during((int(since), None if until is None else int(until)), applied[str(arn)])
    if arn_of:
        versions = select(POLICY_VERSIONS.c.policy_uuid, POLICY_VERSIONS.c.valid_from, POLICY_VERSIONS.c.valid_to)
        for uuid, since, until in conn.execute(versions.where(POLICY_VERSIONS.c.policy_uuid.in_(list(arn_of)))):
            span = (int(since), None if until is None else int(until))
            points |= _bounds_during(span, applied[arn_of[str(uuid)]])
    return points


def _within(position: int, span: Span) -> bool:
    return span[0] <= position and (span[1] is None or position <= span[1])


def _bounds_during(span: Span, during: list[Span]) -> set[int]:
    """The ends of ``span`` that fall within one of ``during``."""
    return {b for b in span if b is not None and any(_within(b, d) for d in during)}


def _overlaps(span: Span, during: list[Span]) -> list[Span]:
    """The parts of ``span`` within each of ``during``."""
    found: list[Span] = []
    for since, until in during:
        start = max(span[0], since)
        ends = [e for e in (span[1], until) if e is not None]
        end = min(ends) if ends else None
        if end is None or start <= end:
            found.append((start, end))
    return found
