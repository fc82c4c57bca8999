"""The effective policies of a principal: every policy that applies to a user (its own inline and attached
policies, each of its groups' inline and attached policies, its boundary) or to a role, with the documents in force
(a managed policy's default version), ready for the evaluator."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from sqlalchemy import BindParameter, ColumnElement, Connection, Select, Table, and_, bindparam, or_, select

from iamledger.domain.arns import is_aws_managed_policy_arn
from iamledger.projections.principals import attached_policy_arns, inline_policies
from iamledger.projections.tables import POLICIES, POLICY_VERSIONS
from iamledger.projections.temporal import read_position
from iamledger.projections.users import groups_of_user


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


def managed_document(
    conn: Connection, account_id: str, arn: str, catalogue: Mapping[str, Mapping[str, Any]]
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
