"""The effective policies of a principal: every policy that applies to a user (its own inline and attached
policies, each of its groups' inline and attached policies, its boundary) or to a role, with the documents in force
(a managed policy's default version), ready for the evaluator."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import BindParameter, ColumnElement, Connection, Select, Table, and_, bindparam, or_, select

from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.projections.engine.temporal import live, read_position
from iamledger.projections.views.principals import attached_policy_arns, inline_policies
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUP_MEMBERS,
    GROUPS,
    INLINE_POLICIES,
    POLICIES,
    POLICY_VERSIONS,
)
from iamledger.projections.views.users import groups_of_user


@dataclass(frozen=True, slots=True)
class EffectivePolicy:
    """One policy that applies to a principal, and why.

    ``source_type`` uses the values of IAM's ``PolicySourceType``: ``user``, ``group`` or ``role`` for inline
    policies, ``aws-managed`` or ``user-managed`` for managed ones. ``via`` names the group a policy comes through.
    """

    role: Literal["identity", "boundary"]
    source_id: str
    source_type: str
    document: str
    policy_arn: str | None = None
    via: str | None = None


class PolicyDocuments:
    """The default documents of an account's customer managed policies over positions, each policy's history read
    once: for an answer decided at many positions (exposure), where reading the document at each position cost
    most of the answer. What :meth:`at` answers is what :func:`managed_document` reads at a bound position."""

    def __init__(self, conn: Connection, account_id: str) -> None:
        self._conn, self._account_id = conn, account_id
        self._spans: dict[str, list[tuple[int, int | None, str]]] = {}

    def at(self, arn: str, position: int) -> str | None:
        for since, until, document in self._spans_of(arn):
            if since <= position and (until is None or position < until):
                return document
        return None

    def bounds(self, arn: str) -> set[int]:
        """The positions at which what :meth:`at` answers for ``arn`` can change."""
        return {b for since, until, _document in self._spans_of(arn) for b in (since, until) if b is not None}

    def read(self, arns: Iterable[str]) -> None:
        """Read the histories of those of ``arns`` not read yet, together (two queries)."""
        wanted = sorted(set(arns) - self._spans.keys())
        if wanted:
            found = self._histories(wanted)
            self._spans.update({arn: found.get(arn, []) for arn in wanted})

    def _spans_of(self, arn: str) -> list[tuple[int, int | None, str]]:
        if arn not in self._spans:
            self.read([arn])
        return self._spans[arn]

    def _histories(self, arns: list[str]) -> dict[str, list[tuple[int, int | None, str]]]:
        """``(from, to, document)`` of each policy, in order: while a row of the policy named a default version and
        a row of that version was true together."""
        policies = self._conn.execute(
            select(
                POLICIES.c.arn,
                POLICIES.c.entity_uuid,
                POLICIES.c.default_version_id,
                POLICIES.c.valid_from,
                POLICIES.c.valid_to,
            ).where(POLICIES.c.account_id == self._account_id, POLICIES.c.arn.in_(arns))
        ).all()
        versions: dict[tuple[str, Any], list[tuple[int, int | None, str]]] = {}
        if policies:
            rows = select(
                POLICY_VERSIONS.c.policy_uuid,
                POLICY_VERSIONS.c.version_id,
                POLICY_VERSIONS.c.valid_from,
                POLICY_VERSIONS.c.valid_to,
                POLICY_VERSIONS.c.document,
            ).where(POLICY_VERSIONS.c.policy_uuid.in_(list({str(row[1]) for row in policies})))
            for of, version, v_since, v_until, document in self._conn.execute(rows):
                until = None if v_until is None else int(v_until)
                versions.setdefault((str(of), version), []).append((int(v_since), until, str(document)))
        spans: dict[str, list[tuple[int, int | None, str]]] = {}
        for arn, uuid, default, since, until in policies:
            for v_since, v_until, document in versions.get((str(uuid), default), []):
                start = max(int(since), v_since)
                ends = [int(e) for e in (until, v_until) if e is not None]
                end = min(ends) if ends else None
                if end is None or start < end:
                    spans.setdefault(str(arn), []).append((start, end, document))
        # the spans of one ARN do not overlap (one policy row and one version row at a time)
        return {arn: sorted(found, key=lambda span: span[0]) for arn, found in spans.items()}


def managed_document(
    conn: Connection,
    account_id: str,
    arn: str,
    catalogue: Mapping[str, Mapping[str, Any]],
) -> str | None:
    """The default version's document of a managed policy, or ``None`` when there is no such policy."""
    if is_aws_managed_policy_arn(arn):
        entry = catalogue.get(arn)
        return None if entry is None else str(entry["Document"])
    position = read_position()
    if position is None:
        value = conn.execute(_DOCUMENT_NOW, {"account_id": account_id, "arn": arn}).scalar()
    else:
        value = conn.execute(_DOCUMENT_AT, {"account_id": account_id, "arn": arn, "position": position}).scalar()
    return None if value is None else str(value)


