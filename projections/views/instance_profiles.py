"""The instance profiles view, which roles each profile holds, and instance profile tags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, select

from iamledger.domain.arns import iam_arn
from iamledger.domain.names import name_key
from iamledger.projections.engine.registry import handles, prefetches
from iamledger.projections.engine.temporal import live
from iamledger.projections.engine.temporal_rows import close_rows, open_row
from iamledger.projections.views.principals import account_of, close_principal, under_path
from iamledger.projections.views.tables import INSTANCE_PROFILE_ROLES, INSTANCE_PROFILES, ROLES, TAGS
from iamledger.projections.views.tags import open_tags, tag_entity, untag_entity

if TYPE_CHECKING:
    from iamledger.domain.instance_profiles import InstanceProfile

KIND = "instance-profile"


@prefetches(
    "iamledger.domain.instance_profiles:InstanceProfile.RoleAdded",
    "iamledger.domain.instance_profiles:InstanceProfile.Tagged",
    "iamledger.domain.instance_profiles:InstanceProfile.Deleted",
)
def _profile_row(event: Any) -> list[tuple[Table, str, Any]]:
    return [(INSTANCE_PROFILES, "entity_uuid", str(event.originator_id))]


@prefetches(
    "iamledger.domain.instance_profiles:InstanceProfile.RoleRemoved",
    "iamledger.domain.instance_profiles:InstanceProfile.Deleted",
)
def _profile_roles(event: Any) -> list[tuple[Table, str, Any]]:
    return [(INSTANCE_PROFILE_ROLES, "instance_profile_uuid", str(event.originator_id))]


@prefetches(
    "iamledger.domain.instance_profiles:InstanceProfile.Tagged",
    "iamledger.domain.instance_profiles:InstanceProfile.Untagged",
    "iamledger.domain.instance_profiles:InstanceProfile.Deleted",
)
def _tags(event: Any) -> list[tuple[Table, str, Any]]:
    return [(TAGS, "resource_uuid", str(event.originator_id))]


@handles("iamledger.domain.instance_profiles:InstanceProfile.Created", batched=True)
def _created(conn: Connection, event: InstanceProfile.Created, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        INSTANCE_PROFILES,
        position,
        entity_uuid=entity,
        account_id=event.account_id,
        instance_profile_id=event.instance_profile_id,
        instance_profile_name=event.instance_profile_name,
        name_key=name_key(event.instance_profile_name),
        path=event.path,
        arn=iam_arn(event.account_id, KIND, event.path, event.instance_profile_name),
        create_date=event.create_date or event.timestamp,
    )
    open_tags(conn, position, event.account_id, KIND, entity, event.tags)


@handles("iamledger.domain.instance_profiles:InstanceProfile.RoleAdded", batched=True)
def _role_added(conn: Connection, event: InstanceProfile.RoleAdded, position: int) -> None:
    entity = str(event.originator_id)
    open_row(
        conn,
        INSTANCE_PROFILE_ROLES,
        position,
        account_id=account_of(conn, entity),
        instance_profile_uuid=entity,
        role_uuid=str(event.role_uuid),
    )


@handles("iamledger.domain.instance_profiles:InstanceProfile.RoleRemoved", batched=True)
def _role_removed(conn: Connection, event: InstanceProfile.RoleRemoved, position: int) -> None:
    close_rows(
        conn,
        INSTANCE_PROFILE_ROLES,
        position,
        instance_profile_uuid=str(event.originator_id),
        role_uuid=str(event.role_uuid),
    )


@handles("iamledger.domain.instance_profiles:InstanceProfile.Tagged", batched=True)
def _tagged(conn: Connection, event: InstanceProfile.Tagged, position: int) -> None:
    tag_entity(conn, event, position, account_of(conn, str(event.originator_id)), KIND)


@handles("iamledger.domain.instance_profiles:InstanceProfile.Untagged", batched=True)
def _untagged(conn: Connection, event: InstanceProfile.Untagged, position: int) -> None:
    untag_entity(conn, event, position, KIND)


@handles("iamledger.domain.instance_profiles:InstanceProfile.Deleted", batched=True)
def _deleted(conn: Connection, event: InstanceProfile.Deleted, position: int) -> None:
    entity = str(event.originator_id)
    close_principal(conn, INSTANCE_PROFILES, entity, position)
    close_rows(conn, INSTANCE_PROFILE_ROLES, position, instance_profile_uuid=entity)


def current_instance_profiles(conn: Connection, account_id: str, path_prefix: str = "/") -> list[dict[str, Any]]:
    """The account's instance profiles whose path starts with ``path_prefix``, ordered by name."""
    return under_path(conn, INSTANCE_PROFILES, "instance_profile_name", account_id, path_prefix)


def find_instance_profile(conn: Connection, account_id: str, name: str) -> dict[str, Any] | None:
    """The current instance profile called ``name`` (any case), or ``None``."""
    table = INSTANCE_PROFILES
    query = select(table).where(table.c.account_id == account_id, table.c.name_key == name_key(name), live(table))
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def roles_of_instance_profile(conn: Connection, instance_profile_uuid: str) -> list[dict[str, Any]]:
    """The current roles (rows of the roles view) of an instance profile, ordered by name."""
    query = (
        select(ROLES)
        .join(INSTANCE_PROFILE_ROLES, INSTANCE_PROFILE_ROLES.c.role_uuid == ROLES.c.entity_uuid)
        .where(
            INSTANCE_PROFILE_ROLES.c.instance_profile_uuid == instance_profile_uuid,
            live(INSTANCE_PROFILE_ROLES),
            live(ROLES),
        )
        .order_by(ROLES.c.name_key)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def instance_profiles_of_role(conn: Connection, role_uuid: str) -> list[dict[str, Any]]:
    """The current instance profiles that hold a role, ordered by name."""
    query = (
        select(INSTANCE_PROFILES)
        .join(
            INSTANCE_PROFILE_ROLES,
            INSTANCE_PROFILE_ROLES.c.instance_profile_uuid == INSTANCE_PROFILES.c.entity_uuid,
        )
        .where(
            INSTANCE_PROFILE_ROLES.c.role_uuid == role_uuid,
            live(INSTANCE_PROFILE_ROLES),
            live(INSTANCE_PROFILES),
        )
        .order_by(INSTANCE_PROFILES.c.name_key)
    )
    return [dict(r) for r in conn.execute(query).mappings()]
