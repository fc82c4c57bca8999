"""The roles view (with each role's trust policy, description, session duration and boundary) and role tags.

Inline policies and attachments of roles go to the shared views of :mod:`iamledger.projections.views.principals`; which
instance profiles hold a role is recorded from the profile's events
(:mod:`iamledger.projections.views.instance_profiles`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select

from iamledger.domain.arns import iam_arn
from iamledger.domain.names import name_key
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import open_row, replace_row
from iamledger.projections.views.principals import (
    account_of,
    close_principal,
    find_by_name,
    hanging_rows,
    remember_account,
    under_path,
)
from iamledger.projections.views.tables import ROLES, TAGS
from iamledger.projections.views.tags import open_tags, tag_entity, untag_entity

if TYPE_CHECKING:
    from iamledger.domain.roles import Role

KIND = "role"


@prefetches(
    "iamledger.domain.roles:Role.Updated",
    "iamledger.domain.roles:Role.AssumeRolePolicyUpdated",
    "iamledger.domain.roles:Role.PermissionsBoundaryPut",
    "iamledger.domain.roles:Role.PermissionsBoundaryDeleted",
    "iamledger.domain.roles:Role.Tagged",
    "iamledger.domain.roles:Role.Deleted",
)
def _role_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(ROLES, "entity_uuid", str(event.originator_id))]


@prefetches("iamledger.domain.roles:Role.Tagged", "iamledger.domain.roles:Role.Untagged")
def _tags(event: Any) -> list[tuple[Table, str, Any]]:
    return [(TAGS, "resource_uuid", str(event.originator_id))]


prefetches("iamledger.domain.roles:Role.Deleted")(hanging_rows)


@handles("iamledger.domain.roles:Role.Created", batched=True)
def _created(conn: Connection, event: Role.Created, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        ROLES,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        role_id=event.role_id,
        role_name=event.role_name,
        name_key=name_key(event.role_name),
        path=event.path,
        arn=iam_arn(event.account_id, KIND, event.path, event.role_name),
        create_date=event.create_date or event.timestamp,
        trust_policy=event.assume_role_policy_document,
        description=event.description,
        max_session_duration=event.max_session_duration,
        boundary_arn=event.permissions_boundary,
    )
    remember_account(conn, entity, event.account_id)
    open_tags(conn, position, event.account_id, KIND, entity, event.tags)


def _change(conn: Connection, event: Any, position: int, **changes: Any) -> None:
    replace_row(conn, ROLES, position, {"entity_uuid": str(event.originator_id)}, **changes)


@handles("iamledger.domain.roles:Role.Updated", batched=True)
def _updated(conn: Connection, event: Role.Updated, position: int) -> None:
    _change(conn, event, position, description=event.description, max_session_duration=event.max_session_duration)


@handles("iamledger.domain.roles:Role.AssumeRolePolicyUpdated", batched=True)
def _trust_updated(conn: Connection, event: Role.AssumeRolePolicyUpdated, position: int) -> None:
    _change(conn, event, position, trust_policy=event.policy_document)


@handles("iamledger.domain.roles:Role.PermissionsBoundaryPut", batched=True)
def _boundary_put(conn: Connection, event: Role.PermissionsBoundaryPut, position: int) -> None:
    _change(conn, event, position, boundary_arn=event.policy_arn)


@handles("iamledger.domain.roles:Role.PermissionsBoundaryDeleted", batched=True)
def _boundary_deleted(conn: Connection, event: Role.PermissionsBoundaryDeleted, position: int) -> None:
    _change(conn, event, position, boundary_arn=None)


@handles("iamledger.domain.roles:Role.Tagged", batched=True)
def _tagged(conn: Connection, event: Role.Tagged, position: int) -> None:
    tag_entity(conn, event, position, account_of(conn, str(event.originator_id)), KIND)


@handles("iamledger.domain.roles:Role.Untagged", batched=True)
def _untagged(conn: Connection, event: Role.Untagged, position: int) -> None:
    untag_entity(conn, event, position, KIND)


@handles("iamledger.domain.roles:Role.Deleted", batched=True)
def _deleted(conn: Connection, event: Role.Deleted, position: int) -> None:
    close_principal(conn, ROLES, str(event.originator_id), position)


def current_roles(conn: Connection, account_id: str, path_prefix: str = "/") -> list[dict[str, Any]]:
    """The account's roles whose path starts with ``path_prefix``, ordered by name."""
    return under_path(conn, ROLES, "role_name", account_id, path_prefix)


def find_role(conn: Connection, account_id: str, role_name: str) -> dict[str, Any] | None:
    """The current role called ``role_name`` (any case), or ``None``."""
    return find_by_name(conn, ROLES, account_id, role_name)


def find_role_by_arn(conn: Connection, arn: str) -> dict[str, Any] | None:
    """The role called ``arn`` at the bound position, or ``None``."""
    row = conn.execute(select(ROLES).where(ROLES.c.arn == arn, live(ROLES))).mappings().first()
    return dict(row) if row else None


def find_role_by_uuid(conn: Connection, role_uuid: str) -> dict[str, Any] | None:
    """The role with the aggregate id ``role_uuid`` at the bound position, or ``None``."""
    row = conn.execute(select(ROLES).where(ROLES.c.entity_uuid == role_uuid, live(ROLES))).mappings().first()
    return dict(row) if row else None


def find_role_named_exactly(conn: Connection, account_id: str, role_name: str) -> dict[str, Any] | None:
    """The account's role called ``role_name`` at the bound position, the name compared as written (unlike
    :func:`find_role`: a session's ARN names its role as it was written), or ``None``."""
    query = select(ROLES).where(ROLES.c.account_id == account_id, ROLES.c.role_name == role_name, live(ROLES))
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None