def _document_query(at_position: bool) -> Select[tuple[str]]:
    """The default version's document of a managed policy, now or at a bound ``position`` (built once: a
    simulation looks up dozens of documents, and building the statement cost more than running it)."""

    def true_then(table: Table) -> ColumnElement[bool]:
        if not at_position:
            return table.c.valid_to.is_(None)
        position: BindParameter[int] = bindparam("position")
        return and_(table.c.valid_from <= position, or_(table.c.valid_to.is_(None), table.c.valid_to > position))

    return (
        select(POLICY_VERSIONS.c.document)
        .join(POLICIES, POLICIES.c.entity_uuid == POLICY_VERSIONS.c.policy_uuid)
        .where(
            POLICIES.c.account_id == bindparam("account_id"),
            POLICIES.c.arn == bindparam("arn"),
            true_then(POLICIES),
            POLICY_VERSIONS.c.version_id == POLICIES.c.default_version_id,
            true_then(POLICY_VERSIONS),
        )
    )


_DOCUMENT_NOW: Final = _document_query(at_position=False)
_DOCUMENT_AT: Final = _document_query(at_position=True)


def _managed(
    conn: Connection,
    account_id: str,
    entity: str,
    catalogue: Mapping[str, Mapping[str, Any]],
    via: str | None,
) -> list[EffectivePolicy]:
    found = []
    for arn in attached_policy_arns(conn, entity):
        document = managed_document(conn, account_id, arn, catalogue)
        if document is not None:
            kind = "aws-managed" if is_aws_managed_policy_arn(arn) else "user-managed"
            found.append(EffectivePolicy("identity", arn.rsplit("/", 1)[1], kind, document, arn, via))
    return found


def _inline(conn: Connection, entity: str, kind: str, via: str | None) -> list[EffectivePolicy]:
    return [
        EffectivePolicy("identity", p["policy_name"], kind, p["document"], None, via)
        for p in inline_policies(conn, entity)
    ]


def effective_policies(
    conn: Connection,
    account_id: str,
    kind: str,
    row: Mapping[str, Any],
    catalogue: Mapping[str, Mapping[str, Any]],
) -> list[EffectivePolicy]:
    """Every policy that applies to the principal ``row`` (a current row of the users, groups or roles view)."""
    entity = str(row["entity_uuid"])
    found = _inline(conn, entity, kind, None) + _managed(conn, account_id, entity, catalogue, None)
    if kind == "user":
        for group in groups_of_user(conn, entity):
            group_entity = str(group["entity_uuid"])
            found += _inline(conn, group_entity, "group", group["group_name"])
            found += _managed(conn, account_id, group_entity, catalogue, group["group_name"])
    boundary = row.get("boundary_arn")
    if boundary:
        document = managed_document(conn, account_id, boundary, catalogue)
        if document is not None:
            kind_name = "aws-managed" if is_aws_managed_policy_arn(boundary) else "user-managed"
            found.append(EffectivePolicy("boundary", boundary.rsplit("/", 1)[1], kind_name, document, boundary))
    return found


FEW_OWNERS: Final = 2_000
"""Up to this many holders, :func:`effective_policies_of_all` reads their rows by id (a few ``IN`` lists); beyond,
one pass over the live rows of the table costs less. One principal's policies must not cost a read of the whole
account (on 100,000 users: 164,000 memberships)."""


def _owned(conn: Connection, query: Select[Any], owner: ColumnElement[Any], owners: set[str]) -> Iterable[Any]:
    """The rows of ``query`` whose ``owner`` is one of ``owners`` (others may come too, for :func:`_grouped` to drop),
    in the query's order within each owner: by id when they are few (:data:`FEW_OWNERS`), else all of them."""
    if len(owners) > FEW_OWNERS:
        return conn.execute(query).mappings()
    ids = sorted(owners)
    return [
        row
        for start in range(0, len(ids), _IN_CHUNK)
        for row in conn.execute(query.where(owner.in_(ids[start : start + _IN_CHUNK]))).mappings()
    ]


_IN_CHUNK: Final = 500  # values per ``IN (...)``


