"""What the views of users, groups and roles share: inline policies, attached managed policies, tags, and closing
everything of an entity when it is deleted."""

from __future__ import annotations

from functools import partial
from typing import Any, Final

from sqlalchemy import Connection, Executable, Table, bindparam, select

from iamledger.domain.arns import iam_arn
from iamledger.domain.names import name_key
from iamledger.domain.permissions import (
    InlinePolicyDeletedEvent,
    InlinePolicyPutEvent,
    PolicyAttachedEvent,
    PolicyDetachedEvent,
)
from iamledger.projections.access.permissions import close_services, open_services
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import execute_prepared, live
from iamledger.projections.engine.temporal_rows import (
    batch_memo,
    close_rows,
    current_row,
    known_rows,
    open_row,
    replace_row,
)
from iamledger.projections.views.tables import (
    ATTACHMENTS,
    GROUPS,
    INLINE_POLICIES,
    INSTANCE_PROFILES,
    POLICIES,
    POLICY_SERVICES,
    ROLES,
    SERVER_CERTIFICATES,
    TAGS,
    USERS,
)

ENTITY_TABLES: tuple[Table, ...] = (USERS, GROUPS, ROLES, POLICIES, INSTANCE_PROFILES)
PRINCIPAL_TABLES: dict[str, Table] = {"user": USERS, "group": GROUPS, "role": ROLES}
NAMED_TABLES: Final[dict[str, Table]] = {
    **PRINCIPAL_TABLES,
    "instance-profile": INSTANCE_PROFILES,
    "server-certificate": SERVER_CERTIFICATES,
}
"""The views of the entities a request names by kind and name (as the authorization's resources name them)."""


def kind_of(event: Any) -> str:
    """The entity kind an event belongs to, from its class: ``User.PolicyAttached`` -> ``user``."""
    return type(event).__qualname__.split(".", 1)[0].lower()


_ACCOUNTS: Final = "iamledger_accounts_of_entities"
"""Where :func:`account_of` remembers, per database connection, the accounts it found (an entity's never changes)."""
_MAX_ACCOUNTS: Final = 10_000


def _account_query(table: Table) -> Executable:
    return select(table.c.account_id).where(table.c.entity_uuid == bindparam("entity")).limit(1)


def remember_account(conn: Connection, entity: str, account_id: str) -> None:
    """Note the account of an entity whose row ``conn`` has just written (its creation): :func:`account_of` then
    answers without a query (an entity never changes account, and its id is never reused)."""
    known: dict[str, str] = conn.info.setdefault(_ACCOUNTS, {})
    if len(known) >= _MAX_ACCOUNTS:
        known.clear()
    known[entity] = account_id


def account_of(conn: Connection, entity: str, tables: tuple[Table, ...] = ENTITY_TABLES) -> str:
    """The account of an entity, from whichever of the entity views ``tables`` holds it (any of its rows: an
    entity never changes account). In a projection batch the answer comes from the rows the batch holds when it can,
    and is remembered for the rest of the batch."""
    memo = batch_memo(conn)
    if memo is not None:
        found = memo.get(("account", entity))
        if found is not None:
            return str(found)
        for table in tables:
            rows = known_rows(conn, table, entity_uuid=entity)
            if rows:
                memo["account", entity] = rows[0]["account_id"]
                return str(rows[0]["account_id"])
    known: dict[str, str] = conn.info.setdefault(_ACCOUNTS, {})
    found = known.get(entity)
    if found is not None:
        return found
    for table in tables:
        row = execute_prepared(conn, ("account_of", table), partial(_account_query, table), entity=entity).first()
        if row is not None:
            if memo is not None:
                memo["account", entity] = row[0]
            if len(known) >= _MAX_ACCOUNTS:
                known.clear()
            known[entity] = str(row[0])
            return str(row[0])
    return ""


def entity_rows(event: Any) -> list[tuple[Table, str, Any]]:
    """Prefetch: the current row of the user, group or role an event belongs to."""
    return [(PRINCIPAL_TABLES[kind_of(event)], "entity_uuid", str(event.originator_id))]


def hanging_rows(event: Any) -> list[tuple[Table, str, Any]]:
    """Prefetch: everything that hangs on an entity and ends with it (tags, inline policies, attachments)."""
    entity = str(event.originator_id)
    return [
        (TAGS, "resource_uuid", entity),
        (INLINE_POLICIES, "principal_uuid", entity),
        (POLICY_SERVICES, "owner_uuid", entity),
        (ATTACHMENTS, "principal_uuid", entity),
    ]


@prefetches(InlinePolicyPutEvent, PolicyAttachedEvent)
def _principal_row(event: Any) -> list[tuple[Table, str, Any]]:
    return entity_rows(event)


@prefetches(InlinePolicyPutEvent, InlinePolicyDeletedEvent)
def _inline_rows(event: Any) -> list[tuple[Table, str, Any]]:
    entity = str(event.originator_id)
    return [(INLINE_POLICIES, "principal_uuid", entity), (POLICY_SERVICES, "owner_uuid", entity)]


@prefetches(PolicyDetachedEvent)
def _attachment_rows(event: Any) -> list[tuple[Table, str, Any]]:
    return [(ATTACHMENTS, "principal_uuid", str(event.originator_id))]


