"""A principal's permission-bearing rows over its whole history, read once (:class:`PrincipalHistory`): for an answer
decided at many positions (exposure), where reading the principal's row, tags and policies again at each position
cost most of the answer. What it answers at a position is what the per-position reads (:func:`analysis.row_of`,
:func:`current_tags`, :func:`effective_policies`) answer with that position bound."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, select

from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.projections.access.effective import EffectivePolicy, PolicyDocuments
from iamledger.projections.views.catalogue import AWS_ACCOUNT, aws_managed_policies
from iamledger.projections.views.principals import PRINCIPAL_TABLES
from iamledger.projections.views.tables import ATTACHMENTS, GROUP_MEMBERS, GROUPS, INLINE_POLICIES, TAGS

Rows = list[dict[str, Any]]


def _true_at(row: Mapping[str, Any], position: int) -> bool:
    """Whether a temporal row was true at ``position`` (what :func:`~iamledger.projections.engine.temporal.live`
    selects with that position bound)."""
    until = row["valid_to"]
    return int(row["valid_from"]) <= position and (until is None or int(until) > position)


def _by_owner(rows: Iterable[Any], key: str) -> dict[str, Rows]:
    found: dict[str, Rows] = {}
    for row in rows:
        found.setdefault(str(row[key]), []).append(dict(row))
    return found


class PrincipalHistory:
    """Every row of a user, group or role (``kind``, aggregate id ``entity``) that its decisions depend on, over the
    whole history: its own rows and tags; a user's memberships and those groups' rows; the inline policies and
    attachments of it and of those groups. Managed policies' documents come from ``documents`` (the account's
    customer managed policies) and the AWS managed policies imported into the store (read over their history once),
    else the built-in catalogue."""

    def __init__(self, conn: Connection, kind: str, entity: str, documents: PolicyDocuments) -> None:
        self.kind, self.entity, self._documents = kind, entity, documents
        self._aws = PolicyDocuments(conn, AWS_ACCOUNT)
        table = PRINCIPAL_TABLES[kind]
        self._rows = [dict(r) for r in conn.execute(select(table).where(table.c.entity_uuid == entity)).mappings()]
        tags = select(TAGS).where(TAGS.c.resource_uuid == entity).order_by(TAGS.c.ordinal, TAGS.c.row_id)
        self._tags = [dict(r) for r in conn.execute(tags).mappings()]
        self._members: Rows = []
        self._groups: dict[str, Rows] = {}
        if kind == "user":
            members = select(GROUP_MEMBERS).where(GROUP_MEMBERS.c.user_uuid == entity)
            self._members = [dict(r) for r in conn.execute(members).mappings()]
            uuids = list({str(m["group_uuid"]) for m in self._members})
            if uuids:
                groups = select(GROUPS).where(GROUPS.c.entity_uuid.in_(uuids))
                self._groups = _by_owner(conn.execute(groups).mappings(), "entity_uuid")
        owners = [entity, *self._groups]
        inline = select(INLINE_POLICIES).where(INLINE_POLICIES.c.principal_uuid.in_(owners))
        inline_rows = conn.execute(inline.order_by(INLINE_POLICIES.c.policy_name)).mappings()
        self._inline = _by_owner(inline_rows, "principal_uuid")
        attached = select(ATTACHMENTS).where(ATTACHMENTS.c.principal_uuid.in_(owners))
        attached_rows = conn.execute(attached.order_by(ATTACHMENTS.c.valid_from, ATTACHMENTS.c.row_id)).mappings()
        self._attached = _by_owner(attached_rows, "principal_uuid")
        arns = {str(row["policy_arn"]) for rows in self._attached.values() for row in rows}
        arns |= {str(row["boundary_arn"]) for row in self._rows if row.get("boundary_arn")}
        self._aws.read(arn for arn in arns if is_aws_managed_policy_arn(arn))
        documents.read(arn for arn in arns if not is_aws_managed_policy_arn(arn))
        self._bounds: dict[str, list[int]] = {}
        self._membership_bounds: list[int] | None = None
        self._memberships: dict[int, Rows] = {}
        self._read: dict[tuple[str, str | None, int], list[EffectivePolicy]] = {}

    def row_at(self, position: int) -> dict[str, Any] | None:
        """The principal's row at ``position`` (:func:`~iamledger.projections.access.analysis.row_of`)."""
        return next((dict(row) for row in self._rows if _true_at(row, position)), None)

    def tags_at(self, position: int) -> dict[str, str]:
        """Its tags at ``position`` (:func:`~iamledger.projections.views.tags.current_tags`)."""
        return {str(t["tag_key"]): str(t["tag_value"]) for t in self._tags if _true_at(t, position)}

    def policies_at(self, position: int, row: Mapping[str, Any]) -> list[EffectivePolicy]:
        """Every policy that applied to it at ``position``, in :func:`effective_policies`' order; ``row`` is its row
        then (:meth:`row_at`)."""
        found = list(self._policies_of(self.entity, self.kind, None, position))
        for group in self._groups_at(position):
            found += self._policies_of(str(group["entity_uuid"]), "group", group["group_name"], position)
        boundary = row.get("boundary_arn")
        if boundary:
            document = self.document_at(boundary, position)
            if document is not None:
                kind_name = "aws-managed" if is_aws_managed_policy_arn(boundary) else "user-managed"
                found.append(EffectivePolicy("boundary", boundary.rsplit("/", 1)[1], kind_name, document, boundary))
        return found

    def document_at(self, arn: str, position: int) -> str | None:
        """The default version's document of a managed policy at ``position``
        (:func:`~iamledger.projections.access.effective.managed_document`)."""
        if not is_aws_managed_policy_arn(arn):
            return self._documents.at(arn, position)
        imported = self._aws.at(arn, position)
        if imported is not None:
            return imported
        entry = aws_managed_policies().get(arn)
        return None if entry is None else str(entry["Document"])

    def _groups_at(self, position: int) -> Rows:
        """The groups the user was in at ``position``, ordered by name (:func:`groups_of_user`), read once for all
        the positions between two at which a membership or one of those groups' rows begins or ends."""
        if self._membership_bounds is None:
            rows = (*self._members, *(g for rows in self._groups.values() for g in rows))
            found_bounds = {int(b) for row in rows for b in (row["valid_from"], row["valid_to"]) if b is not None}
            self._membership_bounds = sorted(found_bounds)
        segment = bisect_right(self._membership_bounds, position)
        groups = self._memberships.get(segment)
        if groups is None:
            groups = self._memberships[segment] = self._groups_then(position)
        return groups

    def _groups_then(self, position: int) -> Rows:
        found = []
        for member in self._members:
            if _true_at(member, position):
                found += [g for g in self._groups.get(str(member["group_uuid"]), []) if _true_at(g, position)]
        return sorted(found, key=lambda g: str(g["name_key"]))

    def _policies_of(self, owner: str, kind: str, via: str | None, position: int) -> list[EffectivePolicy]:
        """The inline then attached managed policies of ``owner`` at ``position``, read once for all the positions
        between two of the positions at which one of them can change (:meth:`_bounds_of`)."""
        key = (owner, via, bisect_right(self._bounds_of(owner), position))
        found = self._read.get(key)
        if found is None:
            found = self._read[key] = self._policies_then(owner, kind, via, position)
        return found

    def _bounds_of(self, owner: str) -> list[int]:
        """The positions at which one of ``owner``'s inline or attached policies (or a document of one) begins or
        ends: between two of them, its policies are the same."""
        bounds = self._bounds.get(owner)
        if bounds is None:
            found: set[int] = set()
            for row in (*self._inline.get(owner, []), *self._attached.get(owner, [])):
                found |= {int(b) for b in (row["valid_from"], row["valid_to"]) if b is not None}
            for arn in {str(row["policy_arn"]) for row in self._attached.get(owner, [])}:
                found |= self._aws.bounds(arn) if is_aws_managed_policy_arn(arn) else self._documents.bounds(arn)
            bounds = self._bounds[owner] = sorted(found)
        return bounds

    def _policies_then(self, owner: str, kind: str, via: str | None, position: int) -> list[EffectivePolicy]:
        found = [
            EffectivePolicy("identity", p["policy_name"], kind, p["document"], None, via)
            for p in self._inline.get(owner, [])
            if _true_at(p, position)
        ]
        for attachment in self._attached.get(owner, []):
            if not _true_at(attachment, position):
                continue
            arn = str(attachment["policy_arn"])
            document = self.document_at(arn, position)
            if document is not None:
                source_type = "aws-managed" if is_aws_managed_policy_arn(arn) else "user-managed"
                found.append(EffectivePolicy("identity", arn.rsplit("/", 1)[1], source_type, document, arn, via))
        return found