def _grouped(rows: Any, key: str, wanted: set[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        owner = str(row[key])
        if owner in wanted:
            found.setdefault(owner, []).append(dict(row))
    return found


def _customer_documents(conn: Connection, account_id: str, arns: set[str] | None = None) -> dict[str, str]:
    """The default versions' documents of the account's customer managed policies at the bound position, by ARN
    (only those of ``arns`` when given)."""
    query = (
        select(POLICIES.c.arn, POLICY_VERSIONS.c.document)
        .join(POLICIES, POLICIES.c.entity_uuid == POLICY_VERSIONS.c.policy_uuid)
        .where(
            POLICIES.c.account_id == account_id,
            live(POLICIES),
            POLICY_VERSIONS.c.version_id == POLICIES.c.default_version_id,
            live(POLICY_VERSIONS),
        )
    )
    wanted = None if arns is None else sorted(a for a in arns if not is_aws_managed_policy_arn(a))
    if wanted is None:
        rows: list[Any] = list(conn.execute(query))
    else:
        chunks = (wanted[start : start + _IN_CHUNK] for start in range(0, len(wanted), _IN_CHUNK))
        rows = [row for chunk in chunks for row in conn.execute(query.where(POLICIES.c.arn.in_(chunk)))]
    documents: dict[str, str] = {}
    for arn, document in rows:
        documents.setdefault(str(arn), str(document))
    return documents


class _Holdings:
    """The inline policies and attachments of many holders, and the managed policies' documents, read once."""

    def __init__(
        self,
        inline: dict[str, list[dict[str, Any]]],
        attached: dict[str, list[dict[str, Any]]],
        customer: dict[str, str],
        catalogue: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self._inline = inline
        self._attached = attached
        self._customer = customer
        self._catalogue = catalogue

        self._documents: dict[str, str | None] = {}
        self._groups: dict[str, list[EffectivePolicy]] = {}

    def document_of(self, arn: str) -> str | None:
        """What :func:`managed_document` answers for ``arn``."""
        if arn not in self._documents:
            if is_aws_managed_policy_arn(arn):
                entry = self._catalogue.get(arn)
                self._documents[arn] = None if entry is None else str(entry["Document"])
            else:
                self._documents[arn] = self._customer.get(arn)
        return self._documents[arn]

    def policies_of(self, entity: str, kind: str, via: str | None) -> list[EffectivePolicy]:
        """The inline then the attached managed policies of ``entity``."""
        found = [
            EffectivePolicy("identity", p["policy_name"], kind, p["document"], None, via)
            for p in self._inline.get(entity, [])
        ]
        for attachment in self._attached.get(entity, []):
            arn = str(attachment["policy_arn"])
            document = self.document_of(arn)
            if document is not None:
                source_type = "aws-managed" if is_aws_managed_policy_arn(arn) else "user-managed"
                found.append(EffectivePolicy("identity", arn.rsplit("/", 1)[1], source_type, document, arn, via))
        return found

    def group_policies(self, group: Mapping[str, Any]) -> list[EffectivePolicy]:
        """:meth:`policies_of` a group, through it (each group's read once)."""
        entity = str(group["entity_uuid"])
        if entity not in self._groups:
            self._groups[entity] = self.policies_of(entity, "group", group["group_name"])
        return self._groups[entity]


def effective_policies_of_all(
    conn: Connection,
    account_id: str,
    principals: Sequence[tuple[str, Mapping[str, Any]]],
    catalogue: Mapping[str, Mapping[str, Any]],
) -> list[list[EffectivePolicy]]:
    """:func:`effective_policies` of each ``(kind, row)`` of ``principals`` (users and roles of ``account_id``), read
    in a handful of set-based queries instead of a score per principal: the same policies, in the same order."""
    entities = {str(row["entity_uuid"]) for _kind, row in principals}
    members = (
        select(GROUP_MEMBERS.c.user_uuid, GROUPS)
        .join(GROUPS, GROUP_MEMBERS.c.group_uuid == GROUPS.c.entity_uuid)
        .where(live(GROUP_MEMBERS), live(GROUPS))
        .order_by(GROUP_MEMBERS.c.user_uuid, GROUPS.c.name_key)
    )
    groups = _grouped(_owned(conn, members, GROUP_MEMBERS.c.user_uuid, entities), "user_uuid", entities)
    owners = entities | {str(g["entity_uuid"]) for found in groups.values() for g in found}
    inline = select(INLINE_POLICIES).where(live(INLINE_POLICIES))
    inline = inline.order_by(INLINE_POLICIES.c.principal_uuid, INLINE_POLICIES.c.policy_name)
    attached = select(ATTACHMENTS.c.principal_uuid, ATTACHMENTS.c.policy_arn).where(live(ATTACHMENTS))
    attached = attached.order_by(ATTACHMENTS.c.principal_uuid, ATTACHMENTS.c.valid_from, ATTACHMENTS.c.row_id)
    attachments = _grouped(_owned(conn, attached, ATTACHMENTS.c.principal_uuid, owners), "principal_uuid", owners)
    arns = None  # the customer managed documents: all of them for many principals, else only those they hold
    if len(owners) <= FEW_OWNERS:
        arns = {str(a["policy_arn"]) for found in attachments.values() for a in found}
        arns |= {str(row["boundary_arn"]) for _kind, row in principals if row.get("boundary_arn")}
    holdings = _Holdings(
        _grouped(_owned(conn, inline, INLINE_POLICIES.c.principal_uuid, owners), "principal_uuid", owners),
        attachments,
        _customer_documents(conn, account_id, arns),
        catalogue,
    )
    answers: list[list[EffectivePolicy]] = []
    for kind, row in principals:
        entity = str(row["entity_uuid"])
        found = holdings.policies_of(entity, kind, None)
        if kind == "user":
            for group in groups.get(entity, []):
                found += holdings.group_policies(group)
        boundary = row.get("boundary_arn")
        if boundary:
            document = holdings.document_of(boundary)
            if document is not None:
                kind_name = "aws-managed" if is_aws_managed_policy_arn(boundary) else "user-managed"
                found.append(EffectivePolicy("boundary", boundary.rsplit("/", 1)[1], kind_name, document, boundary))
        answers.append(found)
    return answers
