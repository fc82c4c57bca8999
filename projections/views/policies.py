"""The managed policies view: customer managed policies with their versions and tags, and the reads that merge them
with the AWS managed catalogue and the per-account usage counts (attachments and permissions boundaries)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Executable, Table, bindparam, func, select

from iamledger.domain.names import name_key
from iamledger.projections.access.permissions import close_services, open_services
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import execute_prepared, live
from iamledger.projections.engine.temporal_rows import close_rows, open_row, replace_row
from iamledger.projections.views.principals import account_of, remember_account
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUPS,
    POLICIES,
    POLICY_SERVICES,
    POLICY_VERSIONS,
    ROLES,
    TAGS,
    USERS,
)
from iamledger.projections.views.tags import open_tags, tag_entity, untag_entity

if TYPE_CHECKING:
    from iamledger.domain.policies import ManagedPolicy

KIND = "policy"


@prefetches(
    "iamledger.domain.policies:ManagedPolicy.VersionCreated",
    "iamledger.domain.policies:ManagedPolicy.DefaultVersionSet",
    "iamledger.domain.policies:ManagedPolicy.Tagged",
    "iamledger.domain.policies:ManagedPolicy.Deleted",
)
def _policy_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(POLICIES, "entity_uuid", str(event.originator_id))]


@prefetches("iamledger.domain.policies:ManagedPolicy.VersionDeleted", "iamledger.domain.policies:ManagedPolicy.Deleted")
def _versions(event: Any) -> list[tuple[Table, str, Any]]:
    entity = str(event.originator_id)
    return [(POLICY_VERSIONS, "policy_uuid", entity), (POLICY_SERVICES, "owner_uuid", entity)]


@prefetches(
    "iamledger.domain.policies:ManagedPolicy.Tagged",
    "iamledger.domain.policies:ManagedPolicy.Untagged",
    "iamledger.domain.policies:ManagedPolicy.Deleted",
)
def _tags(event: Any) -> list[tuple[Table, str, Any]]:
    return [(TAGS, "resource_uuid", str(event.originator_id))]


@handles("iamledger.domain.policies:ManagedPolicy.Created", batched=True)
def _created(conn: Connection, event: ManagedPolicy.Created, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        POLICIES,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        policy_id=event.policy_id,
        policy_name=event.policy_name,
        name_key=name_key(event.policy_name),
        path=event.path,
        arn=f"arn:aws:iam::{event.account_id}:policy{event.path}{event.policy_name}",
        description=event.description,
        default_version_id=event.first_version_id,
        create_date=event.create_date or event.timestamp,
        update_date=event.update_date or event.create_date or event.timestamp,
    )
    version_date = event.version_create_date or event.create_date or event.timestamp
    _open_version(conn, position, entity, event.first_version_id, event.document, version_date)
    open_services(conn, position, event.account_id, entity, event.first_version_id, event.document)
    remember_account(conn, entity, event.account_id)
    open_tags(conn, position, event.account_id, KIND, entity, event.tags)


def _open_version(
    conn: Connection, position: int, entity: str, version_id: str, document: str, create_date: datetime
) -> None:
    open_row(
        conn,
        POLICY_VERSIONS,
        position,
        policy_uuid=entity,
        version_id=version_id,
        document=document,
        create_date=create_date,
    )


@handles("iamledger.domain.policies:ManagedPolicy.VersionCreated", batched=True)
def _version_created(conn: Connection, event: ManagedPolicy.VersionCreated, position: int) -> None:
    entity = str(event.originator_id)
    created = event.create_date or event.timestamp
    _open_version(conn, position, entity, event.version_id, event.document, created)
    open_services(conn, position, account_of(conn, entity, (POLICIES,)), entity, event.version_id, event.document)
    if event.set_as_default:
        changes = {"default_version_id": event.version_id, "update_date": event.update_date or created}
        replace_row(conn, POLICIES, position, {"entity_uuid": entity}, **changes)


@handles("iamledger.domain.policies:ManagedPolicy.DefaultVersionSet", batched=True)
def _default_set(conn: Connection, event: ManagedPolicy.DefaultVersionSet, position: int) -> None:
    changes = {"default_version_id": event.version_id, "update_date": event.update_date or event.timestamp}
    replace_row(conn, POLICIES, position, {"entity_uuid": str(event.originator_id)}, **changes)


@handles("iamledger.domain.policies:ManagedPolicy.VersionDeleted", batched=True)
def _version_deleted(conn: Connection, event: ManagedPolicy.VersionDeleted, position: int) -> None:
    close_rows(conn, POLICY_VERSIONS, position, policy_uuid=str(event.originator_id), version_id=event.version_id)
    close_services(conn, position, str(event.originator_id), event.version_id)


@handles("iamledger.domain.policies:ManagedPolicy.Tagged", batched=True)
def _tagged(conn: Connection, event: ManagedPolicy.Tagged, position: int) -> None:
    tag_entity(conn, event, position, account_of(conn, str(event.originator_id), (POLICIES,)), KIND)


@handles("iamledger.domain.policies:ManagedPolicy.Untagged", batched=True)
def _untagged(conn: Connection, event: ManagedPolicy.Untagged, position: int) -> None:
    untag_entity(conn, event, position, KIND)


@handles("iamledger.domain.policies:ManagedPolicy.Deleted", batched=True)
def _deleted(conn: Connection, event: ManagedPolicy.Deleted, position: int) -> None:
    entity = str(event.originator_id)
    close_rows(conn, POLICIES, position, entity_uuid=entity)
    close_rows(conn, POLICY_VERSIONS, position, policy_uuid=entity)
    close_services(conn, position, entity)
    close_rows(conn, TAGS, position, resource_uuid=entity)


# -- reads ------------------------------------------------------------------------------------------------------


def attachment_counts(conn: Connection, account_id: str) -> dict[str, int]:
    """How many users, groups and roles of the account each managed policy (by ARN) is attached to."""
    query = (
        select(ATTACHMENTS.c.policy_arn, func.count())
        .where(ATTACHMENTS.c.account_id == account_id, live(ATTACHMENTS))
        .group_by(ATTACHMENTS.c.policy_arn)
    )
    return {str(arn): int(count) for arn, count in conn.execute(query)}


def boundary_counts(conn: Connection, account_id: str) -> dict[str, int]:
    """How many users and roles of the account use each managed policy (by ARN) as their permissions boundary."""
    counts: dict[str, int] = {}
    for table in (USERS, ROLES):
        query = (
            select(table.c.boundary_arn, func.count())
            .where(table.c.account_id == account_id, live(table), table.c.boundary_arn.is_not(None))
            .group_by(table.c.boundary_arn)
        )
        for arn, count in conn.execute(query):
            counts[str(arn)] = counts.get(str(arn), 0) + int(count)
    return counts


def _customer_row(row: Any) -> dict[str, Any]:
    return {
        "entity_uuid": row["entity_uuid"],
        "aws_managed": False,
        "policy_name": row["policy_name"],
        "policy_id": row["policy_id"],
        "arn": row["arn"],
        "path": row["path"],
        "description": row["description"],
        "default_version_id": row["default_version_id"],
        "is_attachable": True,
        "create_date": row["create_date"],
        "update_date": row["update_date"],
    }


def aws_policy_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An AWS managed policy of the catalogue as a view row (without usage counts)."""
    return {
        "entity_uuid": None,
        "aws_managed": True,
        "policy_name": entry["PolicyName"],
        "policy_id": entry["PolicyId"],
        "arn": entry["Arn"],
        "path": entry["Path"],
        "description": entry.get("Description"),
        "default_version_id": entry["DefaultVersionId"],
        "is_attachable": bool(entry.get("IsAttachable", True)),
        "create_date": entry["CreateDate"],
        "update_date": entry["UpdateDate"],
        "document": entry["Document"],
    }