@handles(InlinePolicyPutEvent, batched=True)
def _inline_put(conn: Connection, event: InlinePolicyPutEvent, position: int) -> None:
    entity = str(event.originator_id)
    account_id = account_of(conn, entity)
    close_rows(conn, INLINE_POLICIES, position, principal_uuid=entity, policy_name=event.policy_name)
    open_row(
        conn,
        INLINE_POLICIES,
        position,
        account_id=account_id,
        principal_kind=kind_of(event),
        principal_uuid=entity,
        policy_name=event.policy_name,
        document=event.policy_document,
    )
    close_services(conn, position, entity, event.policy_name)
    open_services(conn, position, account_id, entity, event.policy_name, event.policy_document)


@handles(InlinePolicyDeletedEvent, batched=True)
def _inline_deleted(conn: Connection, event: InlinePolicyDeletedEvent, position: int) -> None:
    close_rows(conn, INLINE_POLICIES, position, principal_uuid=str(event.originator_id), policy_name=event.policy_name)
    close_services(conn, position, str(event.originator_id), event.policy_name)


@handles(PolicyAttachedEvent, batched=True)
def _attached(conn: Connection, event: PolicyAttachedEvent, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        ATTACHMENTS,
        position,
        account_id=account_of(conn, entity),
        principal_kind=kind_of(event),
        principal_uuid=entity,
        policy_arn=event.policy_arn,
    )


@handles(PolicyDetachedEvent, batched=True)
def _detached(conn: Connection, event: PolicyDetachedEvent, position: int) -> None:
    close_rows(conn, ATTACHMENTS, position, principal_uuid=str(event.originator_id), policy_arn=event.policy_arn)


def close_principal(conn: Connection, table: Table, entity: str, position: int) -> None:
    """End an entity's row and everything that hangs on it (tags; policies are gone before a delete)."""
    close_rows(conn, table, position, entity_uuid=entity)
    close_rows(conn, TAGS, position, resource_uuid=entity)
    close_rows(conn, INLINE_POLICIES, position, principal_uuid=entity)
    close_services(conn, position, entity)
    close_rows(conn, ATTACHMENTS, position, principal_uuid=entity)


def rename_principal(
    conn: Connection, table: Table, kind: str, event: Any, position: int, name_column: str, name: str
) -> None:
    """A user's or group's new name and path (``Updated``): its row's name, case-folded name key, path and ARN."""
    entity = str(event.originator_id)
    row = current_row(conn, table, entity_uuid=entity)
    account_id = row["account_id"] if row else ""
    replace_row(
        conn,
        table,
        position,
        {"entity_uuid": entity},
        **{name_column: name},
        name_key=name_key(name),
        path=event.path,
        arn=iam_arn(account_id, kind, event.path, name),
    )


def under_path(
    conn: Connection, table: Table, name_column: str, account_id: str, path_prefix: str
) -> list[dict[str, Any]]:
    """The account's current entities of ``table`` whose path starts with ``path_prefix``, ordered by name (case
    folded, then as written in ``name_column``)."""
    query = (
        select(table)
        .where(table.c.account_id == account_id, live(table), table.c.path.startswith(path_prefix, autoescape=True))
        .order_by(table.c.name_key, table.c[name_column])
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def find_by_name(conn: Connection, table: Table, account_id: str, name: str) -> dict[str, Any] | None:
    """The current entity of ``table`` called ``name`` (compared case-insensitively), or ``None``."""

    def build() -> Executable:
        by_name = (table.c.account_id == bindparam("account_id"), table.c.name_key == bindparam("name_key"))
        return select(table).where(*by_name, live(table))

    result = execute_prepared(conn, (find_by_name, table), build, account_id=account_id, name_key=name_key(name))
    row = result.mappings().first()
    return dict(row) if row else None


def find_named(conn: Connection, kind: str, account_id: str, name: str) -> dict[str, Any] | None:
    """The current entity of ``kind`` (``user``, ``group``, ``role``, ``instance-profile`` or
    ``server-certificate``) called ``name`` (compared case-insensitively), or ``None``."""
    return find_by_name(conn, NAMED_TABLES[kind], account_id, name)


def find_principal_by_arn(conn: Connection, kind: str, arn: str) -> dict[str, Any] | None:
    """The user, group or role (``kind``) called ``arn`` at the bound position, or ``None``."""
    table = PRINCIPAL_TABLES[kind]
    row = conn.execute(select(table).where(table.c.arn == arn, live(table))).mappings().first()
    return dict(row) if row else None


def inline_policies(conn: Connection, entity: str) -> list[dict[str, Any]]:
    """The current inline policies of an entity, ordered by name."""

    def build() -> Executable:
        return (
            select(INLINE_POLICIES)
            .where(INLINE_POLICIES.c.principal_uuid == bindparam("entity"), live(INLINE_POLICIES))
            .order_by(INLINE_POLICIES.c.policy_name)
        )

    return [dict(r) for r in execute_prepared(conn, inline_policies, build, entity=entity).mappings()]


def attached_policy_arns(conn: Connection, entity: str) -> list[str]:
    """The ARNs of the managed policies currently attached to an entity, in attachment order."""

    def build() -> Executable:
        return (
            select(ATTACHMENTS.c.policy_arn)
            .where(ATTACHMENTS.c.principal_uuid == bindparam("entity"), live(ATTACHMENTS))
            .order_by(ATTACHMENTS.c.valid_from, ATTACHMENTS.c.row_id)
        )

    return [str(r[0]) for r in execute_prepared(conn, attached_policy_arns, build, entity=entity)]