def _with_counts(conn: Connection, account_id: str, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    attached = attachment_counts(conn, account_id)
    bounded = boundary_counts(conn, account_id)
    return [
        row | {"attachment_count": attached.get(row["arn"], 0), "boundary_count": bounded.get(row["arn"], 0)}
        for row in rows
    ]


def customer_policies(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    """The account's current customer managed policies, ordered by name, with their usage counts."""
    query = (
        select(POLICIES)
        .where(POLICIES.c.account_id == account_id, live(POLICIES))
        .order_by(POLICIES.c.name_key, POLICIES.c.policy_name)
    )
    return _with_counts(conn, account_id, (_customer_row(r) for r in conn.execute(query).mappings()))


def aws_managed_policies(
    conn: Connection, account_id: str, catalogue: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The AWS managed policies of the catalogue, ordered by name, with this account's usage counts."""
    rows = sorted((aws_policy_row(e) for e in catalogue.values()), key=lambda r: (name_key(r["policy_name"]), r["arn"]))
    return _with_counts(conn, account_id, rows)


def find_policy(
    conn: Connection, account_id: str, arn: str, catalogue: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The managed policy with ``arn`` (AWS's, or a current one of the account) with its usage counts, or ``None``."""
    if arn in catalogue:
        return _with_counts_of(conn, account_id, aws_policy_row(catalogue[arn]))

    def build() -> Executable:
        by_arn = (POLICIES.c.account_id == bindparam("account_id"), POLICIES.c.arn == bindparam("arn"))
        return select(POLICIES).where(*by_arn, live(POLICIES))

    row = execute_prepared(conn, find_policy, build, account_id=account_id, arn=arn).mappings().first()
    return None if row is None else _with_counts_of(conn, account_id, _customer_row(row))


def _with_counts_of(conn: Connection, account_id: str, row: dict[str, Any]) -> dict[str, Any]:
    """One policy's row with its usage counts (counted for that policy alone)."""

    def build_attached() -> Executable:
        return select(func.count()).where(
            ATTACHMENTS.c.account_id == bindparam("account_id"),
            ATTACHMENTS.c.policy_arn == bindparam("arn"),
            live(ATTACHMENTS),
        )

    def build_bounded(table: Table) -> Callable[[], Executable]:
        def build() -> Executable:
            return select(func.count()).where(
                table.c.account_id == bindparam("account_id"), table.c.boundary_arn == bindparam("arn"), live(table)
            )

        return build

    values = {"account_id": account_id, "arn": row["arn"]}
    attached = execute_prepared(conn, "attachment_count", build_attached, **values).scalar_one()
    bounded = sum(
        execute_prepared(conn, ("boundary_count", table), build_bounded(table), **values).scalar_one()
        for table in (USERS, ROLES)
    )
    return row | {"attachment_count": int(attached), "boundary_count": int(bounded)}


def policy_versions(conn: Connection, policy_uuid: str) -> list[dict[str, Any]]:
    """The stored versions of a customer managed policy, newest first (as AWS lists them)."""
    query = select(POLICY_VERSIONS).where(POLICY_VERSIONS.c.policy_uuid == policy_uuid, live(POLICY_VERSIONS))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    return sorted(rows, key=lambda r: int(str(r["version_id"])[1:].split(".")[0]), reverse=True)


def _principal_columns(kind: str) -> tuple[Table, Any, Any]:
    table = {"user": USERS, "group": GROUPS, "role": ROLES}[kind]
    return table, table.c[f"{kind}_name"], table.c[f"{kind}_id"]


def attached_entities(conn: Connection, account_id: str, arn: str, kind: str) -> list[dict[str, Any]]:
    """The current ``kind`` entities (user, group, role) a managed policy is attached to, ordered by name."""
    table, name, unique_id = _principal_columns(kind)
    query = (
        select(name, unique_id, table.c.path)
        .join(ATTACHMENTS, ATTACHMENTS.c.principal_uuid == table.c.entity_uuid)
        .where(
            ATTACHMENTS.c.account_id == account_id,
            ATTACHMENTS.c.policy_arn == arn,
            live(ATTACHMENTS),
            live(table),
        )
        .order_by(table.c.name_key)
    )
    return [{"name": r[0], "id": r[1], "path": r[2]} for r in conn.execute(query)]


def boundary_entities(conn: Connection, account_id: str, arn: str, kind: str) -> list[dict[str, Any]]:
    """The current users or roles whose permissions boundary is the managed policy ``arn``, ordered by name."""
    table, name, unique_id = _principal_columns(kind)
    query = (
        select(name, unique_id, table.c.path)
        .where(table.c.account_id == account_id, table.c.boundary_arn == arn, live(table))
        .order_by(table.c.name_key)
    )
    return [{"name": r[0], "id": r[1], "path": r[2]} for r in conn.execute(query)]
